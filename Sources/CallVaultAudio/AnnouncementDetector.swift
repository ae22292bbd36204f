// Hearing the recording announcement: log-mel block normalised cross-correlation (ANNOUNCEMENT.md).
import CallVaultCore
import Foundation

/// A registered prompt, cut into blocks of 64 frames (1.024 s) every 16 frames plus one at the end. Each block keeps
/// only the cells where the prompt is loudest (issue 13): where someone talks over the prompt, those are the cells
/// the prompt still dominates, and the cells it does not are left out of both sides of the correlation.
public struct PromptFingerprint: Sendable {
    public var id: String
    /// Frames of the whole prompt.
    public var frames: Int
    /// Block length in frames (64, or the whole prompt when shorter).
    public var blockFrames: Int
    /// Frame offset of each block within the prompt.
    public var offsets: [Int]
    /// Each block frame-major (`blockFrames * bands`), band means removed, zero outside its mask, Frobenius norm 1.
    public var blocks: [[Float]]
    /// Each block's mask (1 or 0 per cell): its louder half of cells, at or above the block's median log energy.
    public var masks: [[Float]]

    public static let blockLength = 64
    /// A quarter block: a part of the prompt that was heard loses less than 0.26 s to the block grid at each end.
    public static let blockStep = 16

    public init(id: String, pcm: PCM) {
        self.id = id
        // Prompts are mono references: mix down when a file has more channels.
        let f = LogMel.analyze(pcm.mono)
        frames = f.frames
        blockFrames = min(Self.blockLength, f.frames)
        var starts = Array(stride(from: 0, through: max(0, f.frames - blockFrames), by: Self.blockStep))
        if let last = starts.last, last != f.frames - blockFrames, f.frames >= blockFrames { starts.append(f.frames - blockFrames) }
        offsets = f.frames > 0 ? starts : []
        let bands = LogMel.bands
        let bf = blockFrames
        var blocks: [[Float]] = [], masks: [[Float]] = []
        for start in offsets {
            let raw = Array(f.values[(start * bands)..<((start + bf) * bands)])
            let ordered = raw.sorted()
            let median = ordered.count % 2 == 1 ? ordered[ordered.count / 2]
                : (ordered[ordered.count / 2 - 1] + ordered[ordered.count / 2]) / 2
            let mask = raw.map { $0 >= median ? Float(1) : 0 }
            var block = raw
            for b in 0..<bands {
                var mean: Float = 0
                for t in 0..<bf { mean += block[t * bands + b] }
                mean /= Float(bf)
                for t in 0..<bf { block[t * bands + b] = (block[t * bands + b] - mean) * mask[t * bands + b] }
            }
            let norm = sqrt(block.reduce(0) { $0 + $1 * $1 })
            blocks.append(norm > 0 ? block.map { $0 / norm } : block)
            masks.append(mask)
        }
        self.blocks = blocks
        self.masks = masks
    }

    public var seconds: Double { Double(frames) * LogMel.hopSeconds }
}

/// The three answers of the check (SPEC §17). A compliance check fails safe: only a match the file itself explains
/// is `heard`; a partial or borderline one goes to an officer, who listens.
public enum AnnouncementOutcome: String, Sendable, Equatable, CaseIterable {
    /// A whole prompt, or a prompt whose beginning the recording missed because it started inside it, or whose
    /// end it missed because the file ends there.
    case heard
    /// Nothing that resembles a configured prompt.
    case notHeard = "not_heard"
    /// A prompt that stops early in mid-call (a barge-in, or another sentence sharing its first words), or a
    /// score in the grey zone under the threshold.
    case review
}

/// What the detector found.
public struct AnnouncementFinding: Sendable, Equatable {
    public var outcome: AnnouncementOutcome
    public var detected: Bool { outcome == .heard }
    /// The best-scoring prompt (also when below the threshold, for review).
    public var prompt: String?
    /// Where the matched part of the prompt starts in the recording (heard or review: where an officer listens).
    public var offsetMs: Int?
    public var score: Double
    public var channel: Int?
    /// The share of the prompt that matched (0…1): less than 1 when the recording started late or ended early.
    public var matchedShare: Double?
    /// Where the heard part starts within the prompt (0 unless the recording started while it played).
    public var promptOffsetMs: Int?
    /// Why a call is sent to review: `partial` (the prompt stops in mid-call) or `borderline` (under the threshold).
    public var reviewReason: String?
    /// The matched reading block by block: its weakest block's correlation, and the share of its blocks found
    /// where the reading puts them.
    public var weakestBlock: Double?
    public var alignedShare: Double?

    public init(outcome: AnnouncementOutcome, prompt: String?, offsetMs: Int?, score: Double, channel: Int?,
                matchedShare: Double? = nil, promptOffsetMs: Int? = nil, reviewReason: String? = nil,
                weakestBlock: Double? = nil, alignedShare: Double? = nil) {
        self.outcome = outcome; self.prompt = prompt; self.offsetMs = offsetMs; self.score = score
        self.channel = channel; self.matchedShare = matchedShare; self.promptOffsetMs = promptOffsetMs
        self.reviewReason = reviewReason; self.weakestBlock = weakestBlock; self.alignedShare = alignedShare
    }
}

public enum AnnouncementDetector {
    /// The least share of a prompt that may count as hearing it, unless the tenant configures another.
    public static let defaultMinShare = 0.6
    /// Playback rates tried (gateways resample up to ±2 %): block j of the prompt is looked for at lag + offset·rate.
    static let rates: [Float] = [0.98, 0.99, 1, 1.01, 1.02]
    /// Share of a part's blocks whose mean scores it: the best ¾, so blocks drowned by talk-over do not sink it.
    static let robustShare = 0.75
    /// Score subtracted from a partial match per missing share of the prompt: the freedom to choose where the part
    /// ends (or, for a recording that started late, where the prompt began) lifts unrelated speech a little.
    static let partialPenalty: Float = 0.2
    /// How far before the end of the file a prompt may stop and still be explained by the file ending there. A
    /// caller that decodes only the start of a long call must decode more than this past where a prompt can end,
    /// or the end of what it read would pass for the end of the file (PromptLibrary decodes 1.5 s more).
    public static let fileEndTolerance = 1.0
    /// The grey zone under the threshold that goes to review rather than to not_heard.
    public static let defaultReviewMargin = 0.1

    /// Decides whether one of `prompts` starts within the first `window` seconds of `pcm` (8 kHz) on any channel,
    /// or plays at the start of the recording with at least `minShare` of it left (the recording started late), or
    /// stops with at least `minShare` heard where the file ends. A prompt that stops early in mid-call, or a best
    /// score within `reviewMargin` under the threshold, is `review`.
    public static func detect(_ pcm: PCM, prompts: [PromptFingerprint], window: Double, threshold: Double,
                              minShare: Double = defaultMinShare, reviewMargin: Double = defaultReviewMargin) -> AnnouncementFinding {
        precondition(pcm.sampleRate == LogMel.rate)
        let none = AnnouncementFinding(outcome: .notHeard, prompt: nil, offsetMs: nil, score: 0, channel: nil)
        let usable = prompts.filter { !$0.blocks.isEmpty }
        guard !usable.isEmpty else { return none }
        let share = min(1, max(0.1, minShare))
        let lags = Int(window / LogMel.hopSeconds) + 1
        let longest = usable.map(\.frames).max()!
        let bands = LogMel.bands
        let ms = { (frames: Int) in Int((Double(frames) * LogMel.hopSeconds * 1000).rounded()) }
        // Per prompt and channel, the best reading the file explains and the best of the rest (a prompt stopping
        // in mid-call).
        var evidences: [(m: Match, prompt: String, channel: Int)] = []
        var partials: [(m: Match, prompt: String, channel: Int)] = []
        for (channel, samples) in pcm.channels.enumerated() {
            var q = LogMel.analyze(samples)
            guard q.frames > 0 else { continue }
            let fileFrames = q.frames
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
            let fileEnd = fileFrames - Int(fileEndTolerance / LogMel.hopSeconds)
            for prompt in usable {
                let (e, p) = match(q, prompt: prompt, lags: lags, minShare: share, fileEnd: fileEnd, threshold: Float(threshold))
                evidences.append((e, prompt.id, channel))
                partials.append((p, prompt.id, channel))
            }
        }
        func verdict(_ outcome: AnnouncementOutcome, _ best: (m: Match, prompt: String, channel: Int), reason: String? = nil) -> AnnouncementFinding {
            AnnouncementFinding(outcome: outcome, prompt: best.prompt, offsetMs: ms(best.m.start), score: Double(best.m.score),
                                channel: best.channel, matchedShare: (best.m.share * 100).rounded() / 100,
                                promptOffsetMs: ms(best.m.promptStart), reviewReason: reason,
                                weakestBlock: (Double(best.m.weakest) * 1000).rounded() / 1000, alignedShare: (best.m.aligned * 100).rounded() / 100)
        }
        let t = Float(threshold)
        func best(_ c: [(m: Match, prompt: String, channel: Int)]) -> (m: Match, prompt: String, channel: Int)? { c.max { $0.m.score < $1.m.score } }
        // Heard: the file explains the reading and every block of it agrees.
        if let e = best(evidences.filter { $0.m.score >= t && $0.m.consistent }) { return verdict(.heard, e) }
        if let p = best(partials.filter { $0.m.score >= t }) { return verdict(.review, p, reason: "partial") }
        if let e = best(evidences.filter { $0.m.score >= t }) { return verdict(.review, e, reason: "mismatch") }
        guard let any = best(evidences + partials), any.m.score > 0 else { return none }
        if Double(any.m.score) >= threshold - reviewMargin { return verdict(.review, any, reason: "borderline") }
        return AnnouncementFinding(outcome: .notHeard, prompt: any.prompt, offsetMs: nil, score: Double(any.m.score), channel: nil)
    }

    /// The best match of one prompt in one channel: where its heard part starts in the recording and in the prompt.
    struct Match {
        var score: Float = -1
        var start = 0
        var promptStart = 0
        var share = 0.0
        /// The reading: its playback rate (index into `rates`), lag and run of blocks.
        var rate = 0, lag = 0, firstBlock = 0, lastBlock = -1
        /// The reading's agreement block by block (filled for the winner): its weakest block's correlation, and
        /// the share of its blocks whose own best position is where the reading puts them.
        var weakest: Float = 0
        var aligned = 0.0
        /// Every block in place, none far below the reading's score: what "heard" requires of a reading.
        var consistent: Bool { aligned >= 1 - 1e-9 && score - weakest <= AnnouncementDetector.maxBlockGap }
    }

    /// Masked block correlations C_j(p) at every position p where block j can be, then, for every playback rate and
    /// lag o, the best of three readings, each the mean of the best ¾ of its blocks' correlations:
    /// - the whole prompt;
    /// - its start, blocks 0…b covering at least `minShare`: the prompt stopped early. Evidence only where the file
    ///   ends there (`fileEnd`: the call ended, the file was cut); in mid-call it is a barge-in or another sentence
    ///   sharing the prompt's first words, returned apart, for review;
    /// - its end, from the first block inside the recording when the lag is negative: the recording started while
    ///   the prompt played. The part must start the file: a prompt cannot lose its beginning in mid-call, and
    ///   letting any part match anywhere lifted the prompt's text in another voice to the threshold.
    /// Partial readings lose `partialPenalty` per missing share of the prompt. Returns the best evidence and the best
    /// early stop in mid-call.
    static func match(_ q: LogMelFrames, prompt: PromptFingerprint, lags: Int, minShare: Double,
                      fileEnd: Int, threshold: Float) -> (evidence: Match, partial: Match) {
        let bands = LogMel.bands
        let bf = prompt.blockFrames
        let positions = q.frames - bf + 1
        guard positions > 0 else { return (Match(), Match()) }
        // Each band's mean over the window at every start frame p, from prefix sums: the call side of the
        // correlation has them removed as the prompt's blocks do.
        var s1 = [Double](repeating: 0, count: (q.frames + 1) * bands)
        for t in 0..<q.frames {
            for b in 0..<bands { s1[(t + 1) * bands + b] = s1[t * bands + b] + Double(q.values[t * bands + b]) }
        }
        var means = [Float](repeating: 0, count: positions * bands)
        for p in 0..<positions {
            for b in 0..<bands { means[p * bands + b] = Float((s1[(p + bf) * bands + b] - s1[p * bands + b]) / Double(bf)) }
        }
        let k = prompt.blocks.count
        // A recording that starts inside the prompt puts the prompt's start before the file's: negative lags.
        // The heard part's ends fall anywhere on the 16-frame block grid: parts may cover one block step less than
        // minShare (the part heard is that much longer), else a prompt heard from 62 % would need 69 %.
        let slack = Double(PromptFingerprint.blockStep) / Double(prompt.frames)
        let minLag = -Int((Double(prompt.frames) * (1 - minShare)).rounded(.down)) - PromptFingerprint.blockStep
        let shifts = rates.map { r in prompt.offsets.map { Int((Float($0) * r).rounded()) } }
        // C_j(p), computed only where some rate and lag can put block j; the denominator is the call's energy in
        // the block's mask, floored at 1 dB² per cell so that digital silence cannot correlate.
        var c = [Float](repeating: -1, count: k * positions)
        q.values.withUnsafeBufferPointer { qv in
            means.withUnsafeBufferPointer { mv in
                for j in 0..<k {
                    // `alignmentSearch` frames more on each side: the block-by-block check looks for each block's own
                    // best position around where a reading puts it.
                    let lo = max(0, minLag + shifts.first![j] - alignmentSearch), hi = min(positions - 1, lags - 1 + shifts.last![j] + alignmentSearch)
                    guard lo <= hi else { continue }
                    let floor = prompt.masks[j].reduce(0, +)
                    prompt.blocks[j].withUnsafeBufferPointer { tv in
                        prompt.masks[j].withUnsafeBufferPointer { kv in
                            for p in lo...hi {
                                let (num, den) = maskedProducts(tv.baseAddress!, kv.baseAddress!, qv.baseAddress! + p * bands,
                                                                mv.baseAddress! + p * bands, frames: bf)
                                c[j * positions + p] = num / sqrt(max(den, floor))
                            }
                        }
                    }
                }
            }
        }
        let share = { (a: Int, b: Int) in Double(prompt.offsets[b] + bf - prompt.offsets[a]) / Double(prompt.frames) }
        let enough = { (a: Int, b: Int) in share(a, b) >= minShare - slack - 1e-9 }
        var best = Match(), midCall = Match()
        var v = [Float](repeating: 0, count: k)
        // v[from...b] in descending order, grown one block at a time: every reading is a run from `from`, and its
        // robust mean is the sum of the first ⌈¾·n⌉ (one insertion per block, not one sort per reading).
        var sorted = [Float](repeating: 0, count: k)
        var count = 0
        func insert(_ x: Float) {
            var i = count
            while i > 0 && sorted[i - 1] < x { sorted[i] = sorted[i - 1]; i -= 1 }
            sorted[i] = x
            count += 1
        }
        func robustMean() -> Float {
            let keep = Int((robustShare * Double(count)).rounded(.up))
            var sum: Float = 0
            for j in 0..<keep { sum += sorted[j] }
            return sum / Float(keep)
        }
        for (rate, shift) in shifts.enumerated() {
            for o in minLag..<lags {
                // Blocks inside the recording form one run [first, last] (shifts grow with j).
                var first = k, last = -1
                var top: Float = -1
                for j in 0..<k {
                    let p = o + shift[j]
                    if p >= 0 && p < positions {
                        v[j] = c[j * positions + p]
                        first = min(first, j); last = j
                        top = max(top, v[j])
                    } else {
                        v[j] = -1
                    }
                }
                // No reading's mean exceeds its best block: a lag that cannot win is not scored.
                guard first <= last, top > min(best.score, midCall.score) else { continue }
                count = 0
                if first == 0 {
                    for b in 0...last {
                        insert(v[b])
                        if b == k - 1 {
                            let score = robustMean()
                            if score > best.score {
                                best = Match(score: score, start: o + shift[0], promptStart: 0, share: 1, rate: rate, lag: o, firstBlock: 0, lastBlock: b)
                            }
                        } else if enough(0, b) && share(0, b) <= 1 - slack + 1e-9 {
                            // A start that misses less than one block step of the prompt is the whole prompt: reported so.
                            let score = robustMean() - partialPenalty * Float(1 - share(0, b))
                            let m = Match(score: score, start: o + shift[0], promptStart: 0, share: share(0, b), rate: rate, lag: o, firstBlock: 0, lastBlock: b)
                            if o + shift[b] + bf >= fileEnd {
                                if score > best.score { best = m }
                            } else if score > midCall.score {
                                midCall = m
                            }
                        }
                    }
                } else {
                    // The block before `first` starts before the file: the recording began inside the prompt, so the
                    // heard part starts with the file, not on the block grid.
                    for b in first...last {
                        insert(v[b])
                        guard enough(first, b) else { continue }
                        let heard = min(1, Double(prompt.offsets[b] + bf + o) / Double(prompt.frames))
                        let score = robustMean() - partialPenalty * Float(1 - heard)
                        let m = Match(score: score, start: 0, promptStart: -o, share: heard, rate: rate, lag: o, firstBlock: first, lastBlock: b)
                        // Started inside the prompt and stopped before its end: evidence only where the file ends too.
                        if b == k - 1 || o + shift[b] + bf >= fileEnd {
                            if score > best.score { best = m }
                        } else if score > midCall.score {
                            midCall = m
                        }
                    }
                }
            }
        }
        // Block by block, the winner's agreement: a sentence that shares most of the prompt's words differs in a
        // block or two the best-¾ mean leaves out, and another voice's timing puts blocks off their places.
        func agreement(_ m: inout Match) {
            guard m.lastBlock >= m.firstBlock else { return }
            var weakest: Float = 2
            var aligned = 0
            for j in m.firstBlock...m.lastBlock {
                let p = m.lag + shifts[m.rate][j]
                guard p >= 0 && p < positions else { continue }
                let here = c[j * positions + p]
                weakest = min(weakest, here)
                var peak = here, at = p
                for d in max(0, p - alignmentSearch)...min(positions - 1, p + alignmentSearch) where c[j * positions + d] > peak {
                    peak = c[j * positions + d]; at = d
                }
                if abs(at - p) <= alignmentTolerance { aligned += 1 }
            }
            m.weakest = weakest == 2 ? 0 : weakest
            m.aligned = Double(aligned) / Double(m.lastBlock - m.firstBlock + 1)
        }
        agreement(&best)
        agreement(&midCall)
        // A reading from the prompt's start whose last blocks disagree may be a prompt cut where the file ends (the
        // best-¾ mean took blocks past the cut along): a shorter start, at the same rate and lag, still ending
        // where the file does, is then the evidence.
        if !best.consistent, best.firstBlock == 0 {
            let shift = shifts[best.rate], o = best.lag
            for b in stride(from: best.lastBlock - 1, through: 0, by: -1) where enough(0, b) && o + shift[b] + bf >= fileEnd {
                var part = [Float]()
                for j in 0...b {
                    let p = o + shift[j]
                    part.append(p >= 0 && p < positions ? c[j * positions + p] : -1)
                }
                part.sort(by: >)
                let keep = Int((robustShare * Double(part.count)).rounded(.up))
                let score = part.prefix(keep).reduce(0, +) / Float(keep) - partialPenalty * Float(1 - share(0, b))
                var m = Match(score: score, start: best.start, promptStart: 0, share: share(0, b), rate: best.rate, lag: o, firstBlock: 0, lastBlock: b)
                agreement(&m)
                // Only a shorter reading that is heard replaces it: one under the threshold would turn a review into
                // not heard, and no officer would listen.
                if m.consistent && m.score >= threshold { best = m; break }
            }
        }
        return (best, midCall)
    }

    /// How far (frames) a block's own best position is looked for around where the reading puts it, and how far
    /// from it still counts as in place.
    static let alignmentSearch = 12
    static let alignmentTolerance = 1
    /// The most a reading's weakest block may fall below its score: a sentence sharing most of the prompt's words
    /// has blocks near 1 and one far below.
    static let maxBlockGap: Float = 0.42

    /// Σ t·(y − μ) and Σ m·(y − μ)² over one block of frames (bands a multiple of 8), 8-wide SIMD: the masked
    /// correlation's numerator and the call's energy under the mask, with μ the window's band means.
    @inline(__always)
    static func maskedProducts(_ t: UnsafePointer<Float>, _ m: UnsafePointer<Float>, _ y: UnsafePointer<Float>,
                               _ mu: UnsafePointer<Float>, frames: Int) -> (Float, Float) {
        let bands = LogMel.bands
        let rt = UnsafeRawPointer(t), rm = UnsafeRawPointer(m), ry = UnsafeRawPointer(y), rmu = UnsafeRawPointer(mu)
        var num = SIMD8<Float>(repeating: 0), den = SIMD8<Float>(repeating: 0)
        for chunk in stride(from: 0, to: bands, by: 8) {
            let mean = rmu.loadUnaligned(fromByteOffset: chunk * 4, as: SIMD8<Float>.self)
            var i = chunk
            for _ in 0..<frames {
                let d = ry.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self) - mean
                num += rt.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self) * d
                den += rm.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self) * d * d
                i += bands
            }
        }
        return (num.sum(), den.sum())
    }
}
