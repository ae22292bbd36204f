// Every way out checks its bytes (issue 21 §1): a stored file altered after ingest is refused by playback and
// download (audited), a range is checked by its segments alone, coaches play a rendition without the
// recording's embedded metadata, and a coach's view of a call names neither the evidence file nor its hash.
import CallVault
import CallVaultAudio
import CallVaultCore
import CallVaultStore
import CallVaultTesting
import Foundation
import GRDB
import Testing

@Suite struct EvidenceOutTests {
    /// A 16-bit WAV of `seconds` at 8 kHz with a `LIST/INFO` chunk (ICMT, INAM) and a BWF `bext` chunk between
    /// `fmt ` and `data`, as recorders write them: the caller's number and name in the tags.
    static func taggedWAV(seconds: Int = 1) -> (file: Data, samples: [UInt8]) {
        let b = WAVBuilder.self
        let samples = WAVBuilder.pseudoRandomBytes(seconds * 8000 * 2)
        func chunk(_ id: String, _ body: [UInt8]) -> [UInt8] {
            Array(id.utf8) + b.le32(body.count) + body + (body.count % 2 == 1 ? [0] : [])
        }
        let comment = Array("Caller +32470123456 Jan Peeters".utf8) + [0]
        let info = Array("INFO".utf8) + chunk("ICMT", comment) + chunk("INAM", Array("Jan Peeters".utf8) + [0])
        let bext = Array("Originator: PBX caller +32470123456".utf8) + [UInt8](repeating: 0, count: 602 - 35)
        let fmt = b.le16(1) + b.le16(1) + b.le32(8000) + b.le32(16000) + b.le16(2) + b.le16(16)
        let body = Array("WAVE".utf8) + chunk("fmt ", fmt) + chunk("LIST", info) + chunk("bext", bext) + chunk("data", samples)
        return (Data(Array("RIFF".utf8) + b.le32(body.count) + body), samples)
    }

    /// Flips one byte of the stored file at `offset`: same size, same name, other bytes.
    func alter(_ path: String, at offset: Int64) throws {
        let fd = open(path, O_RDWR)
        #expect(fd >= 0)
        defer { close(fd) }
        var byte: UInt8 = 0
        #expect(pread(fd, &byte, 1, off_t(offset)) == 1)
        byte ^= 0xFF
        #expect(pwrite(fd, &byte, 1, off_t(offset)) == 1)
    }

    @Test func aCoachPlaysTheSamplesNotTheTagsThatNameTheCaller() throws {
        let store = try PlaybackStore()
        let (file, samples) = Self.taggedWAV()
        let id = try store.ingest(audio: file, ext: "wav")
        let played = try readAll(try Playback(vault: store.acting("coach-billing")).open(id: id, purpose: .play, recordEvent: false))
        let text = String(decoding: played, as: UTF8.self)
        #expect(!text.contains("Peeters") && !text.contains("470123456") && !text.contains("ICMT") && !text.contains("bext"))
        #expect(played.count == 44 + samples.count, "a 44-byte header and the samples")
        #expect(Array(played[44...]) == samples, "the samples themselves, unchanged")
        #expect(Array(played) != Array(file), "never the evidence file")
        // The evidence file, with its tags, is what an officer downloads.
        let download = try readAll(try Playback(vault: store.acting("dpo")).open(id: id, purpose: .download, recordEvent: false))
        #expect(download == Array(file))
        // coach_download = false: the coach has no way to the original.
        #expect(errorKind { try Playback(vault: store.acting("coach-billing")).open(id: id, purpose: .download, recordEvent: false) } == .accessDenied)
    }

    @Test func anAlteredFileIsNotDownloadedAndTheRefusalIsAudited() throws {
        let store = try PlaybackStore()
        let id = try store.ingest(audio: Self.taggedWAV().file, ext: "wav")
        try alter(try store.storedPath(id), at: 5000)
        let dpo = Playback(vault: store.acting("dpo"))
        #expect(errorKind { try dpo.open(id: id, purpose: .download, recordEvent: false) } == .vaultFailure)
        #expect(try store.events("export", target: id).isEmpty, "no export is recorded: nothing left")
        let refused = try store.events("recording.export_refused", target: id)
        #expect(refused.count == 1 && refused[0].details.contains("\"action\":\"download\"") && refused[0].details.contains("\"segment\":\"0\""),
                "\(refused.map(\.details))")
        // Nor played: the rendition is made of checked bytes only.
        #expect(errorKind { try dpo.open(id: id, purpose: .play, recordEvent: false) } == .vaultFailure)
        #expect(try store.events("recording.export_refused", target: id).count == 2)
    }

    /// A 3-segment file altered in its last MiB: a range in the first segment is served (checked by its own
    /// digest, not by hashing the file); a range that reaches the altered segment is refused.
    @Test func aRangeIsCheckedByTheSegmentsItCovers() throws {
        let store = try PlaybackStore()
        let (file, _) = Self.taggedWAV(seconds: 160)  // 2.56 MB: three 1 MiB segments
        let id = try store.ingest(audio: file, ext: "wav")
        let row = try #require(try store.admin.catalog.recording(id: id))
        #expect(SegmentDigests(text: try #require(row.segmentSHA256))?.digests.count == 3)
        try alter(try store.storedPath(id), at: Int64(file.count - 10))
        let download = try Playback(vault: store.acting("dpo")).open(id: id, purpose: .play, recordEvent: false)
        #expect(try download.read(offset: 0, count: 4096).count == 4096, "the first segment is intact and served")
        #expect(errorKind { try download.read(offset: 2_500_000, count: 4096) } == .vaultFailure)
        let refused = try store.events("recording.export_refused", target: id)
        #expect(refused.last?.details.contains("\"segment\":\"2\"") == true, "\(refused.map(\.details))")
    }

    /// A row stored before segment digests is checked whole, against its SHA-256, at the first read.
    @Test func aRecordingWithoutSegmentDigestsIsCheckedWhole() throws {
        let store = try PlaybackStore()
        let id = try store.ingest(audio: Self.taggedWAV().file, ext: "wav")
        try store.admin.catalog.db.write { try $0.execute(sql: "UPDATE recordings SET segment_sha256 = NULL WHERE id = ?", arguments: [id]) }
        let intact = try Playback(vault: store.acting("dpo")).open(id: id, purpose: .download, recordEvent: false)
        #expect(try readAll(intact).count == Int(intact.length))
        try alter(try store.storedPath(id), at: 10_000)
        #expect(errorKind { try Playback(vault: store.acting("dpo")).open(id: id, purpose: .download, recordEvent: false) } == .vaultFailure)
        #expect(try store.events("recording.export_refused", target: id).last?.details.contains("whole file") == true)
    }

    /// What a coach's view of a call holds, field by field (the view and `show --json` / `GET /calls/ID` as
    /// JSON); an officer's holds them all.
    @Test(arguments: ["sha256", "audio_path", "caller", "on_hold"])
    func aCoachsViewOfACallLeavesOut(field: String) throws {
        let store = try PlaybackStore()
        let id = try store.ingest(audio: Self.taggedWAV().file, ext: "wav", caller: "+32470123456")
        func value(_ user: String) throws -> Any? {
            let (view, holds) = try Listing(vault: store.acting(user)).show(id: id)
            let json = showJSON(view, holds: holds)
            switch field {
            case "caller": return view.parties?.caller
            case "on_hold": return view.onHold
            default:
                let fromView: Any? = field == "sha256" ? view.sha256 : view.audioPath
                #expect((json[field] == nil) == (fromView == nil), "the JSON says what the view says")
                return fromView
            }
        }
        #expect(try value("coach-billing") == nil, "a coach is not shown \(field)")
        #expect(try value("dpo") != nil, "an officer is shown \(field)")
    }
}
