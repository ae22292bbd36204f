// Listening to a recording (issue 10, `GET /calls/{id}/audio`): who may play or download it, the audit of each,
// the bytes a browser plays, and the call's waveform — with the scope rules of `Listing.show`.
import CallVaultAudio
import CallVaultCore
import CallVaultStore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Playing in the page and downloading the file are separate rights (issue 10).
public enum PlaybackPurpose: Sendable {
    /// Bytes a browser plays: a rendition (16-bit PCM WAV of the samples alone, decoded on the fly), never the
    /// evidence file — its metadata chunks may carry a caller's name and number.
    case play
    /// The stored file byte for byte (the evidence, as `export` copies it).
    case download
}

/// The bytes of one opened recording, readable at any offset. It holds the stored file open until the last copy
/// of it is released. Thread safety: `read` may be called from any thread and concurrently; reads of a
/// transcoding share one decoder and are serialised. Open one source per HTTP response (the web layer does):
/// separate sources never share a decoder or a file position.
public struct PlaybackSource: Sendable {
    /// `audio/wav`, `audio/flac`, `audio/ogg`, `audio/mpeg`; a download of another stored container may be
    /// `audio/aiff`, `audio/basic` or `application/octet-stream`.
    public let contentType: String
    /// The exact number of bytes served.
    public let length: Int64
    /// `RECORDING-ID.ext`, for Content-Disposition on a download.
    public let fileName: String
    /// True when the bytes are the stored file's own; false for a WAV decoded on the fly.
    public let isOriginal: Bool
    /// The SHA-256 of the stored file (recorded at ingest): an ETag for the original's bytes.
    public let sha256: String

    let audio: BrowserAudio
    /// Audits and words a failed check of the stored bytes.
    let refuse: @Sendable (AudioAltered) -> VaultError

    /// At most this many bytes per `read`.
    public static var maxReadCount: Int { BrowserAudio.maxReadCount }

    /// `count` bytes from `offset`, short only at the end (`offset == length` gives none). Throws `.usage` for a
    /// negative offset, one past `length`, or a count over `maxReadCount`; `.vaultFailure` when the file fails,
    /// or when the bytes are not those checked at ingest (audited as `recording.export_refused`).
    public func read(offset: Int64, count: Int) throws -> [UInt8] {
        do {
            return try audio.read(offset: offset, count: count)
        } catch let altered as AudioAltered {
            throw refuse(altered)
        }
    }
}

/// The playback use case: `open` for the audio, `waveform` for the picture.
public struct Playback: Sendable {
    public let vault: Vault

    public init(vault: Vault) { self.vault = vault }

    /// Opens a recording's audio for the acting user. Role and scope exactly as `Listing.show` (coach scope,
    /// held and restricted rules; refusals audited). Audio deleted → `.gone`; no such recording → `.notFound`.
    /// `.download` is allowed to compliance and admin, and to coaches only with `[web] coach_download = true`
    /// (else `.accessDenied`, audited); it is audited as `export` with the file's SHA-256. `.play` with
    /// `recordEvent` appends one `recording.played` event (the web layer passes false for the range requests
    /// that follow). A stored file whose size is not the catalog's `audio_bytes` is refused (`.vaultFailure`):
    /// altered evidence is not served. Fixity (the hash) is checked by `fixity`, not here.
    /// `sending: false` (an HTTP HEAD) checks the rights and opens the audio for its length, but sends nothing:
    /// no `export` event and no whole-file check, since no byte leaves.
    public func open(id: String, purpose: PlaybackPurpose, recordEvent: Bool, sending: Bool = true) throws -> PlaybackSource {
        let action = purpose == .play ? "play" : "download"
        let row = try Listing(vault: vault).visibleRecording(id: id, action: action).0
        if purpose == .download, vault.principal.user?.role == .coach, !vault.configuration.web.coachDownload {
            try vault.catalog.appendAudit([vault.event(.accessDenied, target: id, details: ["action": action, "why": "coach_download is off"])])
            throw VaultError(.accessDenied, "download \(id): not allowed for \(vault.actor): coaches may play calls, not download them ([web] coach_download is off)")
        }
        let stored = try openVerifiedAudio(row, action: action)
        let refuse = refusal(id: id, action: action)
        let audio: BrowserAudio
        do {
            switch purpose {
            case .play: audio = try BrowserAudio.rendition(stored, frames: row.frames)
            case .download:
                // The whole file is checked before the audit says it left: the trail never records as sent what
                // was not the evidence. Each piece is checked again as it is sent.
                if sending { try stored.verifyAll() }
                audio = BrowserAudio.original(stored, container: URL(fileURLWithPath: row.audioPath).pathExtension)
            }
        } catch let altered as AudioAltered {
            throw refuse(altered)
        }
        switch purpose {
        case .play where recordEvent:
            try vault.catalog.appendAudit([vault.event(.recordingPlayed, target: id)])
        case .play:
            break
        case .download where sending:
            try vault.catalog.appendAudit([vault.event(.export, target: id, details: ["sha256": row.sha256, "via": "web"])])
        case .download:
            break
        }
        return PlaybackSource(contentType: audio.contentType, length: audio.length, fileName: id + "." + audio.fileExtension,
                              isOriginal: audio.form == .original, sha256: row.sha256, audio: audio, refuse: refuse)
    }

    /// The refusal of bytes that failed their check: audited (the action, and which segment), then an error
    /// that says what to run.
    func refusal(id: String, action: String) -> @Sendable (AudioAltered) -> VaultError {
        let vault = self.vault
        return { altered in
            var details = ["mismatch": "sha256", "action": action, "via": "web"]
            details["segment"] = altered.segment.map(String.init) ?? "whole file"
            try? vault.catalog.appendAudit([vault.event(.recordingExportRefused, target: id, details: details)])
            return VaultError.failure("\(action) \(id): the stored audio is not what was checked at ingest (it was altered); it is not served. Run `callvault fixity`")
        }
    }

    /// The stored audio, opened and size-checked, read only through its ingest digests.
    func openVerifiedAudio(_ row: RecordingRow, action: String) throws -> VerifiedAudio {
        let (fd, size) = try openStoredAudio(row, action: action)
        return VerifiedAudio(fd: fd, size: size, sha256: row.sha256, segments: row.segmentSHA256.flatMap(SegmentDigests.init(text:)))
    }

    /// The call's waveform: kept since ingest, or computed from the audio on first use and kept. The same role
    /// and scope check as `open` (refusals audited; a view is not: the page that shows it is audited as `show`).
    /// Audio deleted → `.gone` (the waveform went with it).
    public func waveform(id: String) throws -> WaveformPeaks {
        let row = try Listing(vault: vault).visibleRecording(id: id, action: "waveform").0
        guard row.audioDeletedAt == nil else { throw VaultError(.gone, "waveform \(id): its audio was deleted at \(row.audioDeletedAt!)") }
        if let kept = try vault.catalog.waveform(recordingID: id), let peaks = WaveformPeaks(row: kept) { return peaks }
        let (fd, _) = try openStoredAudio(row, action: "waveform")
        defer { close(fd) }
        let peaks = try WaveformPeaks.compute(fd: fd)
        try vault.catalog.saveWaveform(WaveformRow(recordingID: id, peaks: peaks))
        return peaks
    }

    /// The stored file of a recording whose audio the catalog says is present, opened without following a
    /// symlink, checked to be a regular file of the size recorded at ingest. The caller owns the descriptor.
    func openStoredAudio(_ row: RecordingRow, action: String) throws -> (fd: Int32, size: Int64) {
        if let deleted = row.audioDeletedAt { throw VaultError(.gone, "\(action) \(row.id): its audio was deleted at \(deleted)") }
        // O_NONBLOCK: a FIFO put in the file's place cannot hang the request (no effect on a regular file).
        let fd = Glibc.open(vault.files.absolute(row.audioPath), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)
        guard fd >= 0 else {
            let e = errno
            let what = e == ENOENT ? "is missing from the store" : "cannot be opened (\(StoreFiles.errnoText(e)))"
            throw VaultError.failure("\(action) \(row.id): the stored audio \(what); run `callvault fixity`")
        }
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            throw VaultError.failure("\(action) \(row.id): the stored audio is not a regular file; run `callvault fixity`")
        }
        guard Int64(st.st_size) == row.audioBytes else {
            close(fd)
            throw VaultError.failure("\(action) \(row.id): the stored audio is \(st.st_size) bytes but was \(row.audioBytes) at ingest: it was altered and is not served; run `callvault fixity`")
        }
        return (fd, Int64(st.st_size))
    }
}

extension WaveformRow {
    /// The catalog form of peaks.
    init(recordingID: String, peaks: WaveformPeaks) {
        self.init(recordingID: recordingID, channels: peaks.channels, buckets: peaks.buckets,
                  peaks: Data(peaks.peaks.map { UInt8(bitPattern: $0) }))
    }
}

extension WaveformPeaks {
    /// Peaks from the catalog; nil when the blob does not fit its sizes.
    init?(row: WaveformRow) {
        self.init(channels: row.channels, buckets: row.buckets, peaks: row.peaks.map { Int8(bitPattern: $0) })
    }
}
