// A call's waveform: per channel, the lowest and highest sample of each of N equal slices of the call,
// computed while the audio is decoded anyway (ingest) and drawn as a standalone SVG.
import CSndFile
import CallVaultCore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Per-channel peaks: for each channel and bucket, the (min, max) sample scaled to Int8 (the high byte of the
/// 16-bit sample). `peaks` is channel-major — channel c, bucket b: min at `2 * (c * buckets + b)`, max right
/// after — which is also the layout of the catalog's `waveforms.peaks` blob.
public struct WaveformPeaks: Sendable, Equatable {
    /// Buckets per channel: one per pixel of a wide player, 2 kB per channel in the catalog.
    public static let defaultBuckets = 1000
    /// Lanes drawn at most: a file may claim up to 1024 channels; a picture of more lanes than this is no picture.
    public static let maxChannels = 16

    public let channels: Int
    public let buckets: Int
    public let peaks: [Int8]

    /// Nil when the sizes do not fit together (a damaged catalog blob), never a crash.
    public init?(channels: Int, buckets: Int, peaks: [Int8]) {
        guard (1...Self.maxChannels).contains(channels), (1...100_000).contains(buckets),
              peaks.count == channels * buckets * 2 else { return nil }
        self.channels = channels
        self.buckets = buckets
        self.peaks = peaks
    }

    public func min(channel: Int, bucket: Int) -> Int8 { peaks[2 * (channel * buckets + bucket)] }
    public func max(channel: Int, bucket: Int) -> Int8 { peaks[2 * (channel * buckets + bucket) + 1] }

    /// Decodes the whole file open on `fd` (from its start, through one fixed buffer: memory stays flat) and
    /// returns its peaks: the waveform of a recording stored before waveforms were kept.
    public static func compute(fd: Int32, buckets: Int = defaultBuckets) throws -> WaveformPeaks {
        guard lseek(fd, 0, SEEK_SET) == 0 else { throw VaultError.failure("cannot read the stored audio from its start") }
        var info = SF_INFO()
        guard let sf = sf_open_fd(fd, Int32(SFM_READ), &info, 0) else {
            throw VaultError.failure("cannot decode the stored audio: libsndfile refused it")
        }
        defer { sf_close(sf) }
        guard info.channels > 0 else { throw VaultError.failure("cannot decode the stored audio: no channels") }
        _ = sf_command(sf, Int32(SFC_SET_CLIPPING), nil, Int32(SF_TRUE))
        let channels = Int(info.channels)
        var accumulator = WaveformAccumulator(channels: channels, buckets: buckets, expectedFrames: info.frames)
        let chunk = Swift.max(1, 65_536 / channels)
        var buffer = [Int16](repeating: 0, count: chunk * channels)
        while true {
            let n = buffer.withUnsafeMutableBufferPointer { sf_readf_short(sf, $0.baseAddress, sf_count_t(chunk)) }
            if n <= 0 { break }
            buffer.withUnsafeBufferPointer { accumulator.add($0, frames: Int(n)) }
        }
        return accumulator.peaks()
    }
}

/// Collects peaks from interleaved 16-bit frames as a decoder delivers them, without knowing the length in
/// advance (a header's frame count may be a lie or an estimate): it keeps 8–16 fine bins per bucket, and when
/// they fill up, merges neighbours and doubles the frames per bin. Memory is fixed (a few kB per channel);
/// the per-sample work is one min and one max.
public struct WaveformAccumulator {
    let channels: Int
    /// Channels drawn (the first `maxChannels`).
    let kept: Int
    let buckets: Int
    let capacity: Int
    var framesPerBin = 1
    var bins = 0
    var filled = 0
    /// Bin-major: bin i, channel c at `i * kept + c`.
    var lows: [Int16]
    var highs: [Int16]

    /// `expectedFrames`: the header's frame count when it gives one. Bins then start at the size the doubling
    /// would reach for that length (a power of two, so the peaks are the same as without it), which saves the
    /// merges and lets the min/max run over long stretches; a wrong count only changes how soon bins double.
    public init(channels: Int, buckets: Int = WaveformPeaks.defaultBuckets, expectedFrames: Int64? = nil) {
        self.channels = Swift.max(1, channels)
        self.kept = Swift.min(self.channels, WaveformPeaks.maxChannels)
        self.buckets = Swift.max(1, buckets)
        self.capacity = 16 * self.buckets
        lows = [Int16](repeating: .max, count: capacity * kept)
        highs = [Int16](repeating: .min, count: capacity * kept)
        if let expected = expectedFrames, expected > 0, expected < 1 << 40 {
            while (expected + Int64(framesPerBin) - 1) / Int64(framesPerBin) > Int64(capacity) { framesPerBin *= 2 }
        }
    }

    /// Adds `frames` interleaved frames of `channels` samples each from the start of `samples`.
    public mutating func add(_ samples: UnsafeBufferPointer<Int16>, frames: Int) {
        precondition(frames * channels <= samples.count)
        guard frames > 0, let base = samples.baseAddress else { return }
        let (channels, kept, capacity) = (self.channels, self.kept, self.capacity)
        var (bins, filled, framesPerBin) = (self.bins, self.filled, self.framesPerBin)
        lows.withUnsafeMutableBufferPointer { lo in
            highs.withUnsafeMutableBufferPointer { hi in
                var i = 0
                while i < frames {
                    if bins == 0 || filled == framesPerBin {
                        if bins == capacity {
                            Self.mergePairs(lo, hi, bins: bins, kept: kept)
                            bins /= 2
                            framesPerBin *= 2
                        }
                        bins += 1
                        filled = 0
                    }
                    let take = Swift.min(framesPerBin - filled, frames - i)
                    let bin = (bins - 1) * kept
                    if channels <= 2 {
                        Self.extendContiguous(lo, hi, bin: bin, base + i * channels, frames: take, channels: channels)
                    } else {
                        for c in 0..<kept {
                            var l = lo[bin + c], h = hi[bin + c]
                            var p = base + (i * channels + c)
                            for _ in 0..<take {
                                let s = p.pointee
                                l = Swift.min(l, s)
                                h = Swift.max(h, s)
                                p += channels
                            }
                            lo[bin + c] = l
                            hi[bin + c] = h
                        }
                    }
                    filled += take
                    i += take
                }
            }
        }
        (self.bins, self.filled, self.framesPerBin) = (bins, filled, framesPerBin)
    }

    /// Min and max of a run of mono or stereo frames into one bin: plain loops over contiguous memory with the
    /// channel count known, which the compiler turns into vector min/max (telephony is mono or stereo).
    static func extendContiguous(_ lo: UnsafeMutableBufferPointer<Int16>, _ hi: UnsafeMutableBufferPointer<Int16>, bin: Int,
                                 _ p: UnsafePointer<Int16>, frames: Int, channels: Int) {
        if channels == 1 {
            var l = lo[bin], h = hi[bin]
            for k in 0..<frames {
                l = Swift.min(l, p[k])
                h = Swift.max(h, p[k])
            }
            lo[bin] = l
            hi[bin] = h
        } else {
            var l0 = lo[bin], h0 = hi[bin], l1 = lo[bin + 1], h1 = hi[bin + 1]
            for k in 0..<frames {
                l0 = Swift.min(l0, p[2 * k])
                h0 = Swift.max(h0, p[2 * k])
                l1 = Swift.min(l1, p[2 * k + 1])
                h1 = Swift.max(h1, p[2 * k + 1])
            }
            lo[bin] = l0; hi[bin] = h0; lo[bin + 1] = l1; hi[bin + 1] = h1
        }
    }

    /// Merges neighbouring bins (all `bins` are full, `bins` is even): bin j becomes bins 2j and 2j+1; the upper
    /// half is emptied for the bins to come.
    static func mergePairs(_ lo: UnsafeMutableBufferPointer<Int16>, _ hi: UnsafeMutableBufferPointer<Int16>, bins: Int, kept: Int) {
        let half = bins / 2
        for j in 0..<half {
            for c in 0..<kept {
                let a = 2 * j * kept + c, b = (2 * j + 1) * kept + c
                lo[j * kept + c] = Swift.min(lo[a], lo[b])
                hi[j * kept + c] = Swift.max(hi[a], hi[b])
            }
        }
        for k in (half * kept)..<(bins * kept) { lo[k] = .max; hi[k] = .min }
    }

    /// The peaks of everything added: each bucket takes the bins that cover its share of the call (all zero when
    /// nothing was added; a call shorter than the bucket count repeats its frames).
    public func peaks() -> WaveformPeaks {
        var out = [Int8](repeating: 0, count: kept * buckets * 2)
        if bins > 0 {
            for c in 0..<kept {
                for b in 0..<buckets {
                    let first = b * bins / buckets
                    let end = Swift.max(first + 1, (b + 1) * bins / buckets)
                    var l = Int16.max, h = Int16.min
                    for k in first..<end {
                        l = Swift.min(l, lows[k * kept + c])
                        h = Swift.max(h, highs[k * kept + c])
                    }
                    out[2 * (c * buckets + b)] = Int8(truncatingIfNeeded: Int(l) >> 8)
                    out[2 * (c * buckets + b) + 1] = Int8(truncatingIfNeeded: Int(h) >> 8)
                }
            }
        }
        return WaveformPeaks(channels: kept, buckets: buckets, peaks: out)!
    }
}

extension WaveformPeaks {
    /// The waveform as a standalone SVG document: one lane per channel, each a filled envelope around its centre
    /// line. No script, no style attribute or element, no external reference — it can be inlined in a page under
    /// `default-src 'self'` or served as `image/svg+xml`. Quiet calls are scaled up (at most 8×) so speech shows.
    public func svg(width: Int, height: Int) -> String {
        let w = Swift.min(Swift.max(width, 16), 10_000)
        let h = Swift.min(Swift.max(height, 8 * channels), 10_000)
        let lane = Double(h) / Double(channels)
        let loudest = peaks.reduce(1) { Swift.max($0, abs(Int($1))) }
        let gain = Swift.min(128.0 / Double(loudest), 8)
        let half = lane / 2 - 1
        func f(_ v: Double) -> String { String(format: "%.1f", v) }
        var svg = #"<svg xmlns="http://www.w3.org/2000/svg" width="\#(w)" height="\#(h)" viewBox="0 0 \#(w) \#(h)" "#
            + #"preserveAspectRatio="none" role="img" aria-label="Waveform of \#(channels) channel\#(channels == 1 ? "" : "s")">"#
        svg += "<title>Waveform</title>"
        for c in 0..<channels {
            let centre = lane * (Double(c) + 0.5)
            var top: [String] = [], bottom: [String] = []
            top.reserveCapacity(buckets)
            bottom.reserveCapacity(buckets)
            for b in 0..<buckets {
                let x = (Double(b) + 0.5) * Double(w) / Double(buckets)
                var y1 = centre - Double(max(channel: c, bucket: b)) / 128 * gain * half
                var y2 = centre - Double(min(channel: c, bucket: b)) / 128 * gain * half
                if y2 - y1 < 1 { let mid = (y1 + y2) / 2; y1 = mid - 0.5; y2 = mid + 0.5 }
                top.append(f(x) + "," + f(Swift.max(y1, centre - lane / 2)))
                bottom.append(f(x) + "," + f(Swift.min(y2, centre + lane / 2)))
            }
            svg += #"<g class="waveform-lane" data-channel="\#(c + 1)"><title>Channel \#(c + 1)</title>"#
            svg += ##"<line x1="0" y1="\##(f(centre))" x2="\##(w)" y2="\##(f(centre))" stroke="#c8d1dc" stroke-width="1"/>"##
            svg += ##"<path fill="#2f6690" d="M"## + top.joined(separator: " L") + " L" + bottom.reversed().joined(separator: " L") + #" Z"/>"#
            if c > 0 {
                svg += ##"<line x1="0" y1="\##(f(lane * Double(c)))" x2="\##(w)" y2="\##(f(lane * Double(c)))" stroke="#8a96a3" stroke-width="1"/>"##
            }
            svg += "</g>"
        }
        return svg + "</svg>"
    }
}
