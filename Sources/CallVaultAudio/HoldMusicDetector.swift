// Finding registered music-on-hold tracks inside a call (issue 22, part 2): spectral-peak pairs hashed like an
// audio fingerprint, and a segment only where many pairs agree on one offset into the track — the consistency in
// time that tells the registered track from music of the same style (ANNOUNCEMENT.md, "Hold music").
import CKissFFT
import Foundation

/// A registered track's fingerprint: for each hash of a peak pair, where in the track (frames) its anchor is.
public struct HoldTrackFingerprint: Sendable {
    public var id: String
    /// The track's length in analysis frames.
    public var frames: Int
    var postings: [UInt32: [Int32]]
    /// The loop's length in hops, rounded from its samples: offsets are taken modulo it, so a track that loops keeps
    /// its offset (the analysis frame count, a frame or two short, would shift it at every loop).
    var period: Int
    /// Per second (bucket) of the track: whether it is far quieter than the track, a fade or a pause that a call's
    /// noise or talk drowns.
    var quiet: [Bool]
    /// Per frame, the track's spectral shape (`HoldMusicDetector.shapes`, less the track's mean shape so that
    /// what every frame of it has in common does not count) and its level in dB against the track's mean power:
    /// once a stretch's offset is known, its ends are found frame by frame against these.
    var shape: [Float]
    var level: [Float]

    public init(id: String, pcm: PCM) {
        self.id = id
        let samples = pcm.mono
        let (peaks, frames) = HoldMusicDetector.peaks(samples)
        self.frames = frames
        self.period = (samples.count + HoldMusicDetector.hop / 2) / HoldMusicDetector.hop
        var postings: [UInt32: [Int32]] = [:]
        HoldMusicDetector.pairs(peaks) { hash, t in postings[hash, default: []].append(t) }
        self.postings = postings
        let span = HoldMusicDetector.bucketFrames * HoldMusicDetector.hop
        let energy = samples.reduce(0) { $0 + Double($1) * Double($1) }
        let floor = energy / Double(max(1, samples.count)) * pow(10, HoldMusicDetector.quietDB / 10)
        self.quiet = stride(from: 0, to: samples.count, by: span).map { i in
            let part = samples[i..<min(samples.count, i + span)]
            return part.reduce(0) { $0 + Double($1) * Double($1) } / Double(part.count) < floor
        }
        (self.shape, self.level) = HoldMusicDetector.shapes(samples, frames: 0..<frames)
    }

    public var seconds: Double { Double(frames) * HoldMusicDetector.hopSeconds }
}

/// A stretch of a call where a registered track plays.
public struct HoldSegment: Sendable, Equatable {
    public var startS: Double
    public var endS: Double
    public var track: String
    public init(startS: Double, endS: Double, track: String) { self.startS = startS; self.endS = endS; self.track = track }
}

public enum HoldMusicDetector {
    // The log-mel analysis's frames (and its window): one framing of the call for both checks.
    static let rate = LogMel.rate
    static let frameLength = LogMel.frameLength
    static let hop = LogMel.hop
    static let window = LogMel.window
    public static let hopSeconds = Double(hop) / Double(rate)
    /// Bins kept: 250–3440 Hz, the telephone band.
    static let lowBin = 8, highBin = 110
    /// A peak is the largest value in its ±`neighbourhood` bins and frames, and at least `prominence` dB over
    /// its frame's mean.
    static let neighbourhood = 4
    static let prominence: Float = 6
    static let peaksPerFrame = 4
    /// Each anchor is paired with up to `fanOut` later peaks within `pairFrames` frames and ±`pairBins` bins.
    static let fanOut = 5
    static let pairFrames = 48
    static let pairBins = 40
    /// A hash seen this often in one track is too common to say where in the track it is.
    static let commonPosting = 12
    /// Offsets into a track are grouped in bins of this many frames.
    static let offsetBin = 2
    /// A segment grows from seconds (buckets of 64 frames) with at least `minPerSecond` pairs on one offset — music
    /// of the same style, or the track's own repeated bars at another offset, give a few pairs a second; the
    /// track playing gives well over a hundred — over the neighbouring seconds with any pair on that offset, across
    /// gaps of at most `maxGapSeconds` (a quiet passage, the caller talking over it): chance hardly ever lands on
    /// one offset of one track. At least `minSeconds` long and `minMatches` pairs in all.
    static let bucketFrames = 64
    static let minPerSecond = 8
    static let maxGapSeconds = 8
    /// Seconds where the track itself is this much (dB) under its level do not count towards a gap: the offset says
    /// what part of the track plays there, and in a fade-out or a loop's silent seam nothing of it is heard.
    static let quietDB = -20.0
    /// An offset's pairs are taken with those `offsetSpread` bins either side: the frames of call and track fall
    /// differently on the music, and each loop of a track shifts the offset by the loop's rounding.
    static let offsetSpread = 2
    static let minSeconds = 3
    static let minMatches = 40
    /// Segments of one track closer than this are one segment (the music restarted, or a drowned moment).
    static let mergeGap = 2.0
    /// A stretch's ends are taken from the pairs at its offset, not from its seconds: pairs up to `edgeReach`
    /// frames outside its first and last second count (the music starts or stops inside a second that has too few
    /// pairs to extend a stretch). Pairs more than `edgeGap` frames from the rest of the stretch are their own
    /// cluster, and a cluster at either end with fewer than `edgeCluster` pairs is dropped: chance hits the offset
    /// once or twice in the seconds bridged after the music, the music itself gives many more.
    static let edgeReach: Int32 = 192
    static let edgeGap: Int32 = 96
    static let edgeCluster = 6
    /// A match is kept as its anchor frame shifted left by this many bits, with the pair's frame distance (below
    /// `pairFrames` < 64) in the low bits: a stretch starts at its pairs' earliest second peak.
    static let dtBits: Int32 = 6


    /// Spectral peaks (frame, bin) of mono 8 kHz samples, frame by frame, computed over a sliding band of frames
    /// so that memory does not grow with the call.
    static func peaks(_ samples: [Float]) -> (peaks: [(t: Int32, f: Int16)], frames: Int) {
        let count = samples.count >= frameLength ? 1 + (samples.count - frameLength) / hop : 0
        guard count > 0, let cfg = kiss_fftr_alloc(Int32(frameLength), 0, nil, nil) else { return ([], 0) }
        defer { free(UnsafeMutableRawPointer(cfg)) }
        let bins = highBin - lowBin + 1
        let span = 2 * neighbourhood + 1
        // A ring of the last `span` frames' log power.
        var ring = [Float](repeating: -200, count: span * bins)
        var means = [Float](repeating: 0, count: span)
        var frame = [Float](repeating: 0, count: frameLength)
        var spectrum = [kiss_fft_cpx](repeating: kiss_fft_cpx(), count: frameLength / 2 + 1)
        var out: [(t: Int32, f: Int16)] = []
        out.reserveCapacity(count * peaksPerFrame)
        var candidates: [(v: Float, f: Int)] = []
        samples.withUnsafeBufferPointer { s in
            for t in 0..<(count + neighbourhood) {
                let slot = t % span
                if t < count {
                    let start = t * hop
                    for i in 0..<frameLength { frame[i] = s[start + i] * window[i] }
                    kiss_fftr(cfg, frame, &spectrum)
                    var sum: Float = 0
                    for k in 0..<bins {
                        let c = spectrum[k + lowBin]
                        let v = 10 * log10(c.r * c.r + c.i * c.i + 1e-10)
                        ring[slot * bins + k] = v
                        sum += v
                    }
                    means[slot] = sum / Float(bins)
                } else {
                    for k in 0..<bins { ring[slot * bins + k] = -200 }
                }
                // The frame `neighbourhood` back now has all its neighbours.
                let c = t - neighbourhood
                guard c >= 0 else { continue }
                let cs = c % span
                candidates.removeAll(keepingCapacity: true)
                let floor = means[cs] + prominence
                for k in 0..<bins {
                    let v = ring[cs * bins + k]
                    guard v >= floor else { continue }
                    var isPeak = true
                    search: for dt in 0..<span {
                        let row = dt * bins
                        for dk in max(0, k - neighbourhood)...min(bins - 1, k + neighbourhood) where ring[row + dk] > v {
                            isPeak = false
                            break search
                        }
                    }
                    if isPeak { candidates.append((v, k)) }
                }
                if candidates.count > peaksPerFrame { candidates.sort { $0.v > $1.v }; candidates.removeLast(candidates.count - peaksPerFrame) }
                for p in candidates { out.append((Int32(c), Int16(p.f))) }
            }
        }
        return (out, count)
    }

    /// Every anchor peak with up to `fanOut` later peaks near it, as (hash, anchor frame).
    static func pairs(_ peaks: [(t: Int32, f: Int16)], _ body: (UInt32, Int32) -> Void) {
        for i in peaks.indices {
            let a = peaks[i]
            var made = 0
            var j = i + 1
            while j < peaks.count && made < fanOut {
                let b = peaks[j]
                let dt = Int(b.t - a.t)
                if dt > pairFrames { break }
                let df = Int(b.f) - Int(a.f)
                if dt >= 1 && abs(df) <= pairBins {
                    body(UInt32(a.f) << 13 | UInt32(df + 64) << 6 | UInt32(dt), a.t)
                    made += 1
                }
                j += 1
            }
        }
    }

    /// Every segment of `pcm` (8 kHz) where one of `tracks` plays, on any channel, in time order.
    public static func find(_ pcm: PCM, tracks: [HoldTrackFingerprint]) -> [HoldSegment] {
        precondition(pcm.sampleRate == rate)
        let usable = tracks.filter { $0.frames > 0 && !$0.postings.isEmpty }
        guard !usable.isEmpty else { return [] }
        var found: [(segment: HoldSegment, matches: Int)] = []
        for samples in pcm.channels {
            let (peaks, _) = Self.peaks(samples)
            // Per track, the call frames of the pairs matching at each offset bin (offset = track − call, modulo
            // the track's length: a looping track keeps its offset).
            var byOffset = [[Int: [Int32]]](repeating: [:], count: usable.count)
            // Anchor frames fit next to their pair's distance up to 2^25 frames (149 hours).
            precondition(samples.count / hop < 1 << (31 - Int(dtBits)))
            pairs(peaks) { hash, tc in
                let match = tc << dtBits | Int32(hash & (1 << dtBits - 1))
                for (k, track) in usable.enumerated() {
                    guard let list = track.postings[hash], list.count <= commonPosting else { continue }
                    let length = Int32(track.period)
                    for tt in list {
                        let offset = ((tt - tc) % length + length) % length
                        byOffset[k][Int(offset) / offsetBin, default: []].append(match)
                    }
                }
            }
            let buckets = max(1, (samples.count / hop) / bucketFrames)
            for (k, track) in usable.enumerated() {
                let binCount = (track.period + offsetBin - 1) / offsetBin
                // Chance's share of one offset (its bins and their neighbours) in one second: a second needs several times that to
                // extend a stretch, and many times that to start one.
                let total = byOffset[k].values.reduce(0) { $0 + $1.count }
                let chance = Double(total) * Double(2 * offsetSpread + 1) / Double(binCount) / Double(buckets)
                let extend = max(2, Int((4 * chance).rounded(.up))), seed = max(minPerSecond, Int((10 * chance).rounded(.up)))
                var used = Set<Int>()
                // Strongest offsets first; each takes its neighbouring bins along.
                for (bin, _) in byOffset[k].sorted(by: { $0.value.count > $1.value.count }) where !used.contains(bin) {
                    var times: [Int32] = []
                    for b in (bin - offsetSpread)...(bin + offsetSpread) {
                        let wrapped = (b + binCount) % binCount
                        guard !used.contains(wrapped), let t = byOffset[k][wrapped] else { continue }
                        used.insert(wrapped)
                        times += t
                    }
                    guard times.count >= minMatches else { continue }
                    times.sort()
                    let offset = bin * offsetBin, quiet = track.quiet
                    let isQuiet = { (b: Int) -> Bool in quiet[((b * bucketFrames + bucketFrames / 2 + offset) % track.period) / bucketFrames] }
                    for run in runs(times, extend: extend, seed: seed, quiet: isQuiet) {
                        // A pair across the music's edge can match with its far peak in the talk around the music
                        // (that peak needs to agree by chance only in frequency, the other peak and the offset are
                        // the music's): a run starts at its earliest second peak and ends with its last anchor.
                        let first = run.reduce(Int32.max) { min($0, ($1 >> dtBits) + ($1 & (1 << dtBits - 1))) }
                        let last = run.last! >> dtBits
                        let (a, b) = refine(samples, track: track, offset: offset + offsetBin / 2, first: Int(first), last: Int(last))
                        let start = Double(a) * hopSeconds, end = Double(b) * hopSeconds + Double(frameLength) / Double(rate)
                        found.append((HoldSegment(startS: start, endS: end, track: track.id), run.count))
                    }
                }
            }
        }
        return merge(found, duration: pcm.seconds)
    }

    /// Per frame of `frames` (frames past the samples' end are silent): the log spectrum's shape over the kept
    /// bins — less its mean over the frames heard, then less its own mean and scaled to unit length, so that the
    /// dot product of two is their correlation — and the frame's level in dB against the frames' mean power.
    /// A frame `silentDB` under that mean is all zeros: digital silence has no shape.
    static func shapes(_ samples: [Float], frames: Range<Int>) -> (shape: [Float], level: [Float]) {
        let bins = highBin - lowBin + 1, n = frames.count
        var shape = [Float](repeating: 0, count: n * bins), level = [Float](repeating: -200, count: n)
        guard n > 0, let cfg = kiss_fftr_alloc(Int32(frameLength), 0, nil, nil) else { return (shape, level) }
        defer { free(UnsafeMutableRawPointer(cfg)) }
        var frame = [Float](repeating: 0, count: frameLength)
        var spectrum = [kiss_fft_cpx](repeating: kiss_fft_cpx(), count: frameLength / 2 + 1)
        var power = [Double](repeating: 0, count: n)
        for (i, t) in frames.enumerated() where t >= 0 && t * hop + frameLength <= samples.count {
            let start = t * hop
            for j in 0..<frameLength { frame[j] = samples[start + j] * window[j] }
            kiss_fftr(cfg, frame, &spectrum)
            var sum: Double = 0
            for k in 0..<bins {
                let c = spectrum[k + lowBin]
                let p = c.r * c.r + c.i * c.i
                sum += Double(p)
                shape[i * bins + k] = 10 * log10(p + 1e-10)
            }
            power[i] = sum / Double(bins)
        }
        let meanPower = power.reduce(0, +) / Double(n)
        guard meanPower > 0 else { return (shape.map { _ in 0 }, level) }
        for i in 0..<n where power[i] > 0 { level[i] = Float(10 * log10(power[i] / meanPower)) }
        let heard = (0..<n).filter { level[$0] > silentDB }
        var mean = [Float](repeating: 0, count: bins)
        for i in heard { for k in 0..<bins { mean[k] += shape[i * bins + k] } }
        for k in 0..<bins { mean[k] /= Float(max(1, heard.count)) }
        for i in 0..<n {
            guard level[i] > silentDB else { for k in 0..<bins { shape[i * bins + k] = 0 }; continue }
            var m: Float = 0
            for k in 0..<bins { shape[i * bins + k] -= mean[k]; m += shape[i * bins + k] }
            m /= Float(bins)
            var norm: Float = 0
            for k in 0..<bins { shape[i * bins + k] -= m; norm += shape[i * bins + k] * shape[i * bins + k] }
            let scale = norm > 1e-6 ? 1 / norm.squareRoot() : 0
            for k in 0..<bins { shape[i * bins + k] *= scale }
        }
        return (shape, level)
    }

    /// A stretch's ends, refined frame by frame: its pairs say the music plays from `first` to `last` (frames) at
    /// `offset` into the track, but pairs need two clear peaks, and talk over the music or line noise hides them
    /// for seconds. With the alignment known, each call frame is compared with the track's frame at that offset;
    /// an end moves outward while windows of frames match the track there clearly better than the same track at
    /// `shuffles` other offsets (music of the track's kind, or speech, matches those as well as the aligned one).
    /// Windows where the track itself is not heard say nothing either way.
    static func refine(_ samples: [Float], track: HoldTrackFingerprint, offset: Int, first: Int, last: Int) -> (Int, Int) {
        let total = samples.count >= frameLength ? 1 + (samples.count - frameLength) / hop : 0
        let start = walk(samples, track: track, offset: offset, edge: first, inward: min(insideFrames, last - first), direction: -1, total: total)
        let end = walk(samples, track: track, offset: offset, edge: last, inward: min(insideFrames, last - first), direction: 1, total: total)
        return (min(first, start), max(last, end))
    }

    /// Frames inside a stretch that fix its alignment at an end; frames outside it that an end may move.
    static let insideFrames = 188
    static let reachFrames = 750
    /// The alignment is searched `alignSpread` frames either side of the stretch's offset (its bin, a loop's drift).
    static let alignSpread = 6
    /// Windows of `windowFrames`, `stepFrames` apart; one matches when its mean correlation at the offset beats the
    /// best of the shuffled offsets' by `margin`; an end stops after `maxMisses` windows in a row that do not.
    static let windowFrames = 32
    static let stepFrames = 16
    static let shuffles = 8
    static let maxMisses = 4
    static let margin: Float = 0.1
    /// A track frame this far (dB) under the track's mean power is not heard; `silentDB`, it has no shape.
    static let heardDB: Float = -30
    static let silentDB: Float = -60

    static func walk(_ samples: [Float], track: HoldTrackFingerprint, offset: Int, edge: Int, inward: Int, direction: Int, total: Int) -> Int {
        let bins = highBin - lowBin + 1, period = track.period
        let lo = direction < 0 ? max(0, edge - reachFrames) : edge - inward
        let hi = direction < 0 ? edge + inward : min(total, edge + reachFrames)
        guard hi - lo > windowFrames, inward > 0 else { return edge }
        let (call, _) = shapes(samples, frames: lo..<hi)
        let index = { (t: Int, o: Int) -> Int? in
            let f = ((t + o) % period + period) % period
            return f < track.frames ? f : nil
        }
        let shape = track.shape
        let score = { (t: Int, o: Int) -> Float in
            guard let f = index(t, o) else { return 0 }
            return call.withUnsafeBufferPointer { c in
                shape.withUnsafeBufferPointer { r in
                    var d: Float = 0
                    let c0 = (t - lo) * bins, r0 = f * bins
                    for k in 0..<bins { d += c[c0 + k] * r[r0 + k] }
                    return d
                }
            }
        }
        let heard = { (t: Int, o: Int) -> Bool in index(t, o).map { track.level[$0] > heardDB } ?? false }
        // The alignment that best explains the frames just inside the edge.
        let inside = direction < 0 ? edge..<(edge + inward) : (edge - inward)..<edge
        var best = offset, bestScore = -Float.infinity
        for o in (offset - alignSpread)...(offset + alignSpread) {
            let v = inside.reduce(Float(0)) { $0 + score($1, o) }
            if v > bestScore { bestScore = v; best = o }
        }
        let shifts = (1...shuffles).map { best + period * $0 / (shuffles + 1) }
        var reached = edge, misses = 0, k = 0
        while misses < maxMisses {
            // The window's frames, from the edge outward.
            let near = edge + direction * k * stepFrames
            let frames = direction < 0 ? (near - windowFrames)..<near : near..<(near + windowFrames)
            guard frames.lowerBound >= lo, frames.upperBound <= hi else { break }
            k += 1
            let audible = frames.filter { heard($0, best) }
            guard audible.count * 2 >= windowFrames else { continue }
            let aligned = audible.reduce(Float(0)) { $0 + score($1, best) } / Float(audible.count)
            let chance = shifts.map { o in audible.reduce(Float(0)) { $0 + score($1, o) } / Float(audible.count) }.max()!
            if aligned - chance > margin {
                // To the window's inner edge: a window across the music's edge can match on its music half alone.
                reached = near
                misses = 0
            } else {
                misses += 1
            }
        }
        return reached
    }

    /// The stretches of sorted matches (anchor frame and pair distance, packed) where the track plays.
    static func runs(_ matches: [Int32], extend: Int, seed: Int, quiet: (Int) -> Bool = { _ in false }) -> [[Int32]] {
        guard let last = matches.last else { return [] }
        let times = matches.map { $0 >> dtBits }
        var counts = [Int](repeating: 0, count: Int(last >> dtBits) / bucketFrames + 1)
        for t in times { counts[Int(t) / bucketFrames] += 1 }
        var out: [[Int32]] = []
        var b = 0
        while b < counts.count {
            guard counts[b] >= extend else { b += 1; continue }
            // A stretch of seconds with `extend` pairs or more, no gap longer than `maxGapSeconds`, and one of them
            // with `seed` or more.
            var end = b, k = b + 1, dense = counts[b] >= seed, gap = 0
            while k < counts.count && gap <= maxGapSeconds {
                if counts[k] >= extend { end = k; dense = dense || counts[k] >= seed; gap = 0 } else if !quiet(k) { gap += 1 }
                k += 1
            }
            let lo = Int32(b * bucketFrames) - edgeReach, hi = Int32((end + 1) * bucketFrames) + edgeReach
            var i = lowerBound(times, lo), j = lowerBound(times, hi)
            // Clusters at either end: [i, headEnd) and [tailStart, j) up to a gap of more than `edgeGap`.
            while i < j {
                var e = i + 1
                while e < j && times[e] - times[e - 1] <= edgeGap { e += 1 }
                if e == j || e - i >= edgeCluster { break }
                i = e
            }
            while j > i {
                var s = j - 1
                while s > i && times[s] - times[s - 1] <= edgeGap { s -= 1 }
                if s == i || j - s >= edgeCluster { break }
                j = s
            }
            if dense && j - i >= minMatches && Double(times[j - 1] - times[i]) * hopSeconds >= Double(minSeconds) {
                out.append(Array(matches[i..<j]))
            }
            b = end + 1
        }
        return out
    }

    /// The first index of sorted `values` whose value is `value` or more.
    static func lowerBound(_ values: [Int32], _ value: Int32) -> Int {
        var lo = 0, hi = values.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if values[mid] < value { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    /// One segment per stretch: a track's segments that overlap or nearly touch become one; where two tracks
    /// overlap, the one with more matching pairs keeps the overlap.
    static func merge(_ found: [(segment: HoldSegment, matches: Int)], duration: Double) -> [HoldSegment] {
        var items = found.sorted { $0.segment.startS < $1.segment.startS }
        var merged: [(segment: HoldSegment, matches: Int)] = []
        while !items.isEmpty {
            var cur = items.removeFirst()
            var i = 0
            while i < items.count {
                let next = items[i]
                if next.segment.startS <= cur.segment.endS + mergeGap && (next.segment.track == cur.segment.track || next.segment.startS < cur.segment.endS) {
                    if next.segment.track != cur.segment.track && next.matches > cur.matches { cur.segment.track = next.segment.track }
                    cur.segment.endS = max(cur.segment.endS, next.segment.endS)
                    cur.matches += next.matches
                    items.remove(at: i)
                    i = 0
                } else {
                    i += 1
                }
            }
            merged.append(cur)
        }
        return merged.map {
            HoldSegment(startS: (max(0, $0.segment.startS) * 10).rounded() / 10, endS: (min(duration, $0.segment.endS) * 10).rounded() / 10, track: $0.segment.track)
        }.sorted { $0.startS < $1.startS }
    }
}
