// Settling and pairing rules of the daemon, driven by a fake clock.
@testable import CallVault
import CallVaultTesting
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

@Suite struct InboxTrackerTests {
    let t0 = Date(timeIntervalSince1970: 1_800_000_000)
    func at(_ s: Double) -> Date { t0.addingTimeInterval(s) }
    func entry(_ path: String, size: Int64, mtime: Double, tenant: String? = nil) -> (path: String, size: Int64, mtime: Double, tenant: String?) {
        (path, size, t0.timeIntervalSince1970 + mtime, tenant)
    }

    @Test func renamedInPairIsReadyAtOnce() {
        var t = InboxTracker(settle: 5, pairTimeout: 600)
        t.note(.renamedIn, path: "/in/a.wav", at: at(0))
        t.note(.renamedIn, path: "/in/a.json", at: at(0))
        t.scanned([entry("/in/a.wav", size: 10, mtime: -1), entry("/in/a.json", size: 2, mtime: -1)], at: at(0.1))
        let r = t.take(at: at(0.1))
        #expect(r.pairs.map(\.0.baseName) == ["a"])
        #expect(t.backlog == 0)
    }

    @Test func closedAfterWriteWaitsForSettle() {
        var t = InboxTracker(settle: 5, pairTimeout: 600)
        t.scanned([entry("/in/a.wav", size: 10, mtime: 0), entry("/in/a.json", size: 2, mtime: 0)], at: at(0))
        t.note(.closedAfterWrite, path: "/in/a.wav", at: at(0))
        t.note(.closedAfterWrite, path: "/in/a.json", at: at(0))
        #expect(t.take(at: at(0.6)).pairs.isEmpty, "a close is no proof the writer is done")
        #expect(t.take(at: at(4.9)).pairs.isEmpty)
        #expect(t.take(at: at(5)).pairs.count == 1)
    }

    @Test func aWriterThatClosesAndReopensToAppendIsTakenWhole() {
        // Chunks a few seconds apart, closing in between (no IN_MODIFY coalescing tricks: every event arrives).
        var t = InboxTracker(settle: 5, pairTimeout: 600)
        t.note(.renamedIn, path: "/in/a.json", at: at(0))
        t.scanned([entry("/in/a.json", size: 2, mtime: 0)], at: at(0))
        for i in 0..<3 {
            let s = Double(i * 3)
            t.noteModified(path: "/in/a.wav", at: at(s))
            t.note(.closedAfterWrite, path: "/in/a.wav", at: at(s))
            t.scanned([entry("/in/a.wav", size: Int64(1000 * (i + 1)), mtime: s), entry("/in/a.json", size: 2, mtime: 0)], at: at(s + 0.05))
            #expect(t.take(at: at(s + 0.6)).pairs.isEmpty, "chunk \(i) closed, more to come")
            #expect(t.take(at: at(s + 2.9)).pairs.isEmpty)
        }
        #expect(t.take(at: at(6 + 4.9)).pairs.isEmpty)
        let r = t.take(at: at(6 + 5.1))
        #expect(r.pairs.count == 1)
        #expect(t.backlog == 0)
    }

    @Test func aFileRenamedOverAKnownNameIsCompleteAtOnce() {
        var t = InboxTracker(settle: 5, pairTimeout: 600)
        t.scanned([entry("/in/a.wav", size: 10, mtime: 0), entry("/in/a.json", size: 2, mtime: 0)], at: at(0))
        t.note(.renamedIn, path: "/in/a.wav", at: at(1))
        t.note(.renamedIn, path: "/in/a.json", at: at(1))
        t.scanned([entry("/in/a.wav", size: 99, mtime: 1), entry("/in/a.json", size: 3, mtime: 1)], at: at(1.05))
        #expect(t.take(at: at(1.1)).pairs.count == 1)
    }

    @Test func aFileWrittenSlowlyInPlaceIsNeverTakenWhileItGrows() {
        var t = InboxTracker(settle: 5, pairTimeout: 600)
        t.note(.renamedIn, path: "/in/a.json", at: at(0))
        for i in 0..<20 {
            // The audio grows every second; no close event yet.
            t.scanned([entry("/in/a.wav", size: Int64(100 * (i + 1)), mtime: Double(i)), entry("/in/a.json", size: 2, mtime: 0)], at: at(Double(i)))
            #expect(t.take(at: at(Double(i))).pairs.isEmpty)
        }
        // Longer than the pair timeout would be, but the audio is present and moving: the sidecar is not alone.
        var long = InboxTracker(settle: 5, pairTimeout: 3)
        long.note(.renamedIn, path: "/in/a.json", at: at(0))
        for i in 0..<10 {
            long.scanned([entry("/in/a.wav", size: Int64(100 * (i + 1)), mtime: Double(i)), entry("/in/a.json", size: 2, mtime: 0)], at: at(Double(i)))
            #expect(long.take(at: at(Double(i))).lone.isEmpty)
        }
        long.note(.closedAfterWrite, path: "/in/a.wav", at: at(10))
        long.scanned([entry("/in/a.wav", size: 1000, mtime: 10), entry("/in/a.json", size: 2, mtime: 0)], at: at(10))
        #expect(long.take(at: at(10.6)).pairs.isEmpty, "settle counts from the close")
        #expect(long.take(at: at(15)).pairs.count == 1)
    }

    @Test func aCloseFollowedByMoreWritingIsNotFinished() {
        var t = InboxTracker(settle: 5, pairTimeout: 600)
        t.note(.renamedIn, path: "/in/a.json", at: at(0))
        // Created empty and closed, then reopened and written in bursts with pauses longer than the quiet time.
        t.note(.closedAfterWrite, path: "/in/a.wav", at: at(0))
        t.scanned([entry("/in/a.wav", size: 0, mtime: 0), entry("/in/a.json", size: 2, mtime: 0)], at: at(0.1))
        for i in 1...4 {
            t.scanned([entry("/in/a.wav", size: Int64(1000 * i), mtime: Double(i)), entry("/in/a.json", size: 2, mtime: 0)], at: at(Double(i)))
            #expect(t.take(at: at(Double(i) + 0.9)).pairs.isEmpty, "still being written at \(i) s")
        }
        t.note(.closedAfterWrite, path: "/in/a.wav", at: at(5))
        t.scanned([entry("/in/a.wav", size: 5000, mtime: 5), entry("/in/a.json", size: 2, mtime: 0)], at: at(5.05))
        #expect(t.take(at: at(5.6)).pairs.isEmpty)
        #expect(t.take(at: at(10.1)).pairs.count == 1)
    }

    @Test func pollingSettlesOnUnchangedSizeAndMtime() {
        var t = InboxTracker(settle: 5, pairTimeout: 600)
        t.scanned([entry("/in/a.wav", size: 10, mtime: 0), entry("/in/a.json", size: 2, mtime: 0)], at: at(0))
        #expect(t.take(at: at(4.9)).pairs.isEmpty)
        t.scanned([entry("/in/a.wav", size: 20, mtime: 4), entry("/in/a.json", size: 2, mtime: 0)], at: at(4.9))
        #expect(t.take(at: at(9.8)).pairs.isEmpty, "it changed at 4.9 s: settle counts again")
        t.scanned([entry("/in/a.wav", size: 20, mtime: 4), entry("/in/a.json", size: 2, mtime: 0)], at: at(9.9))
        #expect(t.take(at: at(9.95)).pairs.count == 1)
    }

    @Test func aHalfAloneIsRejectedAfterThePairTimeout() {
        var t = InboxTracker(settle: 5, pairTimeout: 600)
        t.note(.renamedIn, path: "/in/acme/a.json", at: at(0))
        t.scanned([entry("/in/acme/a.json", size: 2, mtime: 0, tenant: "acme")], at: at(0))
        #expect(t.take(at: at(1)).lone.isEmpty)
        #expect(t.take(at: at(599)).lone.isEmpty)
        let r = t.take(at: at(601))
        #expect(r.lone.map(\.sidecar) == ["/in/acme/a.json"])
        #expect(r.lone.first?.defaultTenant == "acme")
    }

    @Test func filesAlreadyWaitingAtStartupAreSettledWhenOld() {
        var t = InboxTracker(settle: 5, pairTimeout: 600)
        t.scanned([entry("/in/a.wav", size: 10, mtime: -60), entry("/in/a.json", size: 2, mtime: -60),
                   entry("/in/b.wav", size: 10, mtime: -1), entry("/in/b.json", size: 2, mtime: -1)], at: at(0), startup: true)
        #expect(t.take(at: at(0)).pairs.map(\.0.baseName) == ["a"], "b was still being written when the daemon started")
    }

    @Test func vanishedFilesAreForgotten() {
        var t = InboxTracker(settle: 5, pairTimeout: 600)
        t.scanned([entry("/in/a.wav", size: 10, mtime: 0)], at: at(0))
        t.scanned([], at: at(1))
        #expect(t.backlog == 0)
    }

    /// A real pair on disk (deferring an unreadable pair reads size and mtime from the files).
    func pairOnDisk() throws -> (dir: String, pair: InputPair) {
        let dir = NSTemporaryDirectory() + "tracker-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try Data("RIFF".utf8).write(to: URL(fileURLWithPath: dir + "/a.wav"))
        try Data("{}".utf8).write(to: URL(fileURLWithPath: dir + "/a.json"))
        return (dir, InputPair(directory: dir, baseName: "a", audio: dir + "/a.wav", sidecar: dir + "/a.json", defaultTenant: "acme"))
    }

    func onDisk(_ dir: String) -> [(path: String, size: Int64, mtime: Double, tenant: String?)] {
        ["a.wav", "a.json"].map { name in
            var st = stat()
            _ = lstat(dir + "/" + name, &st)
            return (dir + "/" + name, Int64(st.st_size), Double(st.st_mtim.tv_sec) + Double(st.st_mtim.tv_nsec) / 1e9, "acme")
        }
    }

    @Test func anUnreadablePairWaitsForItsRetryOrAChangeAndIsReportedOnce() throws {
        let (dir, pair) = try pairOnDisk()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var t = InboxTracker(settle: 5, pairTimeout: 3)
        let first = t.deferUnreadable(pair, until: at(60), at: at(0))
        #expect(first, "first time: report it")
        t.scanned(onDisk(dir), at: at(1))
        #expect(t.unreadableWaiting == 1)
        #expect(t.inProgress == 0, "nothing to rescan for")
        let waiting = t.take(at: at(30))
        #expect(waiting.pairs.isEmpty && waiting.lone.isEmpty, "neither retried early nor either half called alone")
        // A minute later it is tried again; still unreadable, it waits again without a second report.
        #expect(t.take(at: at(60)).pairs.map(\.0) == [pair])
        let again = t.deferUnreadable(pair, until: at(120), at: at(60))
        #expect(!again, "reported once, not once a minute")
        #expect(t.take(at: at(61)).pairs.isEmpty)
        // chmod (IN_ATTRIB) on either half: tried at once.
        t.noteAttributes(path: pair.sidecar!, at: at(62))
        #expect(t.take(at: at(62)).pairs.map(\.0) == [pair])
        // Stored this time: its files are gone, nothing waits.
        try FileManager.default.removeItem(atPath: dir + "/a.wav")
        try FileManager.default.removeItem(atPath: dir + "/a.json")
        t.scanned([], at: at(63))
        #expect(t.unreadableWaiting == 0)
    }

    @Test func anUnreadablePairThatIsRewrittenSettlesAgain() throws {
        let (dir, pair) = try pairOnDisk()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var t = InboxTracker(settle: 5, pairTimeout: 600)
        t.deferUnreadable(pair, until: at(60), at: at(0))
        t.noteModified(path: pair.audio!, at: at(10))
        #expect(t.take(at: at(14)).pairs.isEmpty, "written again and still open: not settled")
        t.note(.closedAfterWrite, path: pair.audio!, at: at(10))
        #expect(t.take(at: at(12)).pairs.isEmpty, "written again: settle counts from the close")
        #expect(t.take(at: at(15)).pairs.count == 1)
    }

    @Test func anUnreadableHalfAloneIsResolvedAgainAtOnceWhenMadeReadable() throws {
        let (dir, pair) = try pairOnDisk()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.removeItem(atPath: dir + "/a.json")
        let lone = InputPair(directory: pair.directory, baseName: "a", audio: pair.audio, sidecar: nil, defaultTenant: "acme")
        var t = InboxTracker(settle: 5, pairTimeout: 600)
        t.deferUnreadable(lone, until: at(60), at: at(0))
        #expect(t.take(at: at(10)).lone.isEmpty)
        t.noteAttributes(path: lone.audio!, at: at(11))
        #expect(t.take(at: at(11)).lone.map(\.audio) == [lone.audio], "not another pair timeout")
    }
}
