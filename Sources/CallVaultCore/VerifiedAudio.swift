// The bytes of a stored recording as they were checked at ingest: every way out of the vault (playback, a
// download, an access bundle, evidence) reads through `VerifiedAudio`, which hands out no byte of a segment
// whose SHA-256 is not the one taken when the copy was staged.
import Crypto
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The SHA-256 of each 1 MiB segment of a stored audio file, taken at ingest over the staged bytes: a Range
/// request is checked by hashing the segments it covers, never the whole file.
public struct SegmentDigests: Sendable, Equatable {
    public static let segmentBytes = 1 << 20
    /// 32 bytes per segment, in order; the last segment may be short.
    public let digests: [[UInt8]]

    public init(digests: [[UInt8]]) { self.digests = digests }

    /// The catalog's form: `sha256/1048576:` then 64 hex digits per segment.
    public var text: String { "sha256/\(Self.segmentBytes):" + digests.map(Hex.encode).joined() }

    /// Reads the catalog's form; nil for anything else (a row of another segment size is checked whole).
    public init?(text: String) {
        let prefix = "sha256/\(Self.segmentBytes):"
        guard text.hasPrefix(prefix) else { return nil }
        let hex = Array(text.utf8.dropFirst(prefix.utf8.count))
        guard hex.count % 64 == 0 else { return nil }
        var out: [[UInt8]] = []
        out.reserveCapacity(hex.count / 64)
        for i in stride(from: 0, to: hex.count, by: 64) {
            guard let d = Hex.decode(String(decoding: hex[i..<(i + 64)], as: UTF8.self)), d.count == 32 else { return nil }
            out.append(d)
        }
        digests = out
    }

    /// How many segments a file of `size` bytes has.
    public static func count(size: Int64) -> Int { Int((size + Int64(segmentBytes) - 1) / Int64(segmentBytes)) }

    /// Hashes bytes as they stream past, whatever the sizes of the pieces, into per-segment digests.
    public struct Accumulator {
        var hasher = SHA256()
        var inSegment = 0
        var done: [[UInt8]] = []

        public init() {}

        public mutating func update(_ bytes: UnsafeRawBufferPointer) {
            var rest = bytes
            while !rest.isEmpty {
                let take = Swift.min(rest.count, SegmentDigests.segmentBytes - inSegment)
                hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: rest[0..<take]))
                inSegment += take
                rest = UnsafeRawBufferPointer(rebasing: rest[take...])
                if inSegment == SegmentDigests.segmentBytes {
                    done.append(Array(hasher.finalize()))
                    hasher = SHA256()
                    inSegment = 0
                }
            }
        }

        public func finish() -> SegmentDigests {
            var all = done
            if inSegment > 0 { all.append(Array(hasher.finalize())) }
            return SegmentDigests(digests: all)
        }
    }
}

/// The stored file no longer holds what was checked at ingest: nothing of it is handed out.
public struct AudioAltered: Error, Sendable, Equatable {
    /// The first segment found altered (nil: the whole-file hash differed, for a row without segment digests).
    public let segment: Int?
}

/// Random-access reads of a stored audio file that return only verified bytes. It owns the descriptor. With
/// segment digests each read checks the segments it touches (the last one verified is kept, so a decoder's
/// small sequential reads hash each segment once); without (rows stored before them) the whole file is hashed
/// against its SHA-256 at the first read. Thread safety: reads are serialised on one lock.
public final class VerifiedAudio: Sendable {
    public let file: OpenFile
    let sha256: String
    let segments: SegmentDigests?
    private let state: Mutex<(index: Int, bytes: [UInt8])?>
    private let wholeChecked = Atomic<Bool>(false)

    public var size: Int64 { file.size }

    /// Takes ownership of `fd`, a regular file of `size` bytes (the size checked at ingest).
    public init(fd: Int32, size: Int64, sha256: String, segments: SegmentDigests?) {
        file = OpenFile(fd: fd, size: size, what: "the stored audio")
        self.sha256 = sha256
        // Digests that do not cover the file exactly cannot be its own: checked whole instead.
        self.segments = segments.flatMap { $0.digests.count == SegmentDigests.count(size: size) ? $0 : nil }
        state = Mutex(nil)
    }

    /// `count` bytes from `offset` (both inside the file), every one of them verified.
    public func read(offset: Int64, count: Int) throws -> [UInt8] {
        guard count > 0 else { return [] }
        guard offset >= 0, offset <= file.size - Int64(count) else {
            throw VaultError(.usage, "read of \(count) bytes at \(offset) is outside the \(file.size) bytes of the audio")
        }
        guard let segments else {
            try verifyWhole()
            return try file.read(offset: offset, count: count)
        }
        let size = Int64(SegmentDigests.segmentBytes)
        var out: [UInt8] = []
        out.reserveCapacity(count)
        var at = offset
        let end = offset + Int64(count)
        while at < end {
            let index = Int(at / size)
            let segment = try self.segment(index, segments)
            let lo = Int(at - Int64(index) * size)
            let hi = Int(Swift.min(end - Int64(index) * size, Int64(segment.count)))
            out += segment[lo..<hi]
            at += Int64(hi - lo)
        }
        return out
    }

    /// Checks every byte of the file (before a whole download is announced as sent).
    public func verifyAll() throws {
        guard let segments else { return try verifyWhole() }
        for i in 0..<segments.digests.count { _ = try segment(i, segments) }
    }

    func segment(_ index: Int, _ segments: SegmentDigests) throws -> [UInt8] {
        try state.withLock { cached in
            if let cached, cached.index == index { return cached.bytes }
            let start = Int64(index) * Int64(SegmentDigests.segmentBytes)
            let n = Int(Swift.min(Int64(SegmentDigests.segmentBytes), file.size - start))
            let bytes = try file.read(offset: start, count: n)
            guard Array(SHA256.hash(data: bytes)) == segments.digests[index] else { throw AudioAltered(segment: index) }
            cached = (index, bytes)
            return bytes
        }
    }

    func verifyWhole() throws {
        if wholeChecked.load(ordering: .acquiring) { return }
        var hasher = SHA256()
        var at: Int64 = 0
        while at < file.size {
            let n = Int(Swift.min(Int64(1 << 20), file.size - at))
            let part = try file.read(offset: at, count: n)
            hasher.update(data: part)
            at += Int64(n)
        }
        guard Hex.encode(hasher.finalize()) == sha256 else { throw AudioAltered(segment: nil) }
        wholeChecked.store(true, ordering: .releasing)
    }
}
