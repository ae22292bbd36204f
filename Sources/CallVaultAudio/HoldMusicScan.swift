// The hold-music check over a whole call of any length: the detector runs on windows of the call that overlap
// (memory holds one window), and a segment that crosses a window's edge is found in both and joined.
import Foundation

public enum HoldMusicScan {
    /// Ten minutes: a hold longer than a window is found in each and joined; the overlap is longer than the
    /// detector needs to start a segment (a few seconds of matches).
    public static let window = 600.0
    public static let overlap = 60.0

    /// Every segment where one of `tracks` plays in the audio open on `fd`, in time order.
    public static func find(fd: Int32, tracks: [HoldTrackFingerprint], window: Double = window, overlap: Double = overlap) throws -> [HoldSegment] {
        var found: [HoldSegment] = []
        try PCMReader.windows(fd: fd, window: window, overlap: overlap, rate: LogMel.rate) { pcm, at in
            for s in HoldMusicDetector.find(pcm, tracks: tracks) {
                found.append(HoldSegment(startS: s.startS + at, endS: s.endS + at, track: s.track))
            }
        }
        return join(found)
    }

    /// Segments that overlap (the same stretch seen from two windows, or named after two tracks of which one
    /// holds the other) become one, as do segments of one track that nearly touch: a stretch is counted once.
    /// The longer of two keeps its track.
    static func join(_ segments: [HoldSegment]) -> [HoldSegment] {
        var out: [HoldSegment] = []
        for s in segments.sorted(by: { $0.startS < $1.startS }) {
            if let last = out.last, s.startS < last.endS || (s.track == last.track && s.startS <= last.endS + 2) {
                if s.endS - s.startS > last.endS - last.startS { out[out.count - 1].track = s.track }
                out[out.count - 1].endS = max(last.endS, s.endS)
            } else {
                out.append(s)
            }
        }
        return out.map { HoldSegment(startS: ($0.startS * 10).rounded() / 10, endS: ($0.endS * 10).rounded() / 10, track: $0.track) }
    }
}
