// `hold_music.policy = "redact"` (SPEC §17): the recording with every stretch heard on hold replaced by silence on
// every channel, in a lossless form of the samples decoded from any input (PCM, G.711, GSM, Opus…): what is kept
// of the call is exactly what was received outside the silenced stretches. Re-encoding a lossy input in its own
// codec would degrade the rest of the call a second time.
import CSndFile
import CallVaultCore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

public enum HoldRedaction {
    /// The audio cannot be written back in any form libsndfile offers: the call's problem, not the vault's.
    public struct Refusal: Error, Sendable { public let detail: String }

    /// Silence reaches this far past each end of a segment: the detector places an end within a second or two,
    /// and a caller's words at the edge of the hold are what the remedy is for.
    public static let margin = 1.0

    /// Writes the audio open on `input` to `output` (an empty file open for writing), the frames inside
    /// `segments` (seconds, widened by `margin`) set to zero on every channel. Returns the frames written. The
    /// source's rate and channels are kept. The form is the smallest that holds the decoded samples exactly:
    /// FLAC of 16 or 24 bits for PCM up to 24 bits and the telephone codecs; WAV of 32-bit integers or floats for
    /// 32-bit and float sources, and for more channels than FLAC takes.
    public static func writeSilenced(from input: Int32, segments: [(start: Double, end: Double)], to output: Int32) throws -> Int64 {
        guard lseek(input, 0, SEEK_SET) == 0 else { throw VaultError.failure("cannot seek audio") }
        var info = SF_INFO()
        guard let source = sf_open_fd(input, Int32(SFM_READ), &info, 0) else {
            throw Refusal(detail: "libsndfile: \(String(cString: sf_strerror(nil)))")
        }
        defer { sf_close(source) }
        let channels = Int(info.channels)
        guard channels > 0, info.samplerate > 0 else { throw Refusal(detail: "no channels or sample rate") }
        let minor = Int32(info.format) & Int32(SF_FORMAT_SUBMASK)
        let float = minor == Int32(SF_FORMAT_FLOAT) || minor == Int32(SF_FORMAT_DOUBLE)
        let subtype: Int32 = float ? Int32(SF_FORMAT_FLOAT) : minor == Int32(SF_FORMAT_PCM_32) ? Int32(SF_FORMAT_PCM_32)
            : minor == Int32(SF_FORMAT_PCM_24) ? Int32(SF_FORMAT_PCM_24) : Int32(SF_FORMAT_PCM_16)
        var out = SF_INFO()
        out.samplerate = info.samplerate
        out.channels = info.channels
        out.format = Int32(SF_FORMAT_FLAC) | subtype
        if subtype == Int32(SF_FORMAT_FLOAT) || subtype == Int32(SF_FORMAT_PCM_32) || sf_format_check(&out) == 0 {
            out.format = Int32(SF_FORMAT_WAV) | subtype
        }
        guard sf_format_check(&out) != 0 else { throw Refusal(detail: "neither FLAC nor WAV holds \(info.samplerate) Hz, \(channels) channels") }
        guard let sink = sf_open_fd(output, Int32(SFM_WRITE), &out, 0) else {
            throw Refusal(detail: "libsndfile: \(String(cString: sf_strerror(nil)))")
        }
        var closed = false
        defer { if !closed { sf_close(sink) } }
        let rate = Double(info.samplerate)
        let silent = segments.map {
            (Int64((max(0, $0.start - margin) * rate).rounded(.down)), Int64((($0.end + margin) * rate).rounded(.up)))
        }.sorted { $0.0 < $1.0 }
        let chunk = 4096
        var at: Int64 = 0
        func silence<T: Numeric>(_ buffer: inout [T], _ n: Int64) {
            for (lo, hi) in silent where hi > at && lo < at + n {
                let from = Int(max(lo, at) - at), to = Int(min(hi, at + n) - at)
                for i in (from * channels)..<(to * channels) { buffer[i] = 0 }
            }
        }
        if float {
            // Floats are copied as floats: an integer read of a float file would scale every sample to -1, 0 or 1.
            var buffer = [Float](repeating: 0, count: chunk * channels)
            while true {
                let n = Int64(buffer.withUnsafeMutableBufferPointer { sf_readf_float(source, $0.baseAddress, sf_count_t(chunk)) })
                if n <= 0 { break }
                silence(&buffer, n)
                let w = buffer.withUnsafeBufferPointer { sf_writef_float(sink, $0.baseAddress, sf_count_t(n)) }
                guard w == n else { throw VaultError.failure("redaction: cannot write: \(String(cString: sf_strerror(sink)))") }
                at += n
            }
        } else {
            var buffer = [Int32](repeating: 0, count: chunk * channels)
            while true {
                let n = Int64(buffer.withUnsafeMutableBufferPointer { sf_readf_int(source, $0.baseAddress, sf_count_t(chunk)) })
                if n <= 0 { break }
                silence(&buffer, n)
                let w = buffer.withUnsafeBufferPointer { sf_writef_int(sink, $0.baseAddress, sf_count_t(n)) }
                guard w == n else { throw VaultError.failure("redaction: cannot write: \(String(cString: sf_strerror(sink)))") }
                at += n
            }
        }
        closed = true
        guard sf_close(sink) == 0 else { throw VaultError.failure("redaction: cannot finish the redacted file") }
        return at
    }
}
