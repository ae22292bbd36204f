// Probes and fully decodes one audio file with libsndfile, finding what its header does not admit.
import CSndFile
import CallVaultCore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// What ingest records about a readable recording.
public struct AudioFacts: Sendable, Equatable {
    /// Short container name, also the stored file's extension (`wav`, `flac`, `ogg`, `mp3`, …).
    public var container: String
    /// Container and encoding, e.g. `wav/ulaw`.
    public var format: String
    public var sampleRate: Int
    public var channels: Int
    /// Frames actually decoded (not the header's claim).
    public var frames: Int64
    /// The waveform, gathered during the same full decode (kept with the recording: no second pass later).
    public var waveform: WaveformPeaks
    public var durationSeconds: Double { sampleRate > 0 ? Double(frames) / Double(sampleRate) : 0 }
}

public enum AudioProbe {
    /// Sample rates telephony and audio use, from 4 kHz narrow-band to 384 kHz studio. A header outside
    /// them is hostile or corrupt, and would make every duration (and the retention built on it) absurd.
    public static let sampleRates = 4000...384_000

    /// Opens the file on an already open descriptor (so the checked file is the decoded file), decodes every
    /// frame and classifies what is wrong as `audio_unreadable`, `audio_empty` or `audio_truncated`.
    /// Memory is constant: frames are decoded through one fixed buffer.
    public static func probe(fd: Int32, fileSize: Int64) -> Result<AudioFacts, Rejection> {
        guard lseek(fd, 0, SEEK_SET) == 0 else { return .failure(Rejection(.audioUnreadable, "cannot read from the start of the file")) }
        var info = SF_INFO()
        guard let sf = sf_open_fd(fd, Int32(SFM_READ), &info, 0) else {
            let message = String(cString: sf_strerror(nil))
            return .failure(Rejection(.audioUnreadable, "libsndfile: \(message)"))
        }
        defer { sf_close(sf) }

        var logBuffer = [CChar](repeating: 0, count: 4096)
        _ = sf_command(sf, Int32(SFC_GET_LOG_INFO), &logBuffer, Int32(logBuffer.count))
        let log = String(decoding: logBuffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)

        let major = Int(info.format) & Int(SF_FORMAT_TYPEMASK)
        let minor = Int(info.format) & Int(SF_FORMAT_SUBMASK)
        let container = containerName(major)
        let format = "\(container)/\(encodingName(minor))"
        guard info.channels > 0, info.samplerate > 0 else {
            return .failure(Rejection(.audioUnreadable, "libsndfile: no channels or sample rate"))
        }
        guard sampleRates.contains(Int(info.samplerate)) else {
            return .failure(Rejection(.audioUnreadable, "sample rate \(info.samplerate) Hz is outside \(sampleRates.lowerBound)-\(sampleRates.upperBound) Hz"))
        }

        // Decode everything: this is what finds truncated FLAC/Opus/MP3 whose header claims the full length.
        // The waveform's peaks are taken from the same buffers (a min and a max per sample).
        let chunkFrames = 8192
        var buffer = [Int16](repeating: 0, count: chunkFrames * Int(info.channels))
        var decoded: Int64 = 0
        var peaks = WaveformAccumulator(channels: Int(info.channels), expectedFrames: info.frames)
        // Float sources clip at full scale instead of wrapping around (only the samples' values change).
        _ = sf_command(sf, Int32(SFC_SET_CLIPPING), nil, Int32(SF_TRUE))
        while true {
            let n = buffer.withUnsafeMutableBufferPointer { sf_readf_short(sf, $0.baseAddress, sf_count_t(chunkFrames)) }
            if n <= 0 { break }
            decoded += Int64(n)
            buffer.withUnsafeBufferPointer { peaks.add($0, frames: Int(n)) }
        }
        let decodeError = sf_error(sf)

        let facts = AudioFacts(container: container, format: format, sampleRate: Int(info.samplerate),
                               channels: Int(info.channels), frames: decoded, waveform: peaks.peaks())

        if decoded == 0 {
            // A recorder that died before finishing the header leaves data size 0 with the audio after it.
            if log.contains("Unknown chunk marker") && fileSize > 4096 {
                return .failure(Rejection(.audioTruncated, "header claims no audio but \(fileSize) bytes follow (unfinished header)"))
            }
            return .failure(Rejection(.audioEmpty, "the file decodes to zero frames"))
        }
        if log.range(of: #"\(should be \d+\)"#, options: .regularExpression) != nil {
            return .failure(Rejection(.audioTruncated, "the header promises more data than the file holds"))
        }
        if decodeError != 0 {
            return .failure(Rejection(.audioTruncated, "decoding stopped early: \(String(cString: sf_error_number(decodeError)))"))
        }
        // A length libsndfile caps to the file without a word (Wave64's data chunk, a VOC block): compared here.
        if let cut = ContainerHeader.cutShort(fd: fd, fileSize: fileSize, major: major) {
            return .failure(Rejection(.audioTruncated, cut))
        }
        // A frame count libsndfile reads but does not hold the file to (AIFF's COMM, WAV's fact): compared here.
        if let claim = ContainerHeader.claimedFrames(fd: fd, fileSize: fileSize, major: major, minor: minor), claim.frames > decoded {
            return .failure(Rejection(.audioTruncated, "the \(claim.chunk) chunk promises \(claim.frames) frames but the file holds \(decoded)"))
        }
        // How many frames the header promises: exact for PCM-like containers and FLAC; for Ogg taken from the
        // last page, which a cut stream lacks (libsndfile then reports an unknown length); for MP3 an estimate
        // (exact with a Xing header), so a small shortfall there is encoder padding, not truncation.
        let promised = Int64(info.frames)
        let unknown = promised <= 0 || promised == Int64.max
        switch major {
        case Int(SF_FORMAT_OGG):
            if unknown { return .failure(Rejection(.audioTruncated, "the Ogg stream ends without its last page (length unknown)")) }
            if decoded + 960 < promised {
                return .failure(Rejection(.audioTruncated, "decoding stopped after \(decoded) of \(promised) frames"))
            }
        case Int(SF_FORMAT_MPEG):
            if !unknown, decoded + max(2304, promised / 50) < promised {
                return .failure(Rejection(.audioTruncated, "decoding stopped after \(decoded) of about \(promised) frames"))
            }
        default:
            if decoded < promised {
                return .failure(Rejection(.audioTruncated, "decoding stopped after \(decoded) of \(promised) frames"))
            }
        }
        return .success(facts)
    }

    static func containerName(_ major: Int) -> String {
        switch major {
        case Int(SF_FORMAT_WAV): return "wav"
        case Int(SF_FORMAT_WAVEX): return "wav"
        case Int(SF_FORMAT_RF64): return "rf64"
        case Int(SF_FORMAT_W64): return "w64"
        case Int(SF_FORMAT_AIFF): return "aiff"
        case Int(SF_FORMAT_AU): return "au"
        case Int(SF_FORMAT_FLAC): return "flac"
        case Int(SF_FORMAT_OGG): return "ogg"
        case Int(SF_FORMAT_MPEG): return "mp3"
        case Int(SF_FORMAT_CAF): return "caf"
        case Int(SF_FORMAT_RAW): return "raw"
        default: return String(format: "sf%x", major >> 16)
        }
    }

    static func encodingName(_ minor: Int) -> String {
        switch minor {
        case Int(SF_FORMAT_PCM_S8), Int(SF_FORMAT_PCM_U8): return "pcm8"
        case Int(SF_FORMAT_PCM_16): return "pcm16"
        case Int(SF_FORMAT_PCM_24): return "pcm24"
        case Int(SF_FORMAT_PCM_32): return "pcm32"
        case Int(SF_FORMAT_FLOAT): return "float"
        case Int(SF_FORMAT_DOUBLE): return "double"
        case Int(SF_FORMAT_ULAW): return "ulaw"
        case Int(SF_FORMAT_ALAW): return "alaw"
        case Int(SF_FORMAT_GSM610): return "gsm610"
        case Int(SF_FORMAT_IMA_ADPCM): return "ima-adpcm"
        case Int(SF_FORMAT_MS_ADPCM): return "ms-adpcm"
        case Int(SF_FORMAT_VORBIS): return "vorbis"
        case Int(SF_FORMAT_OPUS): return "opus"
        case Int(SF_FORMAT_MPEG_LAYER_III): return "mp3"
        default: return String(format: "0x%04x", minor)
        }
    }
}

/// Reads the frame count a WAV or AIFF header states in a chunk libsndfile only logs about: AIFF's `COMM`
/// (libsndfile takes the count from the `SSND` size instead) and the `fact` chunk of a compressed WAV (GSM,
/// ADPCM, µ-law…), which libsndfile ignores. Plain PCM WAVs are left out: writers disagree on what their
/// optional `fact` counts (frames or samples), and their `data` size is already checked through the log.
enum ContainerHeader {
    static func claimedFrames(fd: Int32, fileSize: Int64, major: Int, minor: Int) -> (chunk: String, frames: Int64)? {
        switch major {
        case Int(SF_FORMAT_AIFF):
            guard let body = chunk("COMM", fd: fd, fileSize: fileSize, bigEndian: true, length: 6) else { return nil }
            return ("COMM", Int64(UInt32(body[2]) << 24 | UInt32(body[3]) << 16 | UInt32(body[4]) << 8 | UInt32(body[5])))
        case Int(SF_FORMAT_WAV), Int(SF_FORMAT_WAVEX):
            let pcm = [SF_FORMAT_PCM_U8, SF_FORMAT_PCM_S8, SF_FORMAT_PCM_16, SF_FORMAT_PCM_24, SF_FORMAT_PCM_32,
                       SF_FORMAT_FLOAT, SF_FORMAT_DOUBLE].map { Int($0) }
            guard !pcm.contains(minor), let body = chunk("fact", fd: fd, fileSize: fileSize, bigEndian: false, length: 4) else { return nil }
            return ("fact", Int64(UInt32(body[3]) << 24 | UInt32(body[2]) << 16 | UInt32(body[1]) << 8 | UInt32(body[0])))
        default:
            return nil
        }
    }

    /// A detail when a container's own length field promises more bytes than the file holds, for the containers
    /// whose promise libsndfile neither checks nor logs: Wave64 (`data` chunk: a 16-byte GUID then a 64-bit
    /// little-endian size that counts its 24-byte header) and Creative VOC (blocks: a type byte, then a 24-bit
    /// little-endian length; type 0 ends the file).
    static func cutShort(fd: Int32, fileSize: Int64, major: Int) -> String? {
        func read(_ n: Int, at offset: Int64) -> [UInt8]? {
            guard offset >= 0, offset + Int64(n) <= fileSize else { return nil }
            var buffer = [UInt8](repeating: 0, count: n)
            let got = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, n, off_t(offset)) }
            return got == n ? buffer : nil
        }
        func le(_ b: ArraySlice<UInt8>) -> UInt64 { b.reversed().reduce(0) { $0 << 8 | UInt64($1) } }
        switch major {
        case Int(SF_FORMAT_W64):
            let data: [UInt8] = [0x64, 0x61, 0x74, 0x61, 0xf3, 0xac, 0xd3, 0x11, 0x8c, 0xd1, 0x00, 0xc0, 0x4f, 0x8e, 0xdb, 0x8a]
            var offset: Int64 = 40   // after the riff GUID, its size and the wave GUID
            for _ in 0..<4096 {
                guard let header = read(24, at: offset) else { return nil }
                let size = le(header[16..<24])
                guard size >= 24, size < UInt64(Int64.max / 2) else { return "a Wave64 chunk has an impossible size" }
                if Array(header[0..<16]) == data {
                    return offset + Int64(size) > fileSize
                        ? "the Wave64 data chunk promises \(size - 24) bytes but the file holds \(fileSize - offset - 24)" : nil
                }
                offset += (Int64(size) + 7) & ~7   // chunks are aligned to 8 bytes
            }
            return nil
        case Int(SF_FORMAT_VOC):
            guard let header = read(26, at: 0) else { return nil }
            var offset = Int64(le(header[20..<22]))
            for _ in 0..<1_000_000 {
                guard let type = read(1, at: offset)?.first else { return "the VOC file ends without its terminator block" }
                if type == 0 { return nil }
                guard let length = read(3, at: offset + 1) else { return "a VOC block header is cut short" }
                let end = offset + 4 + Int64(le(length[0..<3]))
                if end > fileSize { return "a VOC block promises \(end - offset - 4) bytes but the file holds \(fileSize - offset - 4)" }
                offset = end
            }
            return nil
        default:
            return nil
        }
    }

    /// The first `length` bytes of the first chunk named `id` in a RIFF (little-endian) or IFF (big-endian)
    /// file, walking chunk headers with `pread` (nothing else is read); nil when absent or cut short.
    static func chunk(_ id: String, fd: Int32, fileSize: Int64, bigEndian: Bool, length: Int) -> [UInt8]? {
        func read(_ n: Int, at offset: Int64) -> [UInt8]? {
            guard offset >= 0, offset + Int64(n) <= fileSize else { return nil }
            var buffer = [UInt8](repeating: 0, count: n)
            let got = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, n, off_t(offset)) }
            return got == n ? buffer : nil
        }
        let want = Array(id.utf8)
        var offset: Int64 = 12   // after RIFF/FORM, the size and WAVE/AIFF
        for _ in 0..<4096 {
            guard let header = read(8, at: offset) else { return nil }
            let b = header[4..<8].map(UInt32.init)
            let size = Int64(bigEndian ? b[0] << 24 | b[1] << 16 | b[2] << 8 | b[3] : b[3] << 24 | b[2] << 16 | b[1] << 8 | b[0])
            if Array(header[0..<4]) == want { return size >= Int64(length) ? read(length, at: offset + 8) : nil }
            offset += 8 + size + (size & 1)   // chunks are padded to an even length
        }
        return nil
    }
}
