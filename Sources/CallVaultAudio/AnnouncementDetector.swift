// Hearing the recording announcement: log-mel block normalised cross-correlation (ANNOUNCEMENT.md).
import CallVaultCore
import Foundation

/// A registered prompt, cut into normalised blocks of 64 frames (1.024 s) every 32 frames plus one at the end.
public struct PromptFingerprint: Sendable {
    public var id: String
    /// Frames of the whole prompt.
    public var frames: Int
    /// Block length in frames (64, or the whole prompt when shorter).
    public var blockFrames: Int
    /// Frame offset of each block within the prompt.
    public var offsets: [Int]
    /// Each block frame-major (`blockFrames * bands`), band means removed, Frobenius norm 1.
    public var blocks: [[Float]]

    public static let blockLength = 64
    public static let blockStep = 32

    public init(id: String, pcm: PCM) {
        self.id = id
        // Prompts are mono references: mix down when a file has more channels.
        let n = pcm.channels.map(\.count).min() ?? 0
        var mono = [Float](repeating: 0, count: n)
        for ch in pcm.channels { for i in 0..<n { mono[i] += ch[i] / Float(pcm.channels.count) } }
        let f = LogMel.analyze(mono)
        frames = f.frames
        blockFrames = min(Self.blockLength, f.frames)
        var starts = Array(stride(from: 0, through: max(0, f.frames - blockFrames), by: Self.blockStep))
        if let last = starts.last, last != f.frames - blockFrames, f.frames >= blockFrames { starts.append(f.frames - blockFrames) }
        offsets = f.frames > 0 ? starts : []
        let bands = LogMel.bands
        let bf = blockFrames
        blocks = offsets.map { start in
            var block = Array(f.values[(start * bands)..<((start + bf) * bands)])
            for b in 0..<bands {
                var mean: Float = 0
                for t in 0..<bf { mean += block[t * bands + b] }
                mean /= Float(bf)
                for t in 0..<bf { block[t * bands + b] -= mean }
            }
            let norm = sqrt(block.reduce(0) { $0 + $1 * $1 })
            return norm > 0 ? block.map { $0 / norm } : block
        }
    }

    public var seconds: Double { Double(frames) * LogMel.hopSeconds }
}

/// What the detector found.
public struct AnnouncementVerdict: Sendable, Equatable {
    public var detected: Bool
    /// The best-scoring prompt (also when below the threshold, for review).
    public var prompt: String?
    public var offsetMs: Int?
    public var score: Double
    public var channel: Int?
}

public enum AnnouncementDetector {
    /// Decides whether one of `prompts` starts within the first `window` seconds of `pcm` (8 kHz) on any channel.
    public static func detect(_ pcm: PCM, prompts: [PromptFingerprint], window: Double, threshold: Double) -> AnnouncementVerdict {
        precondition(pcm.sampleRate == LogMel.rate)
        var best = AnnouncementVerdict(detected: false, prompt: nil, offsetMs: nil, score: 0, channel: nil)
        let usable = prompts.filter { !$0.blocks.isEmpty }
        guard !usable.isEmpty else { return best }
        let lags = Int(window / LogMel.hopSeconds) + 1
        let longest = usable.map(\.frames).max()!
        let bands = LogMel.bands
        for (channel, samples) in pcm.channels.enumerated() {
            var q = LogMel.analyze(samples)
            guard q.frames > 0 else { continue }
            // Only the window plus the longest prompt matters; the rest of the call is not analysed.
            let needed = lags + longest + PromptFingerprint.blockLength
            if q.frames > needed {
                q.values.removeLast((q.frames - needed) * bands)
                q.frames = needed
            }
            // Subtract each band's mean over the analysed frames, then pad by repeating the last frame.
            for b in 0..<bands {
                var mean: Float = 0
                for t in 0..<q.frames { mean += q.values[t * bands + b] }
                mean /= Float(q.frames)
                for t in 0..<q.frames { q.values[t * bands + b] -= mean }
            }
            let lastFrame = Array(q.values[((q.frames - 1) * bands)..<(q.frames * bands)])
            while q.frames < needed {
                q.values += lastFrame
                q.frames += 1
            }
            for prompt in usable {
                let s = scores(q, prompt: prompt, lags: lags)
                if let (lag, value) = s.enumerated().max(by: { $0.element < $1.element }).map({ ($0.offset, Double($0.element)) }),
                   value > best.score {
                    best = AnnouncementVerdict(detected: value >= threshold, prompt: prompt.id,
                                               offsetMs: Int((Double(lag) * LogMel.hopSeconds * 1000).rounded()),
                                               score: value, channel: channel)
                }
            }
        }
        if !best.detected { best.offsetMs = nil; best.channel = nil }
        return best
    }

    /// S(o) for every lag o: the mean of the best ⌈0.75·K⌉ block correlations.
    static func scores(_ q: LogMelFrames, prompt: PromptFingerprint, lags: Int) -> [Float] {
        let bands = LogMel.bands
        let bf = prompt.blockFrames
        let width = bf * bands
        let positions = q.frames - bf + 1
        // Denominator per start frame p: the Frobenius norm of Q[p..p+bf) with band means removed, from prefix
        // sums; floored at 24·64·1 dB² so digital silence cannot correlate.
        var s1 = [Double](repeating: 0, count: (q.frames + 1) * bands)
        var s2 = [Double](repeating: 0, count: (q.frames + 1) * bands)
        for t in 0..<q.frames {
            for b in 0..<bands {
                let v = Double(q.values[t * bands + b])
                s1[(t + 1) * bands + b] = s1[t * bands + b] + v
                s2[(t + 1) * bands + b] = s2[t * bands + b] + v * v
            }
        }
        let floor = Double(bands * bf)
        var inverseNorm = [Float](repeating: 0, count: max(positions, 0))
        for p in 0..<max(positions, 0) {
            var energy = 0.0
            for b in 0..<bands {
                let a = s1[(p + bf) * bands + b] - s1[p * bands + b]
                let a2 = s2[(p + bf) * bands + b] - s2[p * bands + b]
                energy += a2 - a * a / Double(bf)
            }
            inverseNorm[p] = Float(1 / sqrt(max(energy, floor)))
        }
        let k = prompt.blocks.count
        let keep = Int((0.75 * Double(k)).rounded(.up))
        var out = [Float](repeating: -1, count: lags)
        var blockScores = [Float](repeating: 0, count: k)
        q.values.withUnsafeBufferPointer { qv in
            for o in 0..<lags {
                for (j, block) in prompt.blocks.enumerated() {
                    let p = o + prompt.offsets[j]
                    guard p < positions else { blockScores[j] = -1; continue }
                    let dot = block.withUnsafeBufferPointer { dotProduct($0.baseAddress!, qv.baseAddress! + p * bands, width) }
                    blockScores[j] = dot * inverseNorm[p]
                }
                blockScores.sort(by: >)
                var sum: Float = 0
                for j in 0..<keep { sum += blockScores[j] }
                out[o] = sum / Float(keep)
            }
        }
        return out
    }

    /// Σ a[i]·b[i] with 8-wide SIMD (float reductions do not auto-vectorise).
    @inline(__always)
    static func dotProduct(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
        var acc = SIMD8<Float>(repeating: 0)
        var i = 0
        let ra = UnsafeRawPointer(a), rb = UnsafeRawPointer(b)
        while i + 8 <= n {
            acc += ra.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self) * rb.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
            i += 8
        }
        var sum = acc.sum()
        while i < n { sum += a[i] * b[i]; i += 1 }
        return sum
    }
}
