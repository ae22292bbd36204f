// Playing recordings in a browser (issue 10): the bytes served (original or a WAV decoded on the fly, any
// range), who may play or download, the audit of each, and the waveform kept with the audio.
import CallVault
import CallVaultAudio
import CallVaultCore
import CallVaultStore
import CallVaultTesting
import Foundation
import GRDB
import Testing
#if canImport(FoundationXML)
import FoundationXML
#endif

struct FixedClock: CallVaultCore.Clock {
    let date: Date
    func now() -> Date { date }
}

/// A store with two tenants' users, filled through the library's own ingest.
final class PlaybackStore {
    let dir: String
    let root: String
    let inbox: String
    let clock = FixedClock(date: Timestamp.parse("2026-11-21T12:00:00Z")!)
    private(set) var admin: Vault

    static let users = """

        [users.coach-billing]
        role = "coach"
        teams = ["billing-nl"]

        [users.coach-support]
        role = "coach"
        teams = ["support-fr"]

        [users.dpo]
        role = "compliance"

        """

    init(coachDownload: Bool = false) throws {
        dir = NSTemporaryDirectory() + "cv-playback-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        root = dir + "/store"
        inbox = dir + "/inbox"
        _ = try Vault.create(at: root, tenants: ["acme-energy"], simulation: true, actor: "root", clock: clock)
        admin = try Self.reopen(root: root, clock: clock, coachDownload: coachDownload)
    }

    deinit { try? FileManager.default.removeItem(atPath: dir) }

    static func reopen(root: String, clock: FixedClock, coachDownload: Bool) throws -> Vault {
        let path = root + "/" + Configuration.fileName
        var text = try String(contentsOfFile: path, encoding: .utf8)
        if let r = text.range(of: "\n[users.coach-billing]") { text = String(text[..<r.lowerBound]) }
        text += users + (coachDownload ? "\n[web]\ncoach_download = true\n" : "")
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return try Vault.open(at: root, actor: "root", clock: clock)
    }

    func setCoachDownload(_ on: Bool) throws { admin = try Self.reopen(root: root, clock: clock, coachDownload: on) }

    func acting(_ user: String) -> Vault {
        admin.acting(as: Principal(name: user, user: admin.configuration.users[user], onBehalfOf: nil))
    }

    /// Ingests one audio file as a call of `team`; returns its recording id.
    func ingest(audio: Data, ext: String, team: String = "billing-nl", caller: String? = nil) throws -> String {
        let folder = inbox + "/acme-energy"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let base = "call-" + UUID().uuidString.prefix(8)
        try audio.write(to: URL(fileURLWithPath: folder + "/" + base + "." + ext))
        let sidecar = """
            {"schema": "callvault.call/1", "call_id": "\(base)", "tenant": "acme-energy",
             "started_at": "2026-11-20T10:14:03+01:00", "direction": "inbound",
             "agent": {"id": "a-1042", "team": "\(team)"},\(caller.map { " \"caller\": \"\($0)\"," } ?? "")
             "announcement": {"played": true, "prompt": "rec-notice-nl-v3", "at_ms": 0}}
            """
        try Data(sidecar.utf8).write(to: URL(fileURLWithPath: folder + "/" + base + ".json"))
        let report = try Ingestor(vault: admin).ingest(paths: [inbox])
        guard let id = report.stored.first?.recordingID, report.stored.count == 1 else {
            throw VaultError.failure("not stored: \(report.rejected.map { $0.reason.rawValue + " " + $0.detail })")
        }
        return id
    }

    func events(_ action: String, target: String? = nil) throws -> [AuditRow] {
        try admin.catalog.auditEvents(since: nil, actor: nil, action: action, target: target, limit: 1000)
    }

    func storedPath(_ id: String) throws -> String {
        admin.files.absolute(try #require(try admin.catalog.recording(id: id)).audioPath)
    }
}

let formatsFolder: String = fixtureInbox + "/../formats"

func formatFixture(_ name: String) -> Data { FileManager.default.contents(atPath: formatsFolder + "/" + name)! }

/// Little WAV files built in code: 16-bit and 8-bit PCM, µ-law (format 7) and A-law (format 6).
enum WAVBuilder {
    static func le16(_ v: Int) -> [UInt8] { [UInt8(v & 0xff), UInt8(v >> 8 & 0xff)] }
    static func le32(_ v: Int) -> [UInt8] { [UInt8(v & 0xff), UInt8(v >> 8 & 0xff), UInt8(v >> 16 & 0xff), UInt8(v >> 24 & 0xff)] }

    static func header(tag: Int, channels: Int, rate: Int, bits: Int, dataBytes: Int) -> [UInt8] {
        let block = channels * bits / 8
        return Array("RIFF".utf8) + le32(36 + dataBytes) + Array("WAVE".utf8) + Array("fmt ".utf8) + le32(16)
            + le16(tag) + le16(channels) + le32(rate) + le32(rate * block) + le16(block) + le16(bits)
            + Array("data".utf8) + le32(dataBytes)
    }

    static func pcm16(_ samples: [Int16], channels: Int = 1, rate: Int = 8000) -> Data {
        var d = header(tag: 1, channels: channels, rate: rate, bits: 16, dataBytes: samples.count * 2)
        for s in samples { d += le16(Int(UInt16(bitPattern: s))) }
        return Data(d)
    }

    static func bytes8(tag: Int, _ bytes: [UInt8], channels: Int = 1, rate: Int = 8000) -> Data {
        Data(header(tag: tag, channels: channels, rate: rate, bits: 8, dataBytes: bytes.count) + bytes)
    }

    static func pseudoRandomBytes(_ n: Int) -> [UInt8] {
        var x: UInt32 = 0x1234_5678
        return (0..<n).map { _ in x = x &* 1_664_525 &+ 1_013_904_223; return UInt8(x >> 24) }
    }
}

/// The kind of VaultError `body` throws, nil when it throws nothing (or something else).
func errorKind(_ body: () throws -> Any) -> VaultError.Kind? {
    do { _ = try body(); return nil } catch let e as VaultError { return e.kind } catch { return nil }
}

/// Reads a whole source in `chunk`-byte reads.
func readAll(_ s: PlaybackSource, chunk: Int = 65536) throws -> [UInt8] {
    var out: [UInt8] = []
    var at: Int64 = 0
    while at < s.length {
        let part = try s.read(offset: at, count: chunk)
        #expect(!part.isEmpty)
        out += part
        at += Int64(part.count)
    }
    return out
}

func decodeFloats(_ data: Data) throws -> PCM {
    let path = NSTemporaryDirectory() + "cv-decode-" + UUID().uuidString
    try data.write(to: URL(fileURLWithPath: path))
    defer { unlink(path) }
    return try PCMReader.read(path: path, maxSeconds: 100_000, rate: 8000)
}

// Serialized: the 2-hour test measures this process's resident memory, which the suite's other tests would move.
@Suite(.serialized) struct PlaybackTests {
    // MARK: the bytes

    @Test(arguments: [("acme-energy/call-0001.wav", "µ-law"), ("acme-energy/call-0002.wav", "A-law")])
    func aFormatBrowsersDoNotAllPlayIsServedAsA16BitWAVWithTheSameSamples(name: String, _: String) throws {
        let store = try PlaybackStore()
        let original = fixture(name)
        let id = try store.ingest(audio: original, ext: "wav")
        let source = try Playback(vault: store.admin).open(id: id, purpose: .play, recordEvent: true)
        #expect(!source.isOriginal)
        #expect(source.contentType == "audio/wav")
        #expect(source.fileName == id + ".wav")
        let row = try #require(try store.admin.catalog.recording(id: id))
        #expect(source.length == 44 + row.frames * 2)
        let bytes = try readAll(source)
        #expect(Int64(bytes.count) == source.length)
        let served = try decodeFloats(Data(bytes)), stored = try decodeFloats(original)
        #expect(served.channels.count == 1)
        #expect(served.channels[0].count == stored.channels[0].count)
        #expect(served.channels[0] == stored.channels[0])
    }

    @Test func everyRangeOfATranscodingIsTheSameSliceOfTheWhole() throws {
        let store = try PlaybackStore()
        // Stereo µ-law built here: 3 s, so ranges cross the decoder's chunks.
        let data = WAVBuilder.bytes8(tag: 7, WAVBuilder.pseudoRandomBytes(2 * 24_000), channels: 2)
        let id = try store.ingest(audio: data, ext: "wav")
        let playback = Playback(vault: store.admin)
        let whole = try readAll(playback.open(id: id, purpose: .play, recordEvent: false), chunk: 4096)
        #expect(whole.count == 44 + 24_000 * 4)
        let source = try playback.open(id: id, purpose: .play, recordEvent: false)
        let n = Int(source.length)
        let ranges: [(Int, Int)] = [
            (0, 1), (0, 44), (0, 45), (43, 2), (40, 10), (44, 1), (45, 1), (46, 3), (47, 1), (n - 1, 1), (n - 3, 3),
            (n / 2, 1), (n / 2 + 1, 7), (1001, 100_000), (n - 50_001, 50_001), (13, n - 13), (0, n),
            (70_000, 5), (100, 5), (90_000, 40_000),  // backwards and forwards on one source
        ]
        for (offset, count) in ranges {
            let got = try source.read(offset: Int64(offset), count: count)
            #expect(got == Array(whole[offset..<min(n, offset + count)]), "range \(offset)+\(count)")
        }
        #expect(try source.read(offset: Int64(n), count: 10).isEmpty)
        #expect(try source.read(offset: Int64(n - 2), count: 10).count == 2)
        #expect(throws: VaultError.self) { try source.read(offset: Int64(n + 1), count: 1) }
        #expect(throws: VaultError.self) { try source.read(offset: -1, count: 1) }
        #expect(throws: VaultError.self) { try source.read(offset: 0, count: PlaybackSource.maxReadCount + 1) }
    }

    @Test func aGSMFileThatCannotSeekServesEveryRangeByDecodingForward() throws {
        let store = try PlaybackStore()
        let original = formatFixture("call-gsm.wav")
        let id = try store.ingest(audio: original, ext: "wav")
        let playback = Playback(vault: store.admin)
        let source = try playback.open(id: id, purpose: .play, recordEvent: false)
        #expect(!source.isOriginal)
        let whole = try readAll(source, chunk: 10_000)
        #expect(try decodeFloats(Data(whole)).channels[0] == decodeFloats(original).channels[0])
        let n = whole.count
        for (offset, count) in [(n - 1, 1), (5, 3), (n / 2, 999), (44, 2), (n / 3, 1)] {
            // The same source (going back reopens the decoder) and a fresh one (decodes from the start).
            #expect(try source.read(offset: Int64(offset), count: count) == Array(whole[offset..<min(n, offset + count)]))
            let fresh = try playback.open(id: id, purpose: .play, recordEvent: false)
            #expect(try fresh.read(offset: Int64(offset), count: count) == Array(whole[offset..<min(n, offset + count)]))
        }
    }

    /// Playback is a rendition whatever the format — even one every browser plays — and the download is the
    /// original byte for byte.
    @Test(arguments: [
        ("pcm16", "wav", "audio/wav"), ("flac", "flac", "audio/flac"), ("call.ogg", "ogg", "audio/ogg"),
        ("call.opus", "opus", "audio/ogg"), ("call.mp3", "mp3", "audio/mpeg"),
    ])
    func playbackIsARenditionAndTheDownloadTheOriginal(name: String, ext: String, type: String) throws {
        let store = try PlaybackStore()
        let original: Data = switch name {
        case "pcm16": fixture("acme-energy/call-0003.wav")
        case "flac": fixture("telco-be/call-1002.flac")
        default: formatFixture(name)
        }
        let id = try store.ingest(audio: original, ext: ext)
        let row = try #require(try store.admin.catalog.recording(id: id))
        let source = try Playback(vault: store.admin).open(id: id, purpose: .play, recordEvent: false)
        #expect(!source.isOriginal)
        #expect(source.contentType == "audio/wav")
        #expect(source.length == 44 + row.frames * Int64(row.channels) * 2)
        let played = try readAll(source, chunk: 7777)
        #expect(Array(played[36..<40]) == Array("data".utf8), "a fmt chunk and the samples: nothing else")
        let download = try Playback(vault: store.admin).open(id: id, purpose: .download, recordEvent: false)
        #expect(download.isOriginal && download.contentType == type)
        #expect(try readAll(download, chunk: 7777) == Array(original))
        #expect(try download.read(offset: 10, count: 20) == Array(original[10..<30]))
    }

    @Test func eightBitPCMIsTranscodedAndADownloadIsAlwaysTheOriginal() throws {
        let store = try PlaybackStore()
        let original = WAVBuilder.bytes8(tag: 1, WAVBuilder.pseudoRandomBytes(16_000))
        let id = try store.ingest(audio: original, ext: "wav")
        let playback = Playback(vault: store.admin)
        let play = try playback.open(id: id, purpose: .play, recordEvent: false)
        #expect(!play.isOriginal)
        #expect(play.length == 44 + 16_000 * 2)
        let download = try playback.open(id: id, purpose: .download, recordEvent: false)
        #expect(download.isOriginal)
        #expect(download.fileName == id + ".wav")
        #expect(try readAll(download) == Array(original))
    }

    @Test func separateSourcesReadConcurrentlyGiveTheSameBytes() async throws {
        let store = try PlaybackStore()
        let id = try store.ingest(audio: fixture("acme-energy/call-0001.wav"), ext: "wav")
        let playback = Playback(vault: store.admin)
        let expected = try readAll(playback.open(id: id, purpose: .play, recordEvent: false))
        let results = try await withThrowingTaskGroup(of: [UInt8].self) { group in
            for k in 0..<6 {
                group.addTask {
                    let s = try playback.open(id: id, purpose: .play, recordEvent: false)
                    return try readAll(s, chunk: 3000 + 1000 * k)
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        for r in results { #expect(r == expected) }
        // One source shared by several readers stays right too (its decoder is behind a lock).
        let shared = try playback.open(id: id, purpose: .play, recordEvent: false)
        let n = Int(shared.length)
        let slices = try await withThrowingTaskGroup(of: (Int, [UInt8]).self) { group in
            for k in 0..<8 {
                group.addTask { let off = (k * 7919) % n; return (off, try shared.read(offset: Int64(off), count: 5000)) }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        for (off, bytes) in slices { #expect(bytes == Array(expected[off..<min(n, off + 5000)])) }
    }

    @Test func aTwoHourRecordingIsReadWithFlatMemory() throws {
        // A sparse 2-hour 8 kHz µ-law WAV (57.6 MB on disk, nothing written): transcoded it is 115 MB.
        let frames = 2 * 3600 * 8000
        let path = NSTemporaryDirectory() + "cv-2h-" + UUID().uuidString + ".wav"
        let header = WAVBuilder.header(tag: 7, channels: 1, rate: 8000, bits: 8, dataBytes: frames)
        #expect(FileManager.default.createFile(atPath: path, contents: Data(header)))
        defer { unlink(path) }
        #expect(truncate(path, off_t(header.count + frames)) == 0)
        let audio = try BrowserAudio.playable(try verifiedAudio(path), frames: Int64(frames))
        #expect(audio.form == .transcoded)
        #expect(audio.length == 44 + Int64(frames) * 2)
        _ = try audio.read(offset: 0, count: 65536)  // the decoder's own buffers, before measuring
        let before = residentBytes()
        var peak = before
        var at: Int64 = 0
        var reads = 0
        while at < audio.length {
            let part = try audio.read(offset: at, count: 65536)
            at += Int64(part.count)
            reads += 1
            if reads % 64 == 0 { peak = max(peak, residentBytes()) }
        }
        #expect(at == audio.length)
        // The whole decoding would be 115 MB; reading it in 64 KiB ranges must not hold more than a few MB.
        #expect(peak - before < 8 << 20, "resident memory grew by \(peak - before) bytes")
    }

    @Test func aFileOrFrameCountThatCannotBeServedIsRefusedNotTrapped() throws {
        func source(_ data: Data, frames: Int64) throws -> BrowserAudio {
            let path = NSTemporaryDirectory() + "cv-hostile-" + UUID().uuidString
            #expect(FileManager.default.createFile(atPath: path, contents: data))
            defer { unlink(path) }
            return try BrowserAudio.playable(try verifiedAudio(path), frames: frames)
        }
        let mulaw = WAVBuilder.bytes8(tag: 7, WAVBuilder.pseudoRandomBytes(800))
        #expect(errorKind { try source(Data("not audio at all".utf8), frames: 10) } == .vaultFailure)
        #expect(errorKind { try source(mulaw, frames: Int64.max / 2) } == .vaultFailure)   // would overflow
        #expect(errorKind { try source(mulaw, frames: 1 << 31) } == .vaultFailure)         // over a RIFF's 4 GiB
        // A catalog count beyond what the file decodes: the promised length holds, padded with silence.
        let padded = try source(mulaw, frames: 1000)
        #expect(padded.length == 44 + 2000)
        #expect(try padded.read(offset: 44 + 1600, count: 400) == [UInt8](repeating: 0, count: 400))
    }

    func residentBytes() -> Int {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
              let kb = Int(line.split(separator: " ").dropFirst().first ?? "") else { return 0 }
        return kb * 1024
    }

    // MARK: who may, and the audit

    @Test func aCoachOutsideTheirScopeIsRefusedAndTheRefusalAudited() throws {
        let store = try PlaybackStore()
        let id = try store.ingest(audio: fixture("acme-energy/call-0001.wav"), ext: "wav", team: "billing-nl")
        let outsider = Playback(vault: store.acting("coach-support"))
        #expect(errorKind { try outsider.open(id: id, purpose: .play, recordEvent: true) } == .accessDenied)
        #expect(errorKind { try outsider.waveform(id: id) } == .accessDenied)
        let denied = try store.events("access.denied", target: id)
        #expect(denied.count == 2)
        #expect(denied.allSatisfy { $0.actor == "coach-support" })
        #expect(denied.contains { $0.details.contains("\"play\"") })
        #expect(try store.events("recording.played").isEmpty)
        // The coach of the team plays it.
        let coach = Playback(vault: store.acting("coach-billing"))
        #expect(try coach.open(id: id, purpose: .play, recordEvent: true).length > 44)
        #expect(try store.events("recording.played", target: id).map(\.actor) == ["coach-billing"])
        // An unknown id and a malformed one.
        #expect(errorKind { try coach.open(id: RecordingID.make(at: store.clock.now()), purpose: .play, recordEvent: true) } == .notFound)
        #expect(errorKind { try coach.open(id: "../../etc/passwd", purpose: .play, recordEvent: true) } == .usage)
    }

    @Test func onePlayedEventPerOpenThatAsksForIt() throws {
        let store = try PlaybackStore()
        let id = try store.ingest(audio: fixture("acme-energy/call-0003.wav"), ext: "wav")
        let playback = Playback(vault: store.acting("dpo"))
        let first = try playback.open(id: id, purpose: .play, recordEvent: true)
        _ = try first.read(offset: 0, count: 100)
        for _ in 0..<3 { _ = try playback.open(id: id, purpose: .play, recordEvent: false).read(offset: 500, count: 10) }
        let played = try store.events("recording.played", target: id)
        #expect(played.count == 1)
        #expect(played.first?.actor == "dpo")
        _ = try playback.open(id: id, purpose: .play, recordEvent: true)
        #expect(try store.events("recording.played", target: id).count == 2)
        #expect(try store.events("export", target: id).isEmpty)
    }

    @Test func aDownloadIsForOfficersAndForCoachesOnlyWhenAllowed() throws {
        let store = try PlaybackStore()
        let original = fixture("acme-energy/call-0001.wav")
        let id = try store.ingest(audio: original, ext: "wav")
        let sha = try #require(try store.admin.catalog.recording(id: id)).sha256
        #expect(errorKind { try Playback(vault: store.acting("coach-billing")).open(id: id, purpose: .download, recordEvent: false) } == .accessDenied)
        let denied = try store.events("access.denied", target: id)
        #expect(denied.count == 1 && denied[0].details.contains("download"))
        #expect(try store.events("export", target: id).isEmpty)

        let dpo = try Playback(vault: store.acting("dpo")).open(id: id, purpose: .download, recordEvent: false)
        #expect(try readAll(dpo) == Array(original))
        #expect(dpo.fileName == id + ".wav")
        try store.setCoachDownload(true)
        let coach = try Playback(vault: store.acting("coach-billing")).open(id: id, purpose: .download, recordEvent: false)
        #expect(coach.isOriginal && coach.length == Int64(original.count))
        let exports = try store.events("export", target: id)
        #expect(exports.map(\.actor) == ["dpo", "coach-billing"])
        #expect(exports.allSatisfy { $0.details.contains(sha) })
        #expect(try store.events("recording.played").isEmpty)
    }

    @Test func deletedAudioIsGoneWithItsWaveform() throws {
        let store = try PlaybackStore()
        let id = try store.ingest(audio: fixture("acme-energy/call-0001.wav"), ext: "wav")
        #expect(try store.admin.catalog.waveform(recordingID: id) != nil)
        // After the audio's month, before the metadata's six: the sweep deletes the audio only.
        let report = try Sweeper(vault: store.admin).sweep(now: Timestamp.parse("2027-01-15T00:00:00Z")!, dryRun: false, simulated: true)
        #expect(report.audioDeleted == 1 && report.metadataDeleted == 0)
        #expect(try store.admin.catalog.waveform(recordingID: id) == nil)
        let dpo = Playback(vault: store.acting("dpo"))
        #expect(errorKind { try dpo.open(id: id, purpose: .play, recordEvent: true) } == .gone)
        #expect(errorKind { try dpo.open(id: id, purpose: .download, recordEvent: false) } == .gone)
        #expect(errorKind { try dpo.waveform(id: id) } == .gone)
        #expect(try store.admin.catalog.waveform(recordingID: id) == nil)
        #expect(try store.events("recording.played").isEmpty)
        // A waveform cannot be kept for audio that is gone (a viewer racing the sweep).
        #expect(try store.admin.catalog.saveWaveform(WaveformRow(recordingID: id, channels: 1, buckets: 1, peaks: Data([0, 0]))) == false)
    }

    @Test func aMetadataSweepTakesTheWaveformWithTheRow() throws {
        let store = try PlaybackStore()
        let id = try store.ingest(audio: fixture("acme-energy/call-0001.wav"), ext: "wav")
        _ = try Sweeper(vault: store.admin).sweep(now: Timestamp.parse("2027-12-01T00:00:00Z")!, dryRun: false, simulated: true)
        #expect(try store.admin.catalog.recording(id: id) == nil)
        let left = try store.admin.catalog.db.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM waveforms") }
        #expect(left == 0)  // gone by the foreign key's cascade
    }

    @Test func aStoredFileOfAnotherSizeIsNotServed() throws {
        let store = try PlaybackStore()
        let id = try store.ingest(audio: fixture("acme-energy/call-0003.wav"), ext: "wav")
        let path = try store.storedPath(id)
        let handle = try #require(FileHandle(forWritingAtPath: path))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data([0]))
        try handle.close()
        let dpo = Playback(vault: store.acting("dpo"))
        #expect(errorKind { try dpo.open(id: id, purpose: .play, recordEvent: true) } == .vaultFailure)
        #expect(errorKind { try dpo.open(id: id, purpose: .download, recordEvent: false) } == .vaultFailure)
        #expect(try store.events("recording.played").isEmpty)
        #expect(try store.events("export").isEmpty)
        // A symlink in the file's place is not followed.
        unlink(path)
        symlink(fixtureInbox + "/acme-energy/call-0003.wav", path)
        #expect(errorKind { try dpo.open(id: id, purpose: .play, recordEvent: true) } == .vaultFailure)
    }

    // MARK: the waveform

    @Test func peaksAreKeptAtIngestAndMatchTheAudio() throws {
        let store = try PlaybackStore()
        // Two channels: the left silent for the first half then loud, the right loud throughout.
        let frames = 16_000
        var samples: [Int16] = []
        for i in 0..<frames {
            samples.append(i < frames / 2 ? 0 : (i % 2 == 0 ? 20_000 : -20_000))
            samples.append(i % 2 == 0 ? 12_000 : -12_000)
        }
        let id = try store.ingest(audio: WAVBuilder.pcm16(samples, channels: 2), ext: "wav")
        let kept = try #require(try store.admin.catalog.waveform(recordingID: id))
        #expect(kept.channels == 2 && kept.buckets == WaveformPeaks.defaultBuckets)
        let peaks = try Playback(vault: store.acting("coach-billing")).waveform(id: id)
        #expect(peaks.channels == 2)
        let b = peaks.buckets
        #expect(peaks.max(channel: 0, bucket: 10) == 0 && peaks.min(channel: 0, bucket: 10) == 0)
        #expect(peaks.max(channel: 0, bucket: b - 10) == Int8(20_000 >> 8))
        #expect(peaks.min(channel: 0, bucket: b - 10) == Int8(-20_000 >> 8))
        #expect(peaks.max(channel: 1, bucket: 10) == Int8(12_000 >> 8))
        // The switch from silence to sound lies in the middle bucket, give or take one.
        let firstLoud = (0..<b).first { peaks.max(channel: 0, bucket: $0) > 0 }
        #expect(firstLoud.map { abs($0 - b / 2) <= 1 } == true)
        // Kept, and the same as decoding the stored file again.
        let fd = open(try store.storedPath(id), O_RDONLY)
        defer { close(fd) }
        #expect(try WaveformPeaks.compute(fd: fd) == peaks)
    }

    @Test func aRecordingStoredWithoutPeaksGetsThemOnFirstViewAndKeepsThem() throws {
        let store = try PlaybackStore()
        let id = try store.ingest(audio: formatFixture("call.opus"), ext: "opus")
        let fromIngest = try #require(try store.admin.catalog.waveform(recordingID: id))
        try store.admin.catalog.db.write { try $0.execute(sql: "DELETE FROM waveforms") }
        let viewed = try Playback(vault: store.acting("dpo")).waveform(id: id)
        let kept = try #require(try store.admin.catalog.waveform(recordingID: id))
        #expect(kept == fromIngest)
        #expect(viewed.peaks.map { UInt8(bitPattern: $0) } == Array(kept.peaks))
        #expect(try store.events("show").isEmpty)  // the page view is the web route's to audit
    }

    @Test func theAccumulatorFindsASpikeWhereverTheChunksFall() {
        let frames = 1_234_567
        let spike = 777_777
        var acc = WaveformAccumulator(channels: 1, buckets: 1000)
        var at = 0
        var size = 1
        while at < frames {
            let n = min(size, frames - at)
            let chunk = (at..<(at + n)).map { $0 == spike ? Int16.max : ($0 == spike + 5 ? Int16.min : Int16(($0 % 7) - 3)) }
            chunk.withUnsafeBufferPointer { acc.add($0, frames: n) }
            at += n
            size = size * 3 % 10_007 + 1
        }
        let p = acc.peaks()
        let expected = spike * 1000 / frames
        let high = (0..<1000).filter { p.max(channel: 0, bucket: $0) == 127 }
        let low = (0..<1000).filter { p.min(channel: 0, bucket: $0) == -128 }
        #expect(high.count == 1 && abs(high[0] - expected) <= 1)
        #expect(low.count == 1 && abs(low[0] - expected) <= 1)
        #expect((0..<1000).allSatisfy { p.max(channel: 0, bucket: $0) >= 0 && p.min(channel: 0, bucket: $0) <= 0 })
        // Nothing added: a flat line, not a crash.
        #expect(WaveformAccumulator(channels: 2).peaks().peaks.allSatisfy { $0 == 0 })
    }

    /// Peaks by their definition: bins of the smallest power-of-two frame count that needs at most 16 bins per
    /// bucket, each bucket the bins of its share, the high byte of the min and max (at most 16 channels drawn).
    func referencePeaks(_ samples: [Int16], channels: Int, buckets: Int) -> WaveformPeaks {
        let frames = samples.count / channels, kept = min(channels, WaveformPeaks.maxChannels)
        var perBin = 1
        while (frames + perBin - 1) / perBin > 16 * buckets { perBin *= 2 }
        let bins = (frames + perBin - 1) / perBin
        var out = [Int8](repeating: 0, count: kept * buckets * 2)
        for c in 0..<kept {
            for b in 0..<buckets {
                let first = b * bins / buckets, end = max(first + 1, (b + 1) * bins / buckets)
                let range = (first * perBin)..<min(end * perBin, frames)
                let values = range.map { samples[$0 * channels + c] }
                out[2 * (c * buckets + b)] = Int8(truncatingIfNeeded: Int(values.min()!) >> 8)
                out[2 * (c * buckets + b) + 1] = Int8(truncatingIfNeeded: Int(values.max()!) >> 8)
            }
        }
        return WaveformPeaks(channels: kept, buckets: buckets, peaks: out)!
    }

    /// The fast paths (mono and stereo loops, bins sized from the header's frame count, right or wrong) give the
    /// peaks of the definition, for any channel count.
    @Test(arguments: [1, 2, 3, 4, 16, 17])
    func theFastPathGivesTheSamePeaksAsThePlainOne(channels: Int) {
        let frames = 100_003
        // Noise under an envelope that changes from bin to bin, each channel at its own level, so a sample
        // counted in the wrong bin or channel shows in the peaks.
        var x: UInt32 = 0x9E37_79B9
        let samples = (0..<(frames * channels)).map { k -> Int16 in
            x = x &* 1_664_525 &+ 1_013_904_223
            let (frame, channel) = (k / channels, k % channels)
            let envelope = Int32(frame / 97 % 64 + 1)
            return Int16(Int32(Int16(truncatingIfNeeded: x >> 16)) * envelope / 64 / Int32(channel + 1))
        }
        let plain = referencePeaks(samples, channels: channels, buckets: 500)
        for expected: Int64? in [Int64(frames), 1000, nil] {
            var fast = WaveformAccumulator(channels: channels, buckets: 500, expectedFrames: expected)
            var at = 0
            samples.withUnsafeBufferPointer { all in
                while at < frames {
                    let n = min(8192, frames - at)
                    fast.add(UnsafeBufferPointer(rebasing: all[(at * channels)...]), frames: n)
                    at += n
                }
            }
            let same = fast.peaks() == plain
            #expect(same, "expected frames \(expected.map(String.init) ?? "none")")
        }
    }

    @Test func theSVGIsAStandaloneDocumentWithOneLanePerChannel() throws {
        let store = try PlaybackStore()
        let id = try store.ingest(audio: fixture("telco-be/call-1001.wav"), ext: "wav")
        let peaks = try Playback(vault: store.admin).waveform(id: id)
        let svg = peaks.svg(width: 800, height: 120)
        let parser = XMLParser(data: Data(svg.utf8))
        let counter = ElementCounter()
        parser.delegate = counter
        #expect(parser.parse(), "\(parser.parserError.map { "\($0)" } ?? "")")
        #expect(counter.root == "svg")
        #expect(counter.counts["path"] == 2)
        #expect(counter.counts["g"] == 2)
        for forbidden in ["<script", "href", "style", "url("] { #expect(!svg.contains(forbidden)) }
        #expect(counter.attributes.allSatisfy { !$0.hasPrefix("on") })
        // Hostile sizes are bounded, and a one-bucket waveform still draws.
        let tiny = try #require(WaveformPeaks(channels: 1, buckets: 1, peaks: [-3, 5]))
        #expect(XMLParser(data: Data(tiny.svg(width: -5, height: 1_000_000).utf8)).parse())
        #expect(WaveformPeaks(channels: 1, buckets: 2, peaks: [0, 0]) == nil)
        #expect(WaveformPeaks(channels: 0, buckets: 1, peaks: []) == nil)
    }
}

final class ElementCounter: NSObject, XMLParserDelegate {
    var root: String?
    var counts: [String: Int] = [:]
    var attributes: [String] = []

    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                attributes: [String: String] = [:]) {
        if root == nil { root = name }
        counts[name, default: 0] += 1
        self.attributes += attributes.keys
    }
}

/// A file opened the way the vault opens stored audio: read only through the digests of its bytes now.
func verifiedAudio(_ path: String) throws -> VerifiedAudio {
    let data = try Data(contentsOf: URL(fileURLWithPath: path))
    var segments = SegmentDigests.Accumulator()
    data.withUnsafeBytes { segments.update($0) }
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    #expect(fd >= 0)
    return VerifiedAudio(fd: fd, size: Int64(data.count), sha256: try FileDigest.sha256(fd: fd).hex, segments: segments.finish())
}
