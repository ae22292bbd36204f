// A stored recording as bytes a browser can play, read at any offset: the original file when Chromium and
// Firefox both play it, else a 16-bit PCM WAV decoded on the fly with libsndfile (its exact length is known from
// the frame count, so every HTTP Range maps to a header slice plus the frames it covers).
import CSndFile
import CallVaultCore
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Random-access bytes of one opened stored audio file. It owns the descriptor it was given (closed when the
/// value is released). Thread safety: `read` may be called from any thread; reads of the original are
/// independent `pread`s, reads of a transcoding are serialised on its one libsndfile decoder (a decoder is
/// never shared between two `BrowserAudio` values: open one per reader).
public final class BrowserAudio: Sendable {
    /// Whether the bytes are the stored file's own or a decoding of it.
    public enum Form: Sendable, Equatable { case original, transcoded }

    public let form: Form
    /// `audio/wav`, `audio/flac`, `audio/ogg`, `audio/mpeg`… (`application/octet-stream` for an original no
    /// browser plays, served only as a download).
    public let contentType: String
    /// The file name extension that fits the bytes (`wav` for a transcoding).
    public let fileExtension: String
    /// The exact number of bytes `read` serves.
    public let length: Int64
    /// The most bytes one `read` returns: callers stream in chunks, so memory stays flat for any length.
    public static let maxReadCount = 8 << 20

    private let backing: Backing

    private enum Backing: Sendable {
        case original(VerifiedAudio)
        case transcoded(TranscodedWAV)
    }

    private init(form: Form, contentType: String, fileExtension: String, length: Int64, backing: Backing) {
        self.form = form
        self.contentType = contentType
        self.fileExtension = fileExtension
        self.length = length
        self.backing = backing
    }

    /// What a browser plays: the original when both Chromium and Firefox play its format, else a 16-bit WAV.
    /// `frames` is the frame count counted at ingest: a transcoding is exactly that long (silence pads a file
    /// that decodes shorter). Every byte read, by the caller or by the decoder, is verified (`VerifiedAudio`).
    public static func playable(_ audio: VerifiedAudio, frames: Int64) throws -> BrowserAudio {
        try open(audio, frames: frames, rendition: false)
    }

    /// A rendition: 16-bit PCM WAV of the samples alone — a `fmt ` and a `data` chunk, none of the original's
    /// metadata (RIFF INFO, BWF bext, ID3, Vorbis comments can carry a caller's name and number). What anyone
    /// without the right to the evidence file plays.
    public static func rendition(_ audio: VerifiedAudio, frames: Int64) throws -> BrowserAudio {
        try open(audio, frames: frames, rendition: true)
    }

    static func open(_ audio: VerifiedAudio, frames: Int64, rendition: Bool) throws -> BrowserAudio {
        let stream = VerifiedStream(audio)
        var info = SF_INFO()
        guard let sf = stream.open(&info) else {
            if let failure = stream.failure { throw failure }
            throw VaultError.failure("cannot decode the stored audio: libsndfile refused it")
        }
        let major = Int(info.format) & Int(SF_FORMAT_TYPEMASK)
        let minor = Int(info.format) & Int(SF_FORMAT_SUBMASK)
        if !rendition, let type = browserType(major: major, minor: minor) {
            sf_close(sf)
            return BrowserAudio(form: .original, contentType: type.contentType, fileExtension: type.fileExtension,
                                length: audio.size, backing: .original(audio))
        }
        do {
            let wav = try TranscodedWAV(stream: stream, sf: sf, info: info, frames: frames)
            return BrowserAudio(form: .transcoded, contentType: "audio/wav", fileExtension: "wav", length: wav.length,
                                backing: .transcoded(wav))
        } catch {
            sf_close(sf)
            throw error
        }
    }

    /// The stored bytes as they are (a download: the evidence, byte for byte, each segment verified).
    public static func original(_ audio: VerifiedAudio, container: String) -> BrowserAudio {
        let type = originalType(container: container)
        return BrowserAudio(form: .original, contentType: type.contentType, fileExtension: type.fileExtension,
                            length: audio.size, backing: .original(audio))
    }

    /// `count` bytes from `offset` (fewer only at the end; none at `length`). A negative offset, one past
    /// `length`, a negative count or one over `maxReadCount` is a usage error.
    public func read(offset: Int64, count: Int) throws -> [UInt8] {
        guard offset >= 0, offset <= length, count >= 0 else {
            throw VaultError(.usage, "read of \(count) bytes at \(offset) is outside the \(length) bytes of the audio")
        }
        guard count <= Self.maxReadCount else {
            throw VaultError(.usage, "read of \(count) bytes: at most \(Self.maxReadCount) bytes per read")
        }
        let n = Int(Swift.min(Int64(count), length - offset))
        if n == 0 { return [] }
        switch backing {
        case .original(let file): return try file.read(offset: offset, count: n)
        case .transcoded(let wav): return try wav.read(offset: offset, count: n)
        }
    }

    /// The content type of an original both Chromium and Firefox play, nil when it must be transcoded. Plain WAV
    /// with 16/24/32-bit integer or 32-bit float PCM; WAVE_FORMAT_EXTENSIBLE only with integer PCM (Firefox reads
    /// its samples as integers whatever the sub-format says); FLAC; Ogg Vorbis and Opus; MPEG layer III.
    /// µ-law, A-law, GSM, ADPCM, 8-bit and 64-bit float WAV, AIFF, AU, W64, RF64, CAF, VOC… are transcoded.
    static func browserType(major: Int, minor: Int) -> (contentType: String, fileExtension: String)? {
        let integerPCM = [SF_FORMAT_PCM_16, SF_FORMAT_PCM_24, SF_FORMAT_PCM_32].map { Int($0) }
        switch major {
        case Int(SF_FORMAT_WAV) where integerPCM.contains(minor) || minor == Int(SF_FORMAT_FLOAT):
            return ("audio/wav", "wav")
        case Int(SF_FORMAT_WAVEX) where integerPCM.contains(minor):
            return ("audio/wav", "wav")
        case Int(SF_FORMAT_FLAC):
            return ("audio/flac", "flac")
        case Int(SF_FORMAT_OGG) where minor == Int(SF_FORMAT_VORBIS) || minor == Int(SF_FORMAT_OPUS):
            return ("audio/ogg", "ogg")
        case Int(SF_FORMAT_MPEG) where minor == Int(SF_FORMAT_MPEG_LAYER_III):
            return ("audio/mpeg", "mp3")
        default:
            return nil
        }
    }

    /// Content type of a stored original by its container name (the stored file's extension).
    static func originalType(container: String) -> (contentType: String, fileExtension: String) {
        let ext = container.isEmpty || !container.utf8.allSatisfy({ (97...122).contains($0) || (48...57).contains($0) })
            ? "bin" : container
        switch ext {
        case "wav", "rf64": return ("audio/wav", ext)
        case "flac": return ("audio/flac", ext)
        case "ogg", "opus": return ("audio/ogg", ext)
        case "mp3": return ("audio/mpeg", ext)
        case "aiff": return ("audio/aiff", ext)
        case "au": return ("audio/basic", ext)
        default: return ("application/octet-stream", ext)
        }
    }
}

/// A 16-bit little-endian PCM WAV made from any file libsndfile decodes: a 44-byte header, then the frames.
/// Its one decoder sits behind a mutex with its position, so sequential reads continue where the last ended;
/// another position seeks (exact for PCM-like and ADPCM formats) or, for a decoder that cannot seek (GSM 6.10),
/// decodes forward from the start — memory stays one fixed buffer either way.
final class TranscodedWAV: Sendable {
    static let headerBytes: Int64 = 44

    let stream: VerifiedStream
    let channels: Int
    let frames: Int64
    let blockAlign: Int
    let length: Int64
    let header: [UInt8]
    private let decoder: Mutex<Decoder>

    /// Sendable by construction: non-copyable (one owner, which closes it) and only reached through the mutex.
    struct Decoder: ~Copyable, @unchecked Sendable {
        var sf: OpaquePointer
        /// The frame the decoder delivers next.
        var position: Int64 = 0
        let seekable: Bool
        let stream: VerifiedStream

        deinit { sf_close(sf) }
    }

    /// Takes over `sf` (already open on `stream`).
    init(stream: VerifiedStream, sf: OpaquePointer, info: SF_INFO, frames: Int64) throws {
        self.stream = stream
        channels = Int(info.channels)
        // The bounds ingest holds a file to; a file that escaped them gets no header built from its lies.
        guard channels > 0, channels <= 1024, AudioProbe.sampleRates.contains(Int(info.samplerate)), frames >= 0 else {
            throw VaultError.failure("cannot decode the stored audio: no channels or an impossible sample rate")
        }
        self.frames = frames
        blockAlign = channels * 2
        let (dataBytes, overflow) = frames.multipliedReportingOverflow(by: Int64(blockAlign))
        // A RIFF size is 32 bits: a decoding over 4 GiB has no WAV form a browser reads.
        guard !overflow, dataBytes <= Int64(UInt32.max) - 36 else {
            throw VaultError.failure("the recording is too long to play in a browser as 16-bit WAV (\(dataBytes) bytes of samples)")
        }
        length = Self.headerBytes + dataBytes
        header = Self.header(channels: channels, sampleRate: Int(info.samplerate), dataBytes: UInt32(dataBytes))
        let major = Int(info.format) & Int(SF_FORMAT_TYPEMASK)
        // libsndfile seeks compressed streams (MPEG, Ogg) to a page or frame, not to the sample: decode forward there.
        let exactSeek = info.seekable != 0 && major != Int(SF_FORMAT_MPEG) && major != Int(SF_FORMAT_OGG)
        // Float sources clip at full scale instead of wrapping around.
        _ = sf_command(sf, Int32(SFC_SET_CLIPPING), nil, Int32(SF_TRUE))
        decoder = Mutex(Decoder(sf: sf, seekable: exactSeek, stream: stream))
    }

    static func header(channels: Int, sampleRate: Int, dataBytes: UInt32) -> [UInt8] {
        var h: [UInt8] = []
        h.reserveCapacity(44)
        func le32(_ v: UInt32) { h += [UInt8(v & 0xff), UInt8(v >> 8 & 0xff), UInt8(v >> 16 & 0xff), UInt8(v >> 24)] }
        func le16(_ v: UInt16) { h += [UInt8(v & 0xff), UInt8(v >> 8)] }
        h += Array("RIFF".utf8); le32(36 + dataBytes); h += Array("WAVE".utf8)
        h += Array("fmt ".utf8); le32(16); le16(1); le16(UInt16(channels)); le32(UInt32(sampleRate))
        le32(UInt32(sampleRate) * UInt32(channels) * 2); le16(UInt16(channels * 2)); le16(16)
        h += Array("data".utf8); le32(dataBytes)
        return h
    }

    /// `count` bytes from `offset` (the caller keeps both inside `length`).
    func read(offset: Int64, count: Int) throws -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(count)
        let end = offset + Int64(count)
        if offset < Self.headerBytes {
            out += header[Int(offset)..<Int(Swift.min(end, Self.headerBytes))]
        }
        guard end > Self.headerBytes else { return out }
        let dataStart = Swift.max(offset, Self.headerBytes) - Self.headerBytes
        let dataEnd = end - Self.headerBytes
        let block = Int64(blockAlign)
        let firstFrame = dataStart / block
        let lastFrame = (dataEnd - 1) / block
        try decoder.withLock { d in
            try Self.decode(&d, from: firstFrame, through: lastFrame, channels: channels) { frame, bytes in
                // The bytes of frames [frame, frame + n): keep what falls inside [dataStart, dataEnd).
                let first = frame * block
                let lo = Int(Swift.max(dataStart - first, 0))
                let hi = Int(Swift.min(dataEnd - first, Int64(bytes.count)))
                if lo < hi { out += bytes[lo..<hi] }
            }
        }
        return out
    }

    /// Decodes frames `from...through` as little-endian 16-bit bytes, handing them over chunk by chunk with the
    /// index of each chunk's first frame. Frames the decoder cannot deliver are silence.
    static func decode(_ d: inout Decoder, from: Int64, through: Int64, channels: Int,
                       _ sink: (Int64, ArraySlice<UInt8>) -> Void) throws {
        let chunk = Swift.max(1, 16_384 / channels)
        var samples = [Int16](repeating: 0, count: chunk * channels)
        var bytes = [UInt8](repeating: 0, count: chunk * channels * 2)
        let reached = try moveTo(&d, frame: from, scratch: &samples, chunk: chunk)
        var frame = from
        while frame <= through {
            let want = Int(Swift.min(Int64(chunk), through - frame + 1))
            var got = 0
            if reached {
                got = Int(samples.withUnsafeMutableBufferPointer { sf_readf_short(d.sf, $0.baseAddress, sf_count_t(want)) })
                // A short read because a segment failed its check is not the end of the audio: nothing is served.
                if let failure = d.stream.failure { throw failure }
                got = Swift.max(got, 0)
                d.position += Int64(got)
            }
            bytes.withUnsafeMutableBufferPointer { out in
                samples.withUnsafeBufferPointer { s in
                    for k in 0..<(got * channels) {
                        let v = UInt16(bitPattern: s[k])
                        out[2 * k] = UInt8(v & 0xff)
                        out[2 * k + 1] = UInt8(v >> 8)
                    }
                    for k in (got * channels * 2)..<(want * channels * 2) { out[k] = 0 }
                }
            }
            sink(frame, bytes[0..<(want * channels * 2)])
            frame += Int64(want)
        }
    }

    /// Puts the decoder at `frame`: stays when it is there (sequential reads), seeks when that is exact, else
    /// reopens (going back) and decodes forward. False when the file decodes to fewer frames than that.
    static func moveTo(_ d: inout Decoder, frame: Int64, scratch: inout [Int16], chunk: Int) throws -> Bool {
        if d.position == frame { return true }
        if d.seekable {
            if sf_seek(d.sf, sf_count_t(frame), SEEK_SET) == sf_count_t(frame) {
                d.position = frame
                return true
            }
            // Past the decodable end: what follows is silence.
            return false
        }
        if frame < d.position {
            var info = SF_INFO()
            guard let sf = d.stream.open(&info) else {
                if let failure = d.stream.failure { throw failure }
                throw VaultError.failure("cannot decode the stored audio: libsndfile refused it on reopening")
            }
            _ = sf_command(sf, Int32(SFC_SET_CLIPPING), nil, Int32(SF_TRUE))
            sf_close(d.sf)
            d.sf = sf
            d.position = 0
        }
        while d.position < frame {
            let want = Int(Swift.min(Int64(chunk), frame - d.position))
            let got = scratch.withUnsafeMutableBufferPointer { sf_readf_short(d.sf, $0.baseAddress, sf_count_t(want)) }
            if let failure = d.stream.failure { throw failure }
            if got <= 0 { return false }
            d.position += Int64(got)
        }
        return true
    }
}

/// libsndfile's view of a stored file (`sf_open_virtual`): every byte the decoder reads comes through
/// `VerifiedAudio`, so a rendition is made of checked bytes only. A failed check is kept in `failure` (the
/// callback can only report a short read) and thrown by the decoder's caller. Used only under the decoder's lock
/// (or before the decoder exists): unchecked Sendable.
final class VerifiedStream: @unchecked Sendable {
    let audio: VerifiedAudio
    var position: Int64 = 0
    var failure: (any Error)?

    init(_ audio: VerifiedAudio) { self.audio = audio }

    /// A new libsndfile handle reading from the start (libsndfile copies the callbacks).
    func open(_ info: inout SF_INFO) -> OpaquePointer? {
        position = 0
        failure = nil
        var io = SF_VIRTUAL_IO(
            get_filelen: { user in Unmanaged<VerifiedStream>.fromOpaque(user!).takeUnretainedValue().audio.size },
            seek: { offset, whence, user in
                let s = Unmanaged<VerifiedStream>.fromOpaque(user!).takeUnretainedValue()
                let target: Int64
                switch whence {
                case SEEK_SET: target = offset
                case SEEK_CUR: target = s.position + offset
                case SEEK_END: target = s.audio.size + offset
                default: return -1
                }
                guard target >= 0 else { return -1 }
                s.position = target
                return target
            },
            read: { pointer, count, user in
                let s = Unmanaged<VerifiedStream>.fromOpaque(user!).takeUnretainedValue()
                let n = Swift.min(count, Swift.max(0, s.audio.size - s.position))
                guard n > 0, let pointer else { return 0 }
                do {
                    let bytes = try s.audio.read(offset: s.position, count: Int(n))
                    bytes.withUnsafeBytes { pointer.copyMemory(from: $0.baseAddress!, byteCount: bytes.count) }
                    s.position += n
                    return n
                } catch {
                    s.failure = error
                    return 0
                }
            },
            write: { _, _, _ in 0 },
            tell: { user in Unmanaged<VerifiedStream>.fromOpaque(user!).takeUnretainedValue().position })
        return sf_open_virtual(&io, Int32(SFM_READ), &info, Unmanaged.passUnretained(self).toOpaque())
    }
}
