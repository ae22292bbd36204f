// Finding registered music-on-hold tracks inside a call (issue 22, part 2): spectral-peak pairs hashed like an
// audio fingerprint, and a segment only where many pairs agree on one offset into the track — the consistency in
// time that tells the registered track from music of the same style (ANNOUNCEMENT.md, "Hold music").
import CKissFFT
import Foundation

/// A registered track's fingerprint: for each hash of a peak pair, where in the track (frames) its anchor is.
public struct HoldTrackFingerprint: Sendable {
    public var id: String
    /// The track's length in frames: offsets are taken modulo it, so a track that loops keeps its offset.
    public var frames: Int
    var postings: [UInt32: [Int32]]

    public init(id: String, pcm: PCM) {
        self.id = id
        let (peaks, frames) = HoldMusicDetector.peaks(pcm.mono)
        self.frames = frames
        var postings: [UInt32: [Int32]] = [:]
        HoldMusicDetector.pairs(peaks) { hash, t in postings[hash, default: []].append(t) }
        self.postings = postings
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
    static let minSeconds = 3
    static let minMatches = 40
    /// Segments of one track closer than this are one segment (the music restarted, or a drowned moment).
    static let mergeGap = 2.0


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
            pairs(peaks) { hash, tc in
                for (k, track) in usable.enumerated() {
                    guard let list = track.postings[hash], list.count <= commonPosting else { continue }
                    let length = Int32(track.frames)
                    for tt in list {
                        let offset = ((tt - tc) % length + length) % length
                        byOffset[k][Int(offset) / offsetBin, default: []].append(tc)
                    }
                }
            }
            let buckets = max(1, (samples.count / hop) / bucketFrames)
            for (k, track) in usable.enumerated() {
                let binCount = (track.frames + offsetBin - 1) / offsetBin
                // Chance's share of one offset (three bins) in one second: a second needs several times that to
                // extend a stretch, and many times that to start one.
                let total = byOffset[k].values.reduce(0) { $0 + $1.count }
                let chance = Double(total) * 3 / Double(binCount) / Double(buckets)
                let extend = max(2, Int((4 * chance).rounded(.up))), seed = max(minPerSecond, Int((10 * chance).rounded(.up)))
                var used = Set<Int>()
                // Strongest offsets first; each takes its neighbouring bins along (an offset on a bin's edge).
                for (bin, _) in byOffset[k].sorted(by: { $0.value.count > $1.value.count }) where !used.contains(bin) {
                    var times: [Int32] = []
                    for b in [bin - 1, bin, bin + 1] {
                        let wrapped = (b + binCount) % binCount
                        guard !used.contains(wrapped), let t = byOffset[k][wrapped] else { continue }
                        used.insert(wrapped)
                        times += t
                    }
                    guard times.count >= minMatches else { continue }
                    times.sort()
                    for run in runs(times, extend: extend, seed: seed) {
                        let start = Double(run.first!) * hopSeconds, end = Double(run.last!) * hopSeconds
                        // The last pair's anchor is up to `pairFrames` before the music's end.
                        found.append((HoldSegment(startS: start, endS: end + Double(pairFrames) * hopSeconds / 2, track: track.id), run.count))
                    }
                }
            }
        }
        return merge(found, duration: pcm.seconds)
    }

    /// The stretches of sorted match times where the track plays, each from its first match to its last.
    static func runs(_ times: [Int32], extend: Int, seed: Int) -> [[Int32]] {
        guard let last = times.last else { return [] }
        var counts = [Int](repeating: 0, count: Int(last) / bucketFrames + 1)
        for t in times { counts[Int(t) / bucketFrames] += 1 }
        var out: [[Int32]] = []
        var b = 0
        while b < counts.count {
            guard counts[b] >= extend else { b += 1; continue }
            // A stretch of seconds with `extend` pairs or more, no gap longer than `maxGapSeconds`, and one of them
            // with `seed` or more.
            var end = b, k = b + 1, dense = counts[b] >= seed
            while k < counts.count && k - end <= maxGapSeconds + 1 {
                if counts[k] >= extend { end = k; dense = dense || counts[k] >= seed }
                k += 1
            }
            let lo = Int32(b * bucketFrames), hi = Int32((end + 1) * bucketFrames)
            let run = times.filter { $0 >= lo && $0 < hi }
            if dense && run.count >= minMatches && Double(run.last! - run.first!) * hopSeconds >= Double(minSeconds) { out.append(run) }
            b = end + 1
        }
        return out
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
