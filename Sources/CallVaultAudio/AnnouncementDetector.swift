// Hearing the recording announcement: log-mel block normalised cross-correlation (ANNOUNCEMENT.md).
import CallVaultCore
import Foundation

/// A registered prompt, cut into normalised blocks of 64 frames (1.024 s) every 16 frames plus one at the end.
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
    /// A quarter block: a part of the prompt that was heard loses less than 0.26 s to the block grid at each end.
    public static let blockStep = 16

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
    /// Where the heard part of the prompt starts in the recording.
    public var offsetMs: Int?
    public var score: Double
    public var channel: Int?
    /// The share of the prompt that matched (0…1): less than 1 when the recording started late or ended early.
    public var matchedShare: Double?
    /// Where the heard part starts within the prompt (0 unless the recording started while it played).
    public var promptOffsetMs: Int?

    public init(detected: Bool, prompt: String?, offsetMs: Int?, score: Double, channel: Int?,
                matchedShare: Double? = nil, promptOffsetMs: Int? = nil) {
        self.detected = detected; self.prompt = prompt; self.offsetMs = offsetMs; self.score = score
        self.channel = channel; self.matchedShare = matchedShare; self.promptOffsetMs = promptOffsetMs
    }
}

public enum AnnouncementDetector {
    /// The least share of a prompt that may count as hearing it, unless the tenant configures another.
    public static let defaultMinShare = 0.6
    /// Playback rates tried (gateways resample up to ±2 %): block j of the prompt is looked for at lag + offset·rate.
    static let rates: [Float] = [0.98, 0.99, 1, 1.01, 1.02]
    /// Score subtracted from a partial match per missing share of the prompt: the freedom to choose the part
    /// lifts unrelated speech, and this keeps it where a full-prompt match of the same quality would be.
    static let partialPenalty: Float = 0.35

    /// Decides whether one of `prompts` starts within the first `window` seconds of `pcm` (8 kHz) on any channel,
    /// or plays at the start of the recording with at least `minShare` of it left (the recording started late).
    public static func detect(_ pcm: PCM, prompts: [PromptFingerprint], window: Double, threshold: Double,
                              minShare: Double = defaultMinShare) -> AnnouncementVerdict {
        precondition(pcm.sampleRate == LogMel.rate)
        var best = AnnouncementVerdict(detected: false, prompt: nil, offsetMs: nil, score: 0, channel: nil)
        let usable = prompts.filter { !$0.blocks.isEmpty }
        guard !usable.isEmpty else { return best }
        let share = min(1, max(0.1, minShare))
        let lags = Int(window / LogMel.hopSeconds) + 1
        let longest = usable.map(\.frames).max()!
        let bands = LogMel.bands
        let ms = { (frames: Int) in Int((Double(frames) * LogMel.hopSeconds * 1000).rounded()) }
        for (channel, samples) in pcm.channels.enumerated() {
            var q = LogMel.analyze(samples)
            guard q.frames > 0 else { continue }
            // Only the window plus the longest prompt (played up to 2 % slow) matters; the rest is not analysed.
            let needed = lags + Int((Double(longest) * Double(rates.last!)).rounded(.up)) + PromptFingerprint.blockLength + 2
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
                let m = match(q, prompt: prompt, lags: lags, minShare: share)
                if Double(m.score) > best.score {
                    best = AnnouncementVerdict(detected: Double(m.score) >= threshold, prompt: prompt.id, offsetMs: ms(m.start),
                                               score: Double(m.score), channel: channel,
                                               matchedShare: (m.share * 100).rounded() / 100, promptOffsetMs: ms(m.promptStart))
                }
            }
        }
        if !best.detected { best.offsetMs = nil; best.channel = nil; best.matchedShare = nil; best.promptOffsetMs = nil }
        return best
    }

    /// The best match of one prompt in one channel: where its heard part starts in the recording and in the prompt.
    struct Match {
        var score: Float = -1
        var start = 0
        var promptStart = 0
        var share = 0.0
    }

    /// Block correlations C_j(p) at every position p where block j can be, then, for every playback rate and lag o
    /// (negative when the recording starts inside the prompt), the best of: the mean of the best ⌈0.75·K⌉ of all
    /// K blocks (the whole prompt), and the plain mean of any contiguous run of blocks covering at least
    /// `minShare` of the prompt, less `partialPenalty` per missing share.
    static func match(_ q: LogMelFrames, prompt: PromptFingerprint, lags: Int, minShare: Double) -> Match {
        let bands = LogMel.bands
        let bf = prompt.blockFrames
        let width = bf * bands
        let positions = q.frames - bf + 1
        guard positions > 0 else { return Match() }
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
        var inverseNorm = [Float](repeating: 0, count: positions)
        for p in 0..<positions {
            var energy = 0.0
            for b in 0..<bands {
                let a = s1[(p + bf) * bands + b] - s1[p * bands + b]
                let a2 = s2[(p + bf) * bands + b] - s2[p * bands + b]
                energy += a2 - a * a / Double(bf)
            }
            inverseNorm[p] = Float(1 / sqrt(max(energy, floor)))
        }
        let k = prompt.blocks.count
        // A recording that starts inside the prompt puts the prompt's start before the file's: negative lags.
        // The heard part's ends fall anywhere on the 16-frame block grid: runs may cover one block step less than
        // minShare (the part heard is that much longer), else a prompt heard from 62 % would need 69 %.
        let slack = Double(PromptFingerprint.blockStep) / Double(prompt.frames)
        let minLag = -Int((Double(prompt.frames) * (1 - minShare)).rounded(.down)) - PromptFingerprint.blockStep
        let shifts = rates.map { r in prompt.offsets.map { Int((Float($0) * r).rounded()) } }
        // C_j(p), computed only where some rate and lag can put block j.
        var c = [Float](repeating: -1, count: k * positions)
        q.values.withUnsafeBufferPointer { qv in
            for (j, block) in prompt.blocks.enumerated() {
                let lo = max(0, minLag + shifts.first![j]), hi = min(positions - 1, lags - 1 + shifts.last![j])
                guard lo <= hi else { continue }
                block.withUnsafeBufferPointer { bv in
                    for p in lo...hi {
                        c[j * positions + p] = dotProduct(bv.baseAddress!, qv.baseAddress! + p * bands, width) * inverseNorm[p]
                    }
                }
            }
        }
        // The contiguous runs of blocks [a, b] covering at least minShare, other than the whole prompt.
        var runs: [(a: Int, b: Int, share: Double, penalty: Float)] = []
        for a in 0..<k {
            for b in a..<k where !(a == 0 && b == k - 1) {
                let covered = Double(prompt.offsets[b] + bf - prompt.offsets[a]) / Double(prompt.frames)
                if covered >= minShare - slack - 1e-9 { runs.append((a, b, covered, partialPenalty * Float(1 - covered))) }
            }
        }
        let keep = Int((0.75 * Double(k)).rounded(.up))
        var best = Match()
        var v = [Float](repeating: 0, count: k)
        var sorted = [Float](repeating: 0, count: k)
        var prefix = [Float](repeating: 0, count: k + 1)
        for shift in shifts {
            for o in minLag..<lags {
                // Blocks inside the recording form one run [first, last] (shifts grow with j).
                var first = k, last = -1
                for j in 0..<k {
                    let p = o + shift[j]
                    if p >= 0 && p < positions {
                        v[j] = c[j * positions + p]
                        first = min(first, j); last = j
                    } else {
                        v[j] = -1
                    }
                    prefix[j + 1] = prefix[j] + v[j]
                }
                guard first <= last else { continue }
                if first == 0 && last == k - 1 {
                    for j in 0..<k { sorted[j] = v[j] }
                    sorted.sort(by: >)
                    var sum: Float = 0
                    for j in 0..<keep { sum += sorted[j] }
                    let score = sum / Float(keep)
                    if score > best.score { best = Match(score: score, start: o + shift[0], promptStart: 0, share: 1) }
                }
                for run in runs where run.a >= first && run.b <= last {
                    let score = (prefix[run.b + 1] - prefix[run.a]) / Float(run.b - run.a + 1) - run.penalty
                    if score > best.score {
                        best = Match(score: score, start: o + shift[run.a], promptStart: prompt.offsets[run.a], share: run.share)
                        // When the block before the run would start before the file, the recording began inside
                        // the prompt: the heard part starts with the file, not on the block grid.
                        if run.a > 0 && run.a == first && o + shift[run.a - 1] < 0 {
                            let end = prompt.offsets[run.b] + bf
                            best.start = 0
                            best.promptStart = -o
                            best.share = min(1, Double(end + o) / Double(prompt.frames))
                        }
                    }
                }
            }
        }
        return best
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
