// Black-box tests of hostile sidecars and audio headers: each pair is rejected with its reason, the field or
// the rate named, exit 4, and the pair kept whole in quarantine (issue 9, items 9, 10, 16, 17, 19).
import CallVaultTesting
import Foundation
import CallVaultStore
import Testing

@Suite struct HostileInputCLITests {
    /// A valid sidecar as JSON text (so keys may repeat), with `insert` before the closing brace.
    static func sidecarText(callID: String, tenant: String = "acme-energy", team: String = "billing-nl",
                            announcement: String = #"{"played": true}"#, insert: String = "") -> String {
        """
        {"schema": "callvault.call/1", "call_id": "\(callID)", "tenant": "\(tenant)",
         "started_at": "2026-11-20T10:00:00+01:00", "direction": "inbound",
         "agent": {"id": "a-1", "team": "\(team)"}, "caller": "+32470123456",
         "announcement": \(announcement), "labels": {"campaign": "winter-2026"}\(insert)}
        """
    }

    /// Drops `NAME.wav` (the fixture's µ-law call unless `audio` is given) and `NAME.json` into `inbox/FOLDER/`.
    static func drop(_ box: Sandbox, folder: String = "acme-energy", name: String, sidecar: String, audio: Data? = nil) throws {
        let dir = box.inbox + "/" + folder
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let bytes = try audio ?? Data(contentsOf: URL(fileURLWithPath: Sandbox.fixtures + "/inbox/acme-energy/call-0001.wav"))
        try bytes.write(to: URL(fileURLWithPath: dir + "/" + name + ".wav"))
        try Data(sidecar.utf8).write(to: URL(fileURLWithPath: dir + "/" + name + ".json"))
    }

    /// Runs `ingest --json inbox` and returns the single rejection, after checking exit 4, nothing stored,
    /// and the pair whole in quarantine with a reason.json that agrees.
    static func ingestRejectingOne(_ box: Sandbox) throws -> (reason: String, detail: String) {
        let r = try box.run(["ingest", "--json", "inbox"])
        #expect(r.status == 4, "some inputs rejected: exit 4 (\(r.stderr))")
        let json = try r.json()
        #expect((json["stored"] as? [Any])?.isEmpty == true, "nothing stored: \(r.stdout)")
        let rejected = json["rejected"] as? [[String: Any]] ?? []
        #expect(rejected.count == 1, "\(r.stdout)")
        guard let item = rejected.first, let reason = item["reason"] as? String, let detail = item["detail"] as? String else {
            return ("none", "")
        }
        #expect(try box.count("SELECT count(*) FROM recordings") == 0)
        #expect(box.files(under: box.inbox).isEmpty, "the pair left the inbox")
        if let q = item["quarantine"] as? String {
            let dir = box.store + "/" + q
            let names = box.files(under: dir)
            #expect(names.count == 3, "audio, sidecar and reason.json: \(names)")
            #expect(names.contains { $0.hasSuffix(".wav") } && names.contains { $0.hasSuffix(".json") && $0 != "reason.json" })
            let text = box.files(under: dir).filter { $0.hasSuffix("reason.json") }.first.map { dir + "/" + $0 } ?? dir + "/reason.json"
            let saved = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: text))) as? [String: Any] ?? [:]
            #expect(saved["reason"] as? String == reason)
        } else {
            Issue.record("no quarantine path in \(item)")
        }
        #expect(!r.stdout.contains("32470123456") && !r.stderr.contains("32470123456"), "no phone number in the output")
        return (reason, detail)
    }

    @Test func duplicateAnnouncementKeysAreInvalid() throws {
        let box = Sandbox()
        try box.initStore()
        // Foundation would read the first (true), jq and Python the last (false).
        try Self.drop(box, name: "dup", sidecar: Self.sidecarText(callID: "dup-1", announcement: #"{"played": true}"#,
                                                                  insert: #", "announcement": {"played": false}"#))
        let r = try Self.ingestRejectingOne(box)
        #expect(r.reason == "sidecar_invalid")
        #expect(r.detail.hasPrefix("announcement:"), "\(r.detail)")
        #expect(r.detail.contains("duplicate"), "\(r.detail)")
    }

    @Test func aNULInATextFieldIsRejectedNotCutOff() throws {
        let box = Sandbox()
        try box.initStore()
        // Stored before as "billing": everything after the NUL was lost on the way into the catalog.
        try Self.drop(box, name: "nul", sidecar: Self.sidecarText(callID: "nul-1", insert: #", "queue": "billing\u0000-evil""#))
        let r = try Self.ingestRejectingOne(box)
        #expect(r.reason == "sidecar_invalid")
        #expect(r.detail.hasPrefix("queue:"), "\(r.detail)")
    }

    @Test func terminalEscapesInLabelsAndExtraFieldsAreRejected() throws {
        let box = Sandbox()
        try box.initStore()
        try Self.drop(box, name: "esc", sidecar: Self.sidecarText(callID: "esc-1").replacingOccurrences(
            of: #""campaign": "winter-2026""#, with: #""campaign": "\u001b]2;owned\u0007winter""#))
        let r = try Self.ingestRejectingOne(box)
        #expect(r.reason == "sidecar_invalid")
        #expect(r.detail.hasPrefix("labels.campaign:"), "\(r.detail)")
        #expect(!r.detail.contains("\u{1b}"))

        let box2 = Sandbox()
        try box2.initStore()
        try Self.drop(box2, name: "bidi", sidecar: Self.sidecarText(callID: "bidi-1", insert: #", "pbx_node": "ast\u202e20""#))
        let r2 = try Self.ingestRejectingOne(box2)
        #expect(r2.reason == "sidecar_invalid")
        #expect(r2.detail.hasPrefix("extra.pbx_node:"), "\(r2.detail)")
    }

    @Test func aSidecarNamingAnotherTenantThanItsFolderIsRejected() throws {
        let box = Sandbox()
        try box.initStore()
        // A recorder that may write into inbox/telco-be/ claims a call of acme-energy.
        try Self.drop(box, folder: "telco-be", name: "cross", sidecar: Self.sidecarText(callID: "cross-1", tenant: "acme-energy"))
        let r = try Self.ingestRejectingOne(box)
        #expect(r.reason == "sidecar_invalid")
        #expect(r.detail.hasPrefix("tenant:"), "\(r.detail)")

        // The same sidecar in its own tenant's folder is stored.
        let ok = Sandbox()
        try ok.initStore()
        try Self.drop(ok, folder: "acme-energy", name: "cross", sidecar: Self.sidecarText(callID: "cross-1", tenant: "acme-energy"))
        let stored = try ok.run(["ingest", "--json", "inbox"])
        #expect(stored.status == 0, "\(stored.stdout) \(stored.stderr)")
    }

    /// The fixture's 16-bit PCM samples as a big-endian AIFF whose COMM chunk claims `frameFactor` times its frames.
    static func aiff(frameFactor: UInt32) throws -> Data {
        let wav = try Data(contentsOf: URL(fileURLWithPath: Sandbox.fixtures + "/inbox/acme-energy/call-0003.wav"))
        var audio = wav.subdata(in: (wav.range(of: Data("data".utf8))!.upperBound + 4)..<wav.count)
        audio.withUnsafeMutableBytes { b in for i in stride(from: 0, to: b.count - 1, by: 2) { b.swapAt(i, i + 1) } }
        func be32(_ v: UInt32) -> Data { withUnsafeBytes(of: v.bigEndian) { Data($0) } }
        let rate8k = Data([0x40, 0x0B, 0xFA, 0, 0, 0, 0, 0, 0, 0])   // 8000 as an 80-bit extended float
        let comm = Data("COMM".utf8) + be32(18) + Data([0, 1]) + be32(UInt32(audio.count / 2) * frameFactor) + Data([0, 16]) + rate8k
        let ssnd = Data("SSND".utf8) + be32(UInt32(audio.count + 8)) + be32(0) + be32(0) + audio
        let body = Data("AIFF".utf8) + comm + ssnd
        return Data("FORM".utf8) + be32(UInt32(body.count)) + body
    }

    @Test func anAIFFClaimingAThousandTimesItsFramesIsTruncated() throws {
        let box = Sandbox()
        try box.initStore()
        try Self.drop(box, name: "aiff", sidecar: Self.sidecarText(callID: "aiff-1"), audio: try Self.aiff(frameFactor: 1000))
        let r = try Self.ingestRejectingOne(box)
        #expect(r.reason == "audio_truncated", "\(r.detail)")

        // The honest AIFF is stored (the check is not a blanket refusal of AIFF).
        let ok = Sandbox()
        try ok.initStore()
        try Self.drop(ok, name: "aiff", sidecar: Self.sidecarText(callID: "aiff-1"), audio: try Self.aiff(frameFactor: 1))
        let stored = try ok.run(["ingest", "--json", "inbox"])
        #expect(stored.status == 0, "\(stored.stdout) \(stored.stderr)")
    }

    @Test(arguments: [UInt32(1), 1_000_000_000])
    func anAbsurdSampleRateIsUnreadable(rate: UInt32) throws {
        let box = Sandbox()
        try box.initStore()
        var wav = try Data(contentsOf: URL(fileURLWithPath: Sandbox.fixtures + "/inbox/acme-energy/call-0003.wav"))
        let f = wav.range(of: Data("fmt ".utf8))!.lowerBound
        wav.replaceSubrange((f + 12)..<(f + 16), with: withUnsafeBytes(of: rate.littleEndian) { Data($0) })
        wav.replaceSubrange((f + 16)..<(f + 20), with: withUnsafeBytes(of: (rate &* 2).littleEndian) { Data($0) })
        // No ended_at: nothing else would catch a duration of 20 hours or 75 microseconds.
        try Self.drop(box, name: "rate", sidecar: Self.sidecarText(callID: "rate-1"), audio: wav)
        let r = try Self.ingestRejectingOne(box)
        #expect(r.reason == "audio_unreadable")
        #expect(r.detail.contains("\(rate) Hz"), "\(r.detail)")
    }
}
