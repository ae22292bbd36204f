// Settling and pairing for the daemon (SPEC §2): which files are finished, which pairs are ready,
// which halves waited too long, which inputs wait because the vault cannot read them. Pure state: the
// watcher feeds observations and the clock.
import CallVaultCore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// How a file came to be known finished by the writer.
public enum ArrivalEvidence: Sendable {
    /// Renamed into the inbox (IN_MOVED_TO): complete the moment it appears.
    case renamedIn
    /// Closed after writing (IN_CLOSE_WRITE): complete once it then stays unchanged for `settle` (a writer may
    /// reopen it to append the next chunk).
    case closedAfterWrite
}

/// One file the daemon has seen in an inbox.
struct TrackedFile {
    var size: Int64
    var mtime: Double
    /// When (size, mtime) last changed, the file was last written or closed, or first seen.
    var changedAt: Date
    var evidence: ArrivalEvidence?
    var evidenceAt: Date?
    /// When the file was first found settled.
    var settledAt: Date?
    /// Written to (IN_MODIFY) and not closed since: a writer still holds it open, however long it pauses.
    var writtenSinceClose = false
}

/// What one scan of the inboxes found (`InboxScan.entries`).
public struct InboxListing: Sendable {
    /// Every regular, non-ignored file with a UTF-8 name: size, mtime and the tenant of its first-level folder.
    public var files: [(path: String, size: Int64, mtime: Double, tenant: String?)] = []
    /// Every folder listed (the daemon watches them).
    public var folders: [String] = []
    /// Folders that could not be listed (permission): the folder, the tenant folder it lies in (nil for an
    /// inbox itself) and why.
    public var unreadableFolders: [(path: String, tenant: String?, reason: String)] = []
    /// Files and folders whose names are not valid UTF-8: a key that tells them apart (the folder and the
    /// name's bytes in hex, never shown) and the tenant folder they lie in.
    public var invalidNames: [(key: String, tenant: String?)] = []

    public init() {}
}

/// Tracks inbox files from scans and watch events and says what to ingest.
public struct InboxTracker: Sendable {
    /// After its last write or close, a file must stay unchanged this long to be settled (a writer may reopen
    /// it to append); in polling mode, the only rule. A rename-in is complete at once.
    public var settle: TimeInterval
    /// A settled half without its partner for this long is rejected as sidecar_missing / audio_missing.
    public var pairTimeout: TimeInterval

    var files: [String: TrackedFile] = [:]
    var defaultTenants: [String: String] = [:]
    var lastScanAt: Date?
    /// Pairs (by folder/base name) the vault user could not read: not tried again before this instant, unless
    /// one of their files changes (chmod, chown, a write) first.
    var unreadableUntil: [String: Date] = [:]

    public init(settle: TimeInterval, pairTimeout: TimeInterval) {
        self.settle = settle
        self.pairTimeout = pairTimeout
    }

    /// Files tracked and not yet handed out.
    public var backlog: Int { files.count }

    /// Pairs waiting because the vault user cannot read them.
    public var unreadableWaiting: Int { unreadableUntil.count }

    /// Tracked files other than those waiting out an unreadable pair: files that may settle at any moment.
    public var inProgress: Int {
        unreadableUntil.isEmpty ? files.count : files.keys.filter { unreadableUntil[Self.pairKey($0)] == nil }.count
    }

    /// The pair a file belongs to: its folder and base name.
    static func pairKey(_ path: String) -> String {
        let url = URL(fileURLWithPath: path)
        return url.deletingLastPathComponent().path + "/" + InboxScan.split(url.lastPathComponent).0
    }

    /// Something about `path` changed: an unreadable pair it belongs to is worth trying again at once.
    mutating func wakeUnreadable(_ path: String, at now: Date) {
        let key = Self.pairKey(path)
        if let until = unreadableUntil[key], until > now { unreadableUntil[key] = now }
    }

    /// A watch event for `path`.
    public mutating func note(_ evidence: ArrivalEvidence, path: String, at now: Date) {
        wakeUnreadable(path, at: now)
        if var f = files[path] {
            f.evidence = evidence
            f.evidenceAt = now
            f.settledAt = nil
            switch evidence {
            case .closedAfterWrite:
                // The settle period counts from the close: a writer that reopens to append is not done.
                f.changedAt = now
                f.writtenSinceClose = false
            case .renamedIn:
                // A new file under a known name: its size and mtime are those of the next scan, not a change.
                f.size = -1
                f.mtime = -1
                f.writtenSinceClose = false
            }
            files[path] = f
        } else {
            // The scan will fill in size and mtime; keep the evidence.
            files[path] = TrackedFile(size: -1, mtime: -1, changedAt: now, evidence: evidence, evidenceAt: now, settledAt: nil)
        }
    }

    /// A write to `path` (after any close or rename we saw): it is not finished until a new close.
    public mutating func noteModified(path: String, at now: Date) {
        wakeUnreadable(path, at: now)
        guard var f = files[path] else {
            // Written before any scan saw it: the scan fills in size and mtime; the open writer is remembered.
            files[path] = TrackedFile(size: -1, mtime: -1, changedAt: now, evidence: nil, evidenceAt: nil, settledAt: nil, writtenSinceClose: true)
            return
        }
        f.evidence = nil
        f.evidenceAt = nil
        f.changedAt = now
        f.settledAt = nil
        f.writtenSinceClose = true
        files[path] = f
    }

    /// The watch lost events (IN_Q_OVERFLOW): a close may have been among them, so open-writer marks are dropped
    /// and those files settle on `settle` unchanged alone, as in polling mode.
    public mutating func forgetOpenWriters() {
        for key in files.keys { files[key]?.writtenSinceClose = false }
    }

    /// Owner or mode of `path` changed (IN_ATTRIB): the content did not, but an input that could not be read
    /// may be readable now.
    public mutating func noteAttributes(path: String, at now: Date) {
        wakeUnreadable(path, at: now)
    }

    /// The result of one scan of the inboxes: every regular, non-ignored file with its size, mtime and
    /// default tenant. Files that disappeared are forgotten; `startup` marks the very first scan, where a file
    /// already older than `settle` counts as settled (it was waiting while the daemon was down).
    public mutating func scanned(_ entries: [(path: String, size: Int64, mtime: Double, tenant: String?)], at now: Date, startup: Bool = false) {
        var seen = Set<String>()
        for e in entries {
            seen.insert(e.path)
            defaultTenants[e.path] = e.tenant
            if var f = files[e.path] {
                if f.size != e.size || f.mtime != e.mtime {
                    if f.size >= 0 { f.changedAt = now; f.settledAt = nil; wakeUnreadable(e.path, at: now) }
                    // A close event older than the previous scan cannot explain this change: the writer opened
                    // the file again and is still writing. Only a new close (or rename) counts.
                    if let at = f.evidenceAt, let last = lastScanAt, at < last {
                        f.evidence = nil
                        f.evidenceAt = nil
                    }
                    f.size = e.size
                    f.mtime = e.mtime
                }
                files[e.path] = f
            } else {
                let age = now.timeIntervalSince1970 - e.mtime
                let changedAt = startup && age >= settle ? now.addingTimeInterval(-age) : now
                files[e.path] = TrackedFile(size: e.size, mtime: e.mtime, changedAt: changedAt, evidence: nil, evidenceAt: nil, settledAt: nil)
            }
        }
        for path in files.keys where !seen.contains(path) {
            files[path] = nil
            defaultTenants[path] = nil
        }
        // An unreadable pair whose files are gone (taken away, or stored after a retry) no longer waits.
        let present = Set(files.keys.map(Self.pairKey))
        unreadableUntil = unreadableUntil.filter { present.contains($0.key) }
        lastScanAt = now
    }

    func isSettled(_ path: String, _ f: TrackedFile, at now: Date) -> Bool {
        guard f.size >= 0 else { return false }
        if let until = unreadableUntil[Self.pairKey(path)], until > now { return false }
        // Complete on arrival by rename, unless it changed after the rename (then it is being written in place).
        if f.evidence == .renamedIn, let at = f.evidenceAt, f.changedAt <= at { return true }
        // Written and not closed since: the writer still holds it open (SPEC §2: closed after writing, then
        // unchanged) — however long it pauses. The kernel closes it for a writer that dies.
        if f.writtenSinceClose { return false }
        // A close is no proof: writers append in chunks, closing in between. Only `settle` unchanged after the
        // last write or close is (`changedAt` moves with every close, write event and size or mtime change).
        return now.timeIntervalSince(f.changedAt) >= settle
    }

    /// What is ready at `now`: complete pairs (both halves settled) and halves alone past the pair timeout.
    /// Returned files are no longer tracked; if they are still there at the next scan (a vault failure left
    /// them), they are tracked again from scratch and settle again.
    public mutating func take(at now: Date) -> (pairs: [(InputPair, settledAt: Date)], lone: [InputPair]) {
        var groups: [String: (audio: String?, sidecar: String?, dir: String, base: String)] = [:]
        // Names with a half still being written: the other half is not alone, it waits (no pair timeout).
        var unsettled = Set<String>()
        for (path, f) in files where !isSettled(path, f, at: now) {
            unsettled.insert(Self.pairKey(path))
        }
        for (path, var f) in files {
            guard isSettled(path, f, at: now) else { continue }
            if f.settledAt == nil { f.settledAt = now; files[path] = f }
            let url = URL(fileURLWithPath: path)
            let dir = url.deletingLastPathComponent().path
            let (base, ext) = InboxScan.split(url.lastPathComponent)
            var g = groups[dir + "/" + base] ?? (nil, nil, dir, base)
            if ext.lowercased() == "json" { g.sidecar = path } else if g.audio == nil || path < g.audio! { g.audio = path }
            groups[dir + "/" + base] = g
        }
        var pairs: [(InputPair, Date)] = []
        var lone: [InputPair] = []
        for (_, g) in groups.sorted(by: { $0.key < $1.key }) {
            let any = g.audio ?? g.sidecar!
            let pair = InputPair(directory: g.dir, baseName: g.base, audio: g.audio, sidecar: g.sidecar, defaultTenant: defaultTenants[any] ?? nil)
            if g.audio != nil, g.sidecar != nil {
                let settled = max(files[g.audio!]!.settledAt!, files[g.sidecar!]!.settledAt!)
                pairs.append((pair, settled))
                files[g.audio!] = nil
                files[g.sidecar!] = nil
            } else if !unsettled.contains(g.dir + "/" + g.base), let at = files[any]?.settledAt, now.timeIntervalSince(at) >= pairTimeout {
                lone.append(pair)
                files[any] = nil
            }
        }
        return (pairs, lone)
    }

    /// Puts back the files of pairs that could not be ingested (a vault failure left them in the inbox), as
    /// settled: they were complete before and are retried as they are.
    public mutating func requeue(_ pairs: [InputPair], at now: Date) {
        for pair in pairs {
            for path in [pair.audio, pair.sidecar].compactMap({ $0 }) {
                var st = stat()
                guard lstat(path, &st) == 0 else { continue }
                let mtime = Double(st.st_mtim.tv_sec) + Double(st.st_mtim.tv_nsec) / 1e9
                files[path] = TrackedFile(size: Int64(st.st_size), mtime: mtime, changedAt: now.addingTimeInterval(-settle),
                                          evidence: .renamedIn, evidenceAt: now, settledAt: now)
                defaultTenants[path] = pair.defaultTenant
            }
        }
    }

    /// Puts back a pair the vault user could not read (left in place by ingest), to be tried again at `retryAt`
    /// or as soon as one of its files changes. Returns true the first time the pair is reported unreadable
    /// (false while it keeps waiting), so that it is logged once, not once a minute.
    @discardableResult
    public mutating func deferUnreadable(_ pair: InputPair, until retryAt: Date, at now: Date) -> Bool {
        let key = pair.directory + "/" + pair.baseName
        let first = unreadableUntil[key] == nil
        requeue([pair], at: now)
        if pair.audio == nil || pair.sidecar == nil, let path = pair.audio ?? pair.sidecar {
            // A half already past its pair timeout stays past it: on retry it is resolved at once.
            files[path]?.settledAt = now.addingTimeInterval(-pairTimeout)
        }
        unreadableUntil[key] = retryAt
        return first
    }
}
