// `hold_music.policy = "redact"` (SPEC §17): the recording with every stretch heard on hold replaced by silence on
// every channel. Written as FLAC: lossless for the samples decoded from any input (PCM, G.711, GSM, Opus…), so
// what is kept of the call is exactly what was received outside the silenced stretches, and any player and
// libsndfile read it. Re-encoding a lossy input in its own codec would degrade the rest of the call a second time.
import CSndFile
import CallVaultCore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

public enum HoldRedaction {
    /// Writes the audio open on `input` to `output` (an empty file open for writing) as FLAC, the frames inside
    /// `segments` (seconds) set to zero. Returns the frames written. The source's own rate and channels are kept;
    /// 24-bit and float sources are written with 24 bits, everything else with 16.
    public static func writeSilenced(from input: Int32, segments: [(start: Double, end: Double)], to output: Int32) throws -> Int64 {
        guard lseek(input, 0, SEEK_SET) == 0 else { throw VaultError.failure("cannot seek audio") }
        var info = SF_INFO()
        guard let source = sf_open_fd(input, Int32(SFM_READ), &info, 0) else {
            throw VaultError.failure("redaction: libsndfile: \(String(cString: sf_strerror(nil)))")
        }
        defer { sf_close(source) }
        let channels = Int(info.channels)
        guard channels > 0, channels <= 8, info.samplerate > 0 else {
            throw VaultError.failure("redaction: \(channels) channels cannot be written as FLAC (at most 8)")
        }
        let minor = Int(info.format) & Int(SF_FORMAT_SUBMASK)
        let wide = [SF_FORMAT_PCM_24, SF_FORMAT_PCM_32, SF_FORMAT_FLOAT, SF_FORMAT_DOUBLE].map { Int($0) }.contains(minor)
        var out = SF_INFO()
        out.samplerate = info.samplerate
        out.channels = info.channels
        out.format = Int32(SF_FORMAT_FLAC) | Int32(wide ? SF_FORMAT_PCM_24 : SF_FORMAT_PCM_16)
        guard sf_format_check(&out) != 0 else { throw VaultError.failure("redaction: FLAC cannot hold \(info.samplerate) Hz, \(channels) channels") }
        guard let sink = sf_open_fd(output, Int32(SFM_WRITE), &out, 0) else {
            throw VaultError.failure("redaction: libsndfile: \(String(cString: sf_strerror(nil)))")
        }
        var closed = false
        defer { if !closed { sf_close(sink) } }
        let rate = Double(info.samplerate)
        // Frame ranges to silence, sorted: the segments are in seconds of the call.
        let silent = segments.map { (Int64(($0.start * rate).rounded(.down)), Int64(($0.end * rate).rounded(.up))) }.sorted { $0.0 < $1.0 }
        let chunk = 4096
        var buffer = [Int32](repeating: 0, count: chunk * channels)
        var at: Int64 = 0
        while true {
            let n = Int64(buffer.withUnsafeMutableBufferPointer { sf_readf_int(source, $0.baseAddress, sf_count_t(chunk)) })
            if n <= 0 { break }
            for (lo, hi) in silent where hi > at && lo < at + n {
                let from = Int(max(lo, at) - at), to = Int(min(hi, at + n) - at)
                for i in (from * channels)..<(to * channels) { buffer[i] = 0 }
            }
            let w = buffer.withUnsafeBufferPointer { sf_writef_int(sink, $0.baseAddress, sf_count_t(n)) }
            guard w == n else { throw VaultError.failure("redaction: cannot write: \(String(cString: sf_strerror(sink)))") }
            at += n
        }
        closed = true
        guard sf_close(sink) == 0 else { throw VaultError.failure("redaction: cannot finish the FLAC file") }
        return at
    }
}
