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

    /// Opens the file on `fd` from its start, refusing what no reader should size buffers from: no channels, or
    /// a rate outside ingest's bound (an absurd rate would size buffers and the resampling ratio from a lie).
    static func openChecked(_ fd: Int32) throws -> (OpaquePointer, SF_INFO) {
        guard lseek(fd, 0, SEEK_SET) == 0 else { throw VaultError.failure("cannot seek audio") }
        var info = SF_INFO()
        guard let sf = sf_open_fd(fd, Int32(SFM_READ), &info, 0) else {
            throw VaultError(.usage, "libsndfile: \(String(cString: sf_strerror(nil)))")
        }
        guard info.channels > 0, info.samplerate > 0 else {
            sf_close(sf)
            throw VaultError(.usage, "libsndfile: no channels or sample rate")
        }
        guard AudioProbe.sampleRates.contains(Int(info.samplerate)) else {
            sf_close(sf)
            throw VaultError(.usage, "sample rate \(info.samplerate) Hz is outside \(AudioProbe.sampleRates.lowerBound)-\(AudioProbe.sampleRates.upperBound) Hz")
        }
        return (sf, info)
    }
    /// Reads at most `maxSeconds` from the start of the file open on `fd` (any format libsndfile reads), and
    /// resamples each channel to `rate` with libsamplerate when the file has another rate.
    public static func read(fd: Int32, maxSeconds: Double, rate: Int) throws -> PCM {
        let (sf, info) = try openChecked(fd)
        defer { sf_close(sf) }
        let channels = Int(info.channels)
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

    /// Reads the whole file open on `fd` in windows of `window` seconds that overlap by `overlap` seconds, at
    /// `rate`, each handed to `body` with its start in seconds. Samples are resampled as they are read, so memory
    /// holds one window at `rate` (about 19 MB a channel for ten minutes at 8 kHz), whatever the file's own rate
    /// and however long the call.
    public static func windows(fd: Int32, window: Double, overlap: Double, rate: Int, _ body: (PCM, Double) throws -> Void) throws {
        precondition(window > overlap && overlap >= 0)
        let (sf, info) = try openChecked(fd)
        defer { sf_close(sf) }
        let channels = Int(info.channels)
        let converters = try (0..<channels).map { _ in try StreamResampler(from: Int(info.samplerate), to: rate) }
        let size = Int(window * Double(rate)), keep = Int(overlap * Double(rate))
        var out = [[Float]](repeating: [], count: channels)
        var start = 0          // the first sample of `out`, at `rate`
        var fresh = 0          // samples in `out` no window has covered yet
        let chunk = 4096
        var buffer = [Float](repeating: 0, count: chunk * channels)
        var plane = [Float](repeating: 0, count: chunk)
        func emit() throws {
            let n = out.map(\.count).min() ?? 0
            try body(PCM(channels: out.map { Array($0.prefix(n)) }, sampleRate: rate), Double(start) / Double(rate))
            fresh = 0
        }
        var ended = false
        while !ended {
            let n = Int(buffer.withUnsafeMutableBufferPointer { sf_readf_float(sf, $0.baseAddress, sf_count_t(chunk)) })
            ended = n <= 0
            let before = out.map(\.count).min() ?? 0
            for c in 0..<channels {
                for i in 0..<max(0, n) { plane[i] = buffer[i * channels + c] }
                out[c] += try converters[c].process(plane[0..<max(0, n)], last: ended)
            }
            let have = out.map(\.count).min() ?? 0
            fresh += have - before
            if have >= size {
                try emit()
                let drop = have - keep
                for c in 0..<channels { out[c].removeFirst(min(drop, out[c].count)) }
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

/// libsamplerate's converter with its state kept between chunks of one channel: the same band-limited sinc as
/// `PCMReader.resample`, fed piece by piece. At the same rate it passes samples through.
final class StreamResampler {
    private let state: OpaquePointer?
    private let ratio: Double

    init(from: Int, to: Int) throws {
        ratio = Double(to) / Double(from)
        guard from != to else { state = nil; return }
        var error: Int32 = 0
        guard let s = src_new(Int32(SRC_SINC_FASTEST), 1, &error) else {
            throw VaultError.failure("libsamplerate: \(String(cString: src_strerror(error)))")
        }
        state = s
    }

    deinit { if let state { src_delete(state) } }

    func process(_ input: ArraySlice<Float>, last: Bool) throws -> [Float] {
        guard let state else { return Array(input) }
        var result: [Float] = []
        var pending = Array(input)
        while true {
            var output = [Float](repeating: 0, count: Int(Double(pending.count) * ratio) + 64)
            var data = SRC_DATA()
            let err: Int32 = pending.withUnsafeBufferPointer { inp in
                output.withUnsafeMutableBufferPointer { outp in
                    data.data_in = inp.baseAddress
                    data.input_frames = inp.count
                    data.data_out = outp.baseAddress
                    data.output_frames = outp.count
                    data.src_ratio = ratio
                    data.end_of_input = last ? 1 : 0
                    return src_process(state, &data)
                }
            }
            guard err == 0 else { throw VaultError.failure("libsamplerate: \(String(cString: src_strerror(err)))") }
            result += output.prefix(Int(data.output_frames_gen))
            pending.removeFirst(Int(data.input_frames_used))
            if data.output_frames_gen == 0 && data.input_frames_used == 0 { break }
            // At the end of input, libsamplerate gives what it held back when asked again with nothing more.
            if pending.isEmpty && !last { break }
        }
        return result
    }
}
