// Settling and pairing for the daemon (SPEC §2): which files are finished, which pairs are ready,
// which halves waited too long. Pure state: the watcher feeds observations and the clock.
import CallVaultCore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// How a file came to be known finished by the writer.
public enum ArrivalEvidence: Sendable {
    /// Renamed into the inbox (IN_MOVED_TO): complete the moment it appears.
    case renamedIn
    /// Closed after writing (IN_CLOSE_WRITE): complete once it then stays unchanged for a moment.
    case closedAfterWrite
}

/// One file the daemon has seen in an inbox.
struct TrackedFile {
    var size: Int64
    var mtime: Double
    /// When (size, mtime) last changed, or the file was first seen.
    var changedAt: Date
    var evidence: ArrivalEvidence?
    var evidenceAt: Date?
    /// When the file was first found settled.
    var settledAt: Date?
}

/// Tracks inbox files from scans and watch events and says what to ingest.
public struct InboxTracker: Sendable {
    /// Unchanged for this long, a file is settled even without a watch event (polling, network shares).
    public var settle: TimeInterval
    /// A settled half without its partner for this long is rejected as sidecar_missing / audio_missing.
    public var pairTimeout: TimeInterval
    /// After a close-after-write event, the file must stay unchanged this long (a writer may reopen it).
    public var quiet: TimeInterval = 0.5

    var files: [String: TrackedFile] = [:]
    var defaultTenants: [String: String] = [:]
    var lastScanAt: Date?

    public init(settle: TimeInterval, pairTimeout: TimeInterval) {
        self.settle = settle
        self.pairTimeout = pairTimeout
    }

    /// Files tracked and not yet handed out.
    public var backlog: Int { files.count }

    /// A watch event for `path`.
    public mutating func note(_ evidence: ArrivalEvidence, path: String, at now: Date) {
        if var f = files[path] {
            f.evidence = evidence
            f.evidenceAt = now
            files[path] = f
        } else {
            // The scan will fill in size and mtime; keep the evidence.
            files[path] = TrackedFile(size: -1, mtime: -1, changedAt: now, evidence: evidence, evidenceAt: now, settledAt: nil)
        }
    }

    /// A write to `path` (after any close or rename we saw): it is not finished until a new close.
    public mutating func noteModified(path: String, at now: Date) {
        guard var f = files[path] else { return }
        f.evidence = nil
        f.evidenceAt = nil
        f.changedAt = now
        f.settledAt = nil
        files[path] = f
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
                    if f.size >= 0 { f.changedAt = now; f.settledAt = nil }
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
        lastScanAt = now
    }

    func isSettled(_ f: TrackedFile, at now: Date) -> Bool {
        guard f.size >= 0 else { return false }
        switch f.evidence {
        case .renamedIn?:
            // Complete on arrival, unless it changed after the rename (then it is being written in place).
            if let at = f.evidenceAt, f.changedAt <= at { return true }
        case .closedAfterWrite?:
            if let at = f.evidenceAt, now.timeIntervalSince(max(at, f.changedAt)) >= quiet { return true }
        case nil:
            break
        }
        return now.timeIntervalSince(f.changedAt) >= settle
    }

    /// What is ready at `now`: complete pairs (both halves settled) and halves alone past the pair timeout.
    /// Returned files are no longer tracked; if they are still there at the next scan (a vault failure left
    /// them), they are tracked again from scratch and settle again.
    public mutating func take(at now: Date) -> (pairs: [(InputPair, settledAt: Date)], lone: [InputPair]) {
        var groups: [String: (audio: String?, sidecar: String?, dir: String, base: String)] = [:]
        // Names with a half still being written: the other half is not alone, it waits (no pair timeout).
        var unsettled = Set<String>()
        for (path, f) in files where !isSettled(f, at: now) {
            let url = URL(fileURLWithPath: path)
            unsettled.insert(url.deletingLastPathComponent().path + "/" + InboxScan.split(url.lastPathComponent).0)
        }
        for (path, var f) in files {
            guard isSettled(f, at: now) else { continue }
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
}
