// Callers recorded while on hold (SPEC §17), through ingest: the segments kept and shown, counted in the report,
// and under `redact` silenced on every channel before the recording is stored.
import CallVaultAudio
import CallVaultStore
import CallVaultTesting
import Crypto
import Foundation
import Testing

@Suite struct HoldMusicCLITests {
    static let rate = 8000

    /// A store whose tenant acme-energy registers fixtures/moh/acme-loop.wav under `policy`.
    func store(policy: String) throws -> Sandbox {
        let box = Sandbox()
        try box.initStore()
        try FileManager.default.createDirectory(atPath: box.store + "/moh", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: Sandbox.fixtures + "/moh/acme-loop.wav", toPath: box.store + "/moh/acme-loop.wav")
        var config = try String(contentsOfFile: box.store + "/callvault.toml", encoding: .utf8)
        config = config.replacingOccurrences(of: "[tenants.acme-energy]\n", with: "[tenants.acme-energy]\nhold_music = { tracks = [\"moh/acme-loop.wav\"], policy = \"\(policy)\" }\n")
        config += "\n[users.coach-an]\nrole = \"coach\"\ntenants = [\"acme-energy\"]\n"
        try config.write(toFile: box.store + "/callvault.toml", atomically: true, encoding: .utf8)
        return box
    }

    static func read(_ path: String) throws -> [[Float]] { try PCMReader.read(path: path, maxSeconds: 900, rate: rate).channels }

    /// A WAV, one array per channel (equal lengths): 16-bit PCM, or 32-bit float.
    static func wav(_ channels: [[Float]], to path: String, float: Bool = false) throws {
        var d = Data()
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { d.append(contentsOf: $0) } }
        func u16(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { d.append(contentsOf: $0) } }
        let n = channels[0].count, c = channels.count, width = float ? 4 : 2
        d.append(contentsOf: Array("RIFF".utf8)); u32(UInt32(36 + n * c * width)); d.append(contentsOf: Array("WAVEfmt ".utf8))
        u32(16); u16(float ? 3 : 1); u16(UInt16(c)); u32(UInt32(rate)); u32(UInt32(rate * c * width)); u16(UInt16(c * width)); u16(UInt16(8 * width))
        d.append(contentsOf: Array("data".utf8)); u32(UInt32(n * c * width))
        for i in 0..<n {
            for ch in channels {
                if float { u32(ch[i].bitPattern) } else { u16(UInt16(bitPattern: Int16(max(-1, min(1, ch[i])) * 32767))) }
            }
        }
        try d.write(to: URL(fileURLWithPath: path))
    }

    /// A call in the inbox with audio `channels`; returns the SHA-256 of the audio as delivered.
    @discardableResult
    func drop(_ box: Sandbox, _ callID: String, _ channels: [[Float]], float: Bool = false, as name: String? = nil) throws -> String {
        let dir = box.inbox + "/acme-energy"
        let base = name ?? callID
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try Self.wav(channels, to: dir + "/" + base + ".wav", float: float)
        let sidecar: [String: Any] = ["schema": "callvault.call/1", "call_id": callID, "started_at": shifted("2026-11-20T10:00:00+01:00"),
                                      "direction": "inbound", "agent": ["id": "a-1"], "queue": "billing", "announcement": ["played": true]]
        try JSONSerialization.data(withJSONObject: sidecar, options: [.sortedKeys]).write(to: URL(fileURLWithPath: dir + "/" + base + ".json"))
        let bytes = try Data(contentsOf: URL(fileURLWithPath: dir + "/" + base + ".wav"))
        return SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
    }

    func id(_ box: Sandbox, _ callID: String) throws -> String {
        try #require(try box.catalog().read { try String.fetchOne($0, sql: "SELECT id FROM recordings WHERE call_id = ?", arguments: [callID]) })
    }

    /// The talk of a call (the announced fixture), the agent's talk for a second channel, 30 s of the track
    /// from 11 s into it (it loops at 20 s) and a radio that is not registered.
    struct Material {
        let talk: [Float], agent: [Float], held: [Float], radio: [Float]
        init() throws {
            talk = try HoldMusicCLITests.read(Sandbox.fixtures + "/inbox/acme-energy/call-0001.wav")[0]
            agent = Array(talk.reversed())
            let track = try HoldMusicCLITests.read(Sandbox.fixtures + "/moh/acme-loop.wav")[0]
            held = (0..<(30 * HoldMusicCLITests.rate)).map { track[(88_000 + $0) % track.count] * 0.7 }
            radio = try HoldMusicCLITests.read(Sandbox.fixtures + "/moh/radio.wav")[0]
        }
    }

    @Test func reportKeepsTheBytesAndListsWhereTheCallerWasOnHold() throws {
        let box = try store(policy: "report")
        let m = try Material()
        let sent = try drop(box, "held", [m.talk + m.held + m.talk])
        try drop(box, "radio", [m.talk + m.radio + m.radio + m.talk])
        let r = try box.run(["ingest", "--json", "inbox"])
        #expect(r.status == 0, "\(r.stderr)")

        let held = try box.run(["show", "--json", try id(box, "held")]).json()
        #expect(held["sha256"] as? String == sent, "report stores the bytes as received")
        let music = try #require(held["hold_music"] as? [String: Any])
        #expect(music["policy"] as? String == "report" && music["redacted"] as? Bool == false)
        let segments = music["segments"] as? [[String: Any]] ?? []
        #expect(segments.count == 1, "\(segments)")
        let start = Double(m.talk.count) / Double(Self.rate)
        #expect(segments.first?["track"] as? String == "acme-loop")
        #expect(abs((segments.first?["start_s"] as? Double ?? -9) - start) <= 2)
        #expect(abs((segments.first?["end_s"] as? Double ?? -9) - (start + 30)) <= 2)
        #expect(abs((music["seconds_on_hold"] as? Double ?? 0) - 30) <= 3)
        #expect(music["received_sha256"] == nil)

        // Music that is not registered is not hold music; the call was checked all the same.
        let radio = try box.run(["show", "--json", try id(box, "radio")]).json()
        let none = try #require(radio["hold_music"] as? [String: Any])
        #expect((none["segments"] as? [Any])?.isEmpty == true && none["seconds_on_hold"] as? Double == 0)

        let text = try box.run(["show", try id(box, "held")])
        #expect(text.stdout.contains("on hold") && text.stdout.contains("acme-loop"), "\(text.stdout)")
        // A coach sees the stretches (to skip them), never a digest.
        let coach = try box.run(["--as", "coach-an", "show", "--json", try id(box, "held")]).json()
        #expect(((coach["hold_music"] as? [String: Any])?["segments"] as? [Any])?.count == 1)

        // The report: seconds on hold per tenant and queue, of the calls checked.
        let report = try box.run(["report", "--json", "--from", shifted("2026-11-01"), "--to", shifted("2026-11-30")]).json()
        let tenant = try #require((report["tenants"] as? [[String: Any]])?.first { $0["tenant"] as? String == "acme-energy" })
        let figures = try #require(tenant["hold_music"] as? [String: Any])
        #expect(figures["checked"] as? Int == 2 && figures["calls_on_hold"] as? Int == 1)
        #expect(abs((figures["seconds_on_hold"] as? Double ?? 0) - 30) <= 3)
        let queue = (figures["queues"] as? [[String: Any]])?.first
        #expect(queue?["queue"] as? String == "billing" && queue?["calls_on_hold"] as? Int == 1)
        let other = (report["tenants"] as? [[String: Any]])?.first { $0["tenant"] as? String == "telco-be" }
        #expect(other?["hold_music"] is NSNull, "a tenant that does not look for hold music has no figures")
    }

    /// `redact`: the held stretch is silence on every channel of what is stored, the rest sample for sample what
    /// was received; both digests are kept, the transformation is audited, and the stored bytes are what fixity
    /// and every way out check.
    @Test func redactSilencesTheHeldStretchOnEveryChannel() throws {
        let box = try store(policy: "redact")
        let m = try Material()
        // Stereo: the caller and the music on the right; on the left the agent, and while the caller waits the
        // agent's room (a radio, not registered) — the left channel is silenced too.
        let room = (0..<m.held.count).map { m.radio[$0 % m.radio.count] * 0.3 }
        let sent = try drop(box, "held", [m.agent + room + m.agent, m.talk + m.held + m.talk])
        let inbox = box.inbox + "/acme-energy"
        let kept = try Data(contentsOf: URL(fileURLWithPath: inbox + "/held.wav")), sidecar = try Data(contentsOf: URL(fileURLWithPath: inbox + "/held.json"))
        #expect(try box.run(["ingest", "inbox"]).status == 0)

        let recording = try id(box, "held")
        let o = try box.run(["show", "--json", recording]).json()
        let music = try #require(o["hold_music"] as? [String: Any])
        #expect(music["redacted"] as? Bool == true)
        #expect(music["received_sha256"] as? String == sent)
        let stored = try #require(o["sha256"] as? String)
        #expect(stored != sent)
        #expect(o["format"] as? String == "flac/pcm16")
        let segment = try #require((music["segments"] as? [[String: Any]])?.first)
        let start = segment["start_s"] as! Double, end = segment["end_s"] as! Double
        // The segment is the hold put in: 30 s after the caller's first words.
        let truth = Double(m.talk.count) / Double(Self.rate)
        #expect(abs(start - truth) <= 2 && abs(end - (truth + 30)) <= 2, "\(start)-\(end) for \(truth)-\(truth + 30)")

        // The stored file: silence inside the segment on both channels, the received samples outside it.
        let path = box.store + "/" + (o["audio_path"] as! String)
        let fileBytes = try Data(contentsOf: URL(fileURLWithPath: path))
        #expect(SHA256.hash(data: fileBytes).map { String(format: "%02x", $0) }.joined() == stored)
        let got = try Self.read(path), was = try Self.read(box.dir + "/sent.wav", writing: kept)
        #expect(got.count == 2 && got[0].count == was[0].count)
        // Silence reaches a margin past each end of the segment (HoldRedaction.margin).
        let lo = Int((start - HoldRedaction.margin) * Double(Self.rate)), hi = min(got[0].count, Int((end + HoldRedaction.margin) * Double(Self.rate)))
        for ch in 0..<2 {
            #expect(got[ch][lo..<hi].allSatisfy { $0 == 0 }, "channel \(ch) is silent while on hold")
            #expect(Array(got[ch][..<lo]) == Array(was[ch][..<lo]) && Array(got[ch][hi...]) == Array(was[ch][hi...]),
                    "channel \(ch) is the received audio outside the segment")
        }
        #expect(got[1][hi...].contains { $0 != 0 }, "the talk after the hold is kept")

        // The audit names the segments and both digests; the stored bytes pass fixity.
        let details = try #require(try box.catalog().read {
            try String.fetchOne($0, sql: "SELECT details FROM audit_events WHERE action = 'recording.hold_redacted' AND target = ?", arguments: [recording])
        })
        #expect(details.contains(sent) && details.contains(stored) && details.contains("acme-loop") && details.contains(String(format: "%.1f", start)))
        let fixity = try box.run(["fixity", "--json"])
        #expect(fixity.status == 0, "\(fixity.stdout) \(fixity.stderr)")

        // The recorder delivers the same call again: a duplicate of what was received, not a conflict.
        try kept.write(to: URL(fileURLWithPath: inbox + "/held.wav"))
        try sidecar.write(to: URL(fileURLWithPath: inbox + "/held.json"))
        let again = try box.run(["ingest", "--json", "inbox"])
        #expect(again.status == 0, "\(again.stdout)")
        #expect((try again.json()["duplicates"] as? [Any])?.count == 1, "\(again.stdout)")
    }

    /// A float recording keeps its samples outside the silenced stretch (an integer read of it would have scaled
    /// every sample to -1, 0 or 1), stored as a float WAV; two deliveries of the call in one run are one call and
    /// a duplicate, never a conflict.
    @Test func aFloatRecordingIsRedactedExactlyAndItsSecondDeliveryInTheSameRunIsADuplicate() throws {
        let box = try store(policy: "redact")
        let m = try Material()
        let call = m.talk.map { $0 * 0.9 } + m.held + m.talk
        let sent = try drop(box, "held", [call], float: true)
        #expect(try drop(box, "held", [call], float: true, as: "held-again") == sent)
        let r = try box.run(["ingest", "--json", "inbox"])
        #expect(r.status == 0, "\(r.stdout) \(r.stderr)")
        let o = try r.json()
        #expect((o["stored"] as? [Any])?.count == 1 && (o["duplicates"] as? [Any])?.count == 1, "\(r.stdout)")
        let shown = try box.run(["show", "--json", try id(box, "held")]).json()
        #expect(shown["format"] as? String == "wav/float")
        let stored = try Self.read(box.store + "/" + (shown["audio_path"] as! String))[0]
        let truth = Double(m.talk.count) / Double(Self.rate)
        let before = Int((truth - 3) * Double(Self.rate))
        #expect(stored.count == call.count)
        #expect(Array(stored[..<before]) == Array(call[..<before]), "the call before the hold is the received samples")
        #expect(stored[Int((truth + 5) * Double(Self.rate))..<Int((truth + 25) * Double(Self.rate))].allSatisfy { $0 == 0 })
        #expect(stored.suffix(m.talk.count - 8000) == call.suffix(m.talk.count - 8000), "the talk after the hold is kept")
    }

    /// kill -9 between writing the silenced copy and staging it: nothing stored, nothing left in staging, the
    /// inputs in place; the next run stores the call once, redacted.
    @Test func aCrashWhileRedactingLosesNothingAndLeavesNothing() throws {
        let box = try store(policy: "redact")
        let m = try Material()
        let sent = try drop(box, "held", [m.talk + m.held + m.talk])
        let crashed = try box.run(["ingest", "inbox"], env: ["CALLVAULT_CRASH_AT": "ingest.after-derive"])
        #expect(crashed.killed)
        #expect(FileManager.default.fileExists(atPath: box.inbox + "/acme-energy/held.wav"))
        #expect(try box.run(["ingest", "inbox"]).status == 0)
        #expect((try FileManager.default.contentsOfDirectory(atPath: box.store + "/staging")).isEmpty)
        let rows = try box.catalog().read { try SQLRow.fetchAll($0, sql: "SELECT received_sha256 FROM recordings WHERE call_id = 'held'") }
        #expect(rows.count == 1 && rows.first?["received_sha256"] as String? == sent)
        #expect(!FileManager.default.fileExists(atPath: box.inbox + "/acme-energy/held.wav"))
    }

    static func read(_ path: String, writing data: Data) throws -> [[Float]] {
        try data.write(to: URL(fileURLWithPath: path))
        return try read(path)
    }
}
