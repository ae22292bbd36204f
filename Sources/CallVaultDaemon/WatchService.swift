// The ingest daemon (SPEC §2, §3, §10): watch the inboxes, settle and pair, ingest, retry vault failures.
import CallVault
import CallVaultCore
import Dispatch
import Foundation
import Logging
import Metrics
import ServiceLifecycle

/// How the daemon runs.
public struct WatchOptions: Sendable {
    public var inboxes: [String]
    public var poll: Bool
    public var settle: TimeInterval
    public var pairTimeout: TimeInterval
    /// Pairs per ingest batch: small enough that SIGTERM finishes the batch in hand well within 5 s.
    public var batchSize = 64

    public init(inboxes: [String], poll: Bool, settle: TimeInterval, pairTimeout: TimeInterval) {
        self.inboxes = inboxes
        self.poll = poll
        self.settle = settle
        self.pairTimeout = pairTimeout
    }
}

/// Health shared with the metrics endpoint: the daemon is unhealthy while a vault failure lasts.
public final class DaemonHealth: @unchecked Sendable {
    private let lock = NSLock()
    private var failing: String?
    public init() {}
    public var failure: String? { lock.withLock { failing } }
    func set(_ f: String?) { lock.withLock { failing = f } }
}

/// The daemon's one service. Everything blocking (file I/O, SQLite) runs on a Dispatch thread so the
/// cooperative pool stays free; the pair in hand is always finished before a graceful shutdown.
public struct WatchService: Service {
    let vault: Vault
    let options: WatchOptions
    let logger: Logger
    let health: DaemonHealth

    let ingested = Counter(label: "callvault_ingested_total")
    let duplicates = Counter(label: "callvault_duplicates_total")
    let vaultFailures = Counter(label: "callvault_vault_failures_total")
    let backlog = Gauge(label: "callvault_inbox_backlog")
    let latency = Metrics.Timer(label: "callvault_ingest_latency_seconds", preferredDisplayUnit: .seconds)

    public init(vault: Vault, options: WatchOptions, logger: Logger, health: DaemonHealth) {
        self.vault = vault
        self.options = options
        self.logger = logger
        self.health = health
    }

    func blocking<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { c in DispatchQueue.global().async { c.resume(returning: work()) } }
    }

    public func run() async throws {
        let vault = self.vault
        let ingestor = Ingestor(vault: vault)
        let repaired: Result<Repair.Outcome, VaultError> = await blocking {
            do { return .success(try vault.withIngestLock { try Repair(vault: vault).run() }) } catch let e as VaultError { return .failure(e) } catch {
                return .failure(.failure("\(error)"))
            }
        }
        if case .failure(let e) = repaired { throw e }
        if case .success(let o) = repaired, o.orphansRemoved + o.quarantineCompleted > 0 {
            logger.notice("repaired what a crash left", metadata: ["orphans_removed": "\(o.orphansRemoved)", "quarantine_completed": "\(o.quarantineCompleted)"])
        }

        let watcher: InotifyWatcher? = options.poll ? nil : try InotifyWatcher()
        var tracker = InboxTracker(settle: options.settle, pairTimeout: options.pairTimeout)
        var firstScan = true
        var lastFullScan = Date.distantPast
        var failingSince: Date?
        var backoff: TimeInterval = 1
        var retryAt = Date.distantPast
        logger.info("watching", metadata: ["inboxes": "\(options.inboxes.count)", "mode": "\(options.poll ? "poll" : "inotify")"])

        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            let now = vault.clock.now()
            var events = watcher?.drain() ?? []
            if let watcher {
                for e in events {
                    switch e {
                    case .closedAfterWrite(let p): tracker.note(.closedAfterWrite, path: p, at: now)
                    case .renamedIn(let p): tracker.note(.renamedIn, path: p, at: now)
                    case .modified(let p): tracker.noteModified(path: p, at: now)
                    case .directoryCreated(let d): watcher.watch(directory: d)
                    case .overflow: lastFullScan = .distantPast
                    }
                }
            }
            // With inotify, scan when something happened or is pending, and every 2 s as a safety net;
            // in polling mode, every tick.
            if options.poll || firstScan || !events.isEmpty || tracker.backlog > 0 || now.timeIntervalSince(lastFullScan) >= 2 {
                let scan = InboxScan.entries(in: options.inboxes)
                if let watcher { for d in scan.folders { watcher.watch(directory: d) } }
                tracker.scanned(scan.files, at: now, startup: firstScan)
                firstScan = false
                lastFullScan = now
                events.removeAll()
            }
            backlog.record(tracker.backlog)

            if now >= retryAt {
                let (pairs, lone) = tracker.take(at: now)
                var failed: [InputPair] = []
                var start = 0
                while start < pairs.count || (start == 0 && !lone.isEmpty) {
                    let batch = Array(pairs[start..<min(start + options.batchSize, pairs.count)])
                    let loneNow = start == 0 ? lone : []
                    start += options.batchSize
                    let recovering = failingSince != nil
                    let result: Result<IngestReport, VaultError> = await blocking {
                        do {
                            return .success(try vault.withIngestLock {
                                // After a failure, undo what a half-done batch may have left (it could not
                                // always clean up on a full disk) before trying again.
                                if recovering { try Repair(vault: vault).run() }
                                var r = try ingestor.resolveLone(loneNow)
                                r.merge(try ingestor.ingestBatch(batch.map(\.0)))
                                return r
                            })
                        } catch let e as VaultError {
                            return .failure(e)
                        } catch {
                            return .failure(.failure("\(error)"))
                        }
                    }
                    switch result {
                    case .success(let report):
                        if let since = failingSince {
                            logger.notice("vault recovered", metadata: ["failing_for_s": "\(Int(now.timeIntervalSince(since)))"])
                            failingSince = nil
                            backoff = 1
                            health.set(nil)
                        }
                        record(report, settledAt: Dictionary(batch.map { ($0.0.input, $0.1) }, uniquingKeysWith: { a, _ in a }))
                    case .failure(let e):
                        vaultFailures.increment()
                        failed += batch.map(\.0) + loneNow
                        if failingSince == nil {
                            // Once per incident, not once per file per second.
                            logger.error("vault failure: inputs left in the inbox, retrying with back-off", metadata: ["error": "\(e.message)"])
                            failingSince = now
                            health.set(e.message)
                        }
                        retryAt = now.addingTimeInterval(backoff)
                        backoff = min(backoff * 2, 60)
                        failed += pairs[min(start, pairs.count)...].map(\.0)
                        start = pairs.count
                    }
                    if Task.isShuttingDownGracefully { break }
                }
                tracker.requeue(failed, at: now)
            }
            try? await Task.sleep(for: .milliseconds(options.poll ? 500 : 100))
        }
        logger.info("stopped")
    }

    func record(_ report: IngestReport, settledAt: [String: Date]) {
        let now = vault.clock.now()
        for s in report.stored {
            ingested.increment()
            var metadata: Logger.Metadata = ["recording_id": "\(s.recordingID)", "tenant": "\(s.tenant)", "call_id": "\(s.callID)"]
            if let at = settledAt[s.input] {
                // From the moment the pair was complete and settled to its committed catalog row.
                let seconds = now.timeIntervalSince(at)
                latency.recordNanoseconds(Int64(seconds * 1e9))
                metadata["latency_ms"] = "\(Int((seconds * 1000).rounded()))"
            }
            logger.info("stored", metadata: metadata)
        }
        for d in report.duplicates {
            duplicates.increment()
            logger.info("duplicate", metadata: ["recording_id": "\(d.recordingID)"])
        }
        for r in report.rejected {
            Counter(label: "callvault_rejected_total", dimensions: [("reason", r.reason.rawValue)]).increment()
            // The quarantine id, never the input path: recorders put phone numbers in file names.
            logger.notice("rejected", metadata: ["reason": "\(r.reason.rawValue)", "quarantine": "\(r.quarantinePath ?? "-")"])
        }
    }
}
