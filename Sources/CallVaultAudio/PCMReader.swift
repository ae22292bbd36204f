// Decodes the start of an audio file to float samples per channel, resampled to the analysis rate.
import CSampleRate
import CSndFile
import CallVaultCore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Float PCM, one array per channel, at `sampleRate`.
public struct PCM: Sendable {
    public var channels: [[Float]]
    public var sampleRate: Int
    public var seconds: Double { channels.first.map { Double($0.count) / Double(sampleRate) } ?? 0 }
    /// The channels mixed down: reference audio (prompts, hold tracks) is matched as one signal.
    public var mono: [Float] {
        let n = channels.map(\.count).min() ?? 0
        var out = [Float](repeating: 0, count: n)
        for ch in channels { for i in 0..<n { out[i] += ch[i] / Float(channels.count) } }
        return out
    }

    public init(channels: [[Float]], sampleRate: Int) {
        self.channels = channels
        self.sampleRate = sampleRate
    }
}

public enum PCMReader {
    /// Reads at most `maxSeconds` from the start of the file open on `fd` (any format libsndfile reads), and
    /// resamples each channel to `rate` with libsamplerate when the file has another rate.
    public static func read(fd: Int32, maxSeconds: Double, rate: Int) throws -> PCM {
        guard lseek(fd, 0, SEEK_SET) == 0 else { throw VaultError.failure("cannot seek audio") }
        var info = SF_INFO()
        guard let sf = sf_open_fd(fd, Int32(SFM_READ), &info, 0) else {
            throw VaultError(.usage, "libsndfile: \(String(cString: sf_strerror(nil)))")
        }
        defer { sf_close(sf) }
        let channels = Int(info.channels)
        guard channels > 0, info.samplerate > 0 else { throw VaultError(.usage, "libsndfile: no channels or sample rate") }
        // The same bound as ingest: an absurd rate would size buffers and the resampling ratio from a lie.
        guard AudioProbe.sampleRates.contains(Int(info.samplerate)) else {
            throw VaultError(.usage, "sample rate \(info.samplerate) Hz is outside \(AudioProbe.sampleRates.lowerBound)-\(AudioProbe.sampleRates.upperBound) Hz")
        }
        let want = Int(maxSeconds * Double(info.samplerate))
        var out = [[Float]](repeating: [], count: channels)
        for c in 0..<channels { out[c].reserveCapacity(min(want, 1 << 22)) }
        let chunk = 4096
        var buffer = [Float](repeating: 0, count: chunk * channels)
        var total = 0
        while total < want {
            let n = Int(buffer.withUnsafeMutableBufferPointer { sf_readf_float(sf, $0.baseAddress, sf_count_t(min(chunk, want - total))) })
            if n <= 0 { break }
            for i in 0..<n { for c in 0..<channels { out[c].append(buffer[i * channels + c]) } }
            total += n
        }
        var pcm = PCM(channels: out, sampleRate: Int(info.samplerate))
        if pcm.sampleRate != rate { pcm = try resample(pcm, to: rate) }
        return pcm
    }

    /// Reads the whole file open on `fd` in windows of `window` seconds that overlap by `overlap` seconds, each
    /// resampled to `rate` and handed to `body` with its start in seconds: memory holds one window, however long
    /// the call (the hold-music check reads a whole call this way).
    public static func windows(fd: Int32, window: Double, overlap: Double, rate: Int, _ body: (PCM, Double) throws -> Void) throws {
        precondition(window > overlap && overlap >= 0)
        guard lseek(fd, 0, SEEK_SET) == 0 else { throw VaultError.failure("cannot seek audio") }
        var info = SF_INFO()
        guard let sf = sf_open_fd(fd, Int32(SFM_READ), &info, 0) else {
            throw VaultError(.usage, "libsndfile: \(String(cString: sf_strerror(nil)))")
        }
        defer { sf_close(sf) }
        let channels = Int(info.channels)
        guard channels > 0, info.samplerate > 0 else { throw VaultError(.usage, "libsndfile: no channels or sample rate") }
        guard AudioProbe.sampleRates.contains(Int(info.samplerate)) else {
            throw VaultError(.usage, "sample rate \(info.samplerate) Hz is outside \(AudioProbe.sampleRates.lowerBound)-\(AudioProbe.sampleRates.upperBound) Hz")
        }
        let native = Int(info.samplerate)
        let size = Int(window * Double(native)), keep = Int(overlap * Double(native))
        var out = [[Float]](repeating: [], count: channels)
        var start = 0          // the first frame of `out`
        var fresh = 0          // frames in `out` no window has covered yet
        let chunk = 4096
        var buffer = [Float](repeating: 0, count: chunk * channels)
        func emit() throws {
            var pcm = PCM(channels: out, sampleRate: native)
            if native != rate { pcm = try resample(pcm, to: rate) }
            try body(pcm, Double(start) / Double(native))
            fresh = 0
        }
        while true {
            let n = Int(buffer.withUnsafeMutableBufferPointer { sf_readf_float(sf, $0.baseAddress, sf_count_t(chunk)) })
            if n <= 0 { break }
            for i in 0..<n { for c in 0..<channels { out[c].append(buffer[i * channels + c]) } }
            fresh += n
            if out[0].count >= size {
                try emit()
                let drop = out[0].count - keep
                for c in 0..<channels { out[c].removeFirst(drop) }
                start += drop
            }
        }
        if fresh > 0 || start == 0 { try emit() }
    }

    /// Reads a whole file by path (prompts).
    public static func read(path: String, maxSeconds: Double = 120, rate: Int) throws -> PCM {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw VaultError(.usage, "cannot open: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        return try read(fd: fd, maxSeconds: maxSeconds, rate: rate)
    }

    /// libsamplerate's band-limited sinc converter, one channel at a time.
    public static func resample(_ pcm: PCM, to rate: Int) throws -> PCM {
        let ratio = Double(rate) / Double(pcm.sampleRate)
        var channels: [[Float]] = []
        for input in pcm.channels {
            var output = [Float](repeating: 0, count: Int(Double(input.count) * ratio) + 16)
            var data = SRC_DATA()
            let err: Int32 = input.withUnsafeBufferPointer { inp in
                output.withUnsafeMutableBufferPointer { outp in
                    data.data_in = inp.baseAddress
                    data.input_frames = Int(inp.count)
                    data.data_out = outp.baseAddress
                    data.output_frames = Int(outp.count)
                    data.src_ratio = ratio
                    return src_simple(&data, Int32(SRC_SINC_FASTEST), 1)
                }
            }
            guard err == 0 else { throw VaultError.failure("libsamplerate: \(String(cString: src_strerror(err)))") }
            output.removeLast(output.count - Int(data.output_frames_gen))
            channels.append(output)
        }
        return PCM(channels: channels, sampleRate: rate)
    }
}
