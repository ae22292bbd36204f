// One ingest worker among several on a shared catalog (issue 12). The process says it is alive in the catalog
// and renews it (a quarter of `[inbox] claim_lease` apart); pairs it claims, and placements it makes, are
// taken over or undone by another worker only once that lease has run out — a worker killed with -9 on any
// host is replaced within one lease.
import CallVaultCore
import CallVaultStore
import Dispatch
import Foundation

public final class IngestWorker: @unchecked Sendable {
    public let id: String
    public let host: String
    public let lease: TimeInterval
    let catalog: Catalog
    private let timer: DispatchSourceTimer

    private static let lock = NSLock()
    nonisolated(unsafe) private static var current: IngestWorker?

    /// The worker of this process on `vault`'s catalog, registered on first use (the first heartbeat is
    /// written before any claim, so a failure to reach the catalog is a vault failure here).
    public static func of(_ vault: Vault) throws -> IngestWorker {
        lock.lock()
        defer { lock.unlock() }
        if let current { return current }
        let w = try IngestWorker(catalog: vault.catalog, lease: vault.configuration.claimLease.approximateSeconds)
        current = w
        return w
    }

    init(catalog: Catalog, lease: TimeInterval) throws {
        var name = [CChar](repeating: 0, count: 256)
        gethostname(&name, name.count - 1)
        // The host name and this process's pid namespace: containers sharing a host name see other pids, and
        // must never judge each other's workers by them.
        var ns = stat()
        let namespace = stat("/proc/self/ns/pid", &ns) == 0 ? "#\(ns.st_ino)" : ""
        host = String(decoding: name.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self) + namespace
        id = "\(host):\(getpid()):\(Self.startTime(getpid()) ?? 0):\(UUID().uuidString.prefix(8).lowercased())"
        self.lease = lease
        self.catalog = catalog
        let seconds = max(1, Int(lease))
        try catalog.heartbeat(worker: id, host: host, leaseSeconds: seconds)
        timer = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "callvault.worker.heartbeat"))
        let (catalog, id, host) = (catalog, id, host)
        timer.schedule(deadline: .now() + lease / 4, repeating: lease / 4)
        // A beat that fails (the server is away) is tried again at the next one; if the lease runs out meanwhile,
        // other workers may take this worker's pairs, and its own commit refuses placements repair undid.
        timer.setEventHandler { try? catalog.heartbeat(worker: id, host: host, leaseSeconds: seconds) }
        timer.resume()
    }

    public var scope: WorkerScope { WorkerScope(worker: id, lease: lease) }

    /// A process that stops cleanly gives up its claims and its lease at once (other workers need not wait a
    /// lease to repair what it leaves, or to take a pair it had claimed). Nothing when it never registered.
    public static func retireIfRegistered() {
        lock.lock()
        let w = current
        current = nil
        lock.unlock()
        guard let w else { return }
        w.timer.cancel()
        try? w.catalog.retireWorker(w.id)
    }

    /// Ends at once the lease of workers of this host whose process is gone (killed, crashed): a rerun on the
    /// same host then takes their pairs and repairs their placements without waiting a lease, as on SQLite.
    /// A process is the same one only with the same pid *and* start time (pids are reused).
    public func expireDeadLocalWorkers() throws {
        let dead = try catalog.workers(host: host).filter { other in
            guard other != id else { return false }
            let parts = other.split(separator: ":")
            guard parts.count >= 4, let pid = Int32(parts[parts.count - 3]), let started = UInt64(parts[parts.count - 2]) else { return false }
            return Self.startTime(pid) != started
        }
        if !dead.isEmpty { try catalog.expireWorkers(dead) }
    }

    /// A process's start time (clock ticks since boot, /proc/PID/stat field 22); nil when there is no such process.
    static func startTime(_ pid: Int32) -> UInt64? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = text.lastIndex(of: ")") else { return nil }
        // Fields after the command name (which may hold spaces), starting with field 3.
        let fields = text[text.index(after: close)...].split(separator: " ")
        return fields.count > 19 ? UInt64(fields[19]) : nil
    }

    /// The key two workers agree on for one pair: its path (a shared inbox is mounted at the same path on
    /// every host; own inboxes never share a path with another worker's on the same host).
    public static func key(_ pair: InputPair) -> String {
        let dir = pair.directory.hasPrefix("/") ? pair.directory : FileManager.default.currentDirectoryPath + "/" + pair.directory
        return URL(fileURLWithPath: dir).standardized.path + "/" + pair.baseName
    }
}
