// Log-mel band energies (ANNOUNCEMENT.md): 32 ms frames every 16 ms at 8 kHz, 24 HTK-mel bands 250–3500 Hz.
import CKissFFT
import Foundation

/// Frame-by-band log energies, stored frame-major: `values[frame * bands + band]`.
public struct LogMelFrames: Sendable {
    public var values: [Float]
    public var frames: Int
    public static let bands = 24
}

public enum LogMel {
    public static let rate = 8000
    public static let frameLength = 256
    public static let hop = 128
    public static let bands = LogMelFrames.bands
    /// Seconds per hop: offsets are reported in these steps.
    public static let hopSeconds = Double(hop) / Double(rate)

    /// Periodic Hann window.
    static let window: [Float] = (0..<frameLength).map { 0.5 - 0.5 * Float(cos(2 * Double.pi * Double($0) / Double(frameLength))) }
    static let windowPower: Float = window.reduce(0) { $0 + $1 * $1 }

    /// 24 triangular filters over bins 0…128, equally spaced in HTK mel from 250 to 3500 Hz, each summing to 1.
    static let filters: [[(bin: Int, weight: Float)]] = {
        func mel(_ f: Double) -> Double { 2595 * log10(1 + f / 700) }
        func hz(_ m: Double) -> Double { 700 * (pow(10, m / 2595) - 1) }
        let lo = mel(250), hi = mel(3500)
        let edges = (0..<(bands + 2)).map { hz(lo + (hi - lo) * Double($0) / Double(bands + 1)) }
        let binHz = Double(rate) / Double(frameLength)
        return (0..<bands).map { b in
            var taps: [(Int, Float)] = []
            for k in 0...(frameLength / 2) {
                let f = Double(k) * binHz
                var w = 0.0
                if f > edges[b] && f <= edges[b + 1] { w = (f - edges[b]) / (edges[b + 1] - edges[b]) }
                else if f > edges[b + 1] && f < edges[b + 2] { w = (edges[b + 2] - f) / (edges[b + 2] - edges[b + 1]) }
                if w > 0 { taps.append((k, Float(w))) }
            }
            let sum = taps.reduce(Float(0)) { $0 + $1.1 }
            return taps.map { ($0.0, $0.1 / sum) }
        }
    }()

    /// Features of mono 8 kHz samples. Fewer than one frame gives zero frames.
    public static func analyze(_ samples: [Float]) -> LogMelFrames {
        let count = samples.count >= frameLength ? 1 + (samples.count - frameLength) / hop : 0
        var values = [Float](repeating: 0, count: count * bands)
        guard count > 0, let cfg = kiss_fftr_alloc(Int32(frameLength), 0, nil, nil) else { return LogMelFrames(values: values, frames: 0) }
        defer { free(UnsafeMutableRawPointer(cfg)) }  // kiss_fftr_free is a macro for free()
        var frame = [Float](repeating: 0, count: frameLength)
        var spectrum = [kiss_fft_cpx](repeating: kiss_fft_cpx(), count: frameLength / 2 + 1)
        var power = [Float](repeating: 0, count: frameLength / 2 + 1)
        let scale = 1 / windowPower
        samples.withUnsafeBufferPointer { s in
            for f in 0..<count {
                let start = f * hop
                for i in 0..<frameLength { frame[i] = s[start + i] * window[i] }
                kiss_fftr(cfg, frame, &spectrum)
                for k in 0..<power.count { power[k] = (spectrum[k].r * spectrum[k].r + spectrum[k].i * spectrum[k].i) * scale }
                for b in 0..<bands {
                    var e: Float = 0
                    for tap in filters[b] { e += power[tap.bin] * tap.weight }
                    values[f * bands + b] = 10 * log10(e + 1e-7)
                }
            }
        }
        return LogMelFrames(values: values, frames: count)
    }
}
