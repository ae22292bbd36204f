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
        host = String(cString: name)
        id = "\(host):\(getpid()):\(UUID().uuidString.prefix(8).lowercased())"
        self.lease = lease
        self.catalog = catalog
        try catalog.heartbeat(worker: id, host: host, until: Date().addingTimeInterval(lease))
        timer = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "callvault.worker.heartbeat"))
        let (catalog, id, host) = (catalog, id, host)
        timer.schedule(deadline: .now() + lease / 4, repeating: lease / 4)
        // A beat that fails (the server is away) is tried again at the next one; if the lease runs out meanwhile,
        // other workers may take this worker's pairs, and its own commit refuses placements repair undid.
        timer.setEventHandler { try? catalog.heartbeat(worker: id, host: host, until: Date().addingTimeInterval(lease)) }
        timer.resume()
    }

    public var scope: WorkerScope { WorkerScope(worker: id, lease: lease) }

    /// The key two workers agree on for one pair: its path (a shared inbox is mounted at the same path on
    /// every host; own inboxes never share a path with another worker's on the same host).
    public static func key(_ pair: InputPair) -> String {
        let dir = pair.directory.hasPrefix("/") ? pair.directory : FileManager.default.currentDirectoryPath + "/" + pair.directory
        return URL(fileURLWithPath: dir).standardized.path + "/" + pair.baseName
    }
}
