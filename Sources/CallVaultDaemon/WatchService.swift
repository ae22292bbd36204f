// The ingest daemon (SPEC §2, §3, §10, §12): watch the inboxes, settle and pair, ingest, retry vault failures,
// wait out unreadable inputs, reload the configuration on SIGHUP.
import CallVault
import CallVaultCore
import Dispatch
import Foundation
import Logging
import Metrics
import ServiceLifecycle
#if canImport(Glibc)
import Glibc
#endif

/// How the daemon runs.
public struct WatchOptions: Sendable {
    public var inboxes: [String]
    /// The inboxes are `inbox.paths` of the configuration (none given on the command line): a reload
    /// (SIGHUP) takes the new list.
    public var inboxesFromConfiguration = false
    public var poll: Bool
    public var settle: TimeInterval
    public var pairTimeout: TimeInterval
    /// Pairs per ingest batch: small enough that SIGTERM finishes the batch in hand well within 5 s.
    public var batchSize = 64
    /// An input the vault user cannot read is tried again after this long, or as soon as it changes.
    public var unreadableRetry: TimeInterval = 60

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

/// SIGHUP as a flag the daemon's loop takes: its default action (terminate) is replaced as soon as this exists.
final class HangupSignal: @unchecked Sendable {
    private let lock = NSLock()
    private var raised = false
    private var source: DispatchSourceSignal?

    init() {
        signal(SIGHUP, SIG_IGN)
        let s = DispatchSource.makeSignalSource(signal: SIGHUP, queue: .global())
        s.setEventHandler { [weak self] in self?.raise() }
        s.resume()
        source = s
    }

    deinit { source?.cancel() }

    private func raise() { lock.withLock { raised = true } }

    /// Whether SIGHUP came since the last call.
    func take() -> Bool { lock.withLock { defer { raised = false }; return raised } }
}

/// The daemon's one service. Everything blocking (file I/O, SQLite) runs on a Dispatch thread so the
/// cooperative pool stays free; the pair in hand is always finished before a graceful shutdown.
public struct WatchService: Service {
    let vault: Vault
    let options: WatchOptions
    let logger: Logger
    let health: DaemonHealth
    /// Opens the store again (SIGHUP): re-reads and validates the configuration, records a policy change.
    let reopen: (@Sendable () throws -> Vault)?

    let ingested = Counter(label: "callvault_ingested_total")
    let duplicates = Counter(label: "callvault_duplicates_total")
    let vaultFailures = Counter(label: "callvault_vault_failures_total")
    let backlog = Gauge(label: "callvault_inbox_backlog")
    let unreadableInputs = Gauge(label: "callvault_inputs_unreadable")
    let invalidNames = Gauge(label: "callvault_inputs_invalid_name")
    let unreadableFolders = Gauge(label: "callvault_inbox_folders_unreadable")
    let latency = Metrics.Timer(label: "callvault_ingest_latency_seconds", preferredDisplayUnit: .seconds)

    public init(vault: Vault, options: WatchOptions, logger: Logger, health: DaemonHealth,
                reopen: (@Sendable () throws -> Vault)? = nil) {
        self.vault = vault
        self.options = options
        self.logger = logger
        self.health = health
        self.reopen = reopen
    }

    func blocking<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { c in DispatchQueue.global().async { c.resume(returning: work()) } }
    }

    public func run() async throws {
        do {
            try await watch()
        } catch let e as VaultError {
            // Printed by the command as the last word: it must not carry an inbox path either.
            throw VaultError(e.kind, Self.redact(e.message, inboxes: options.inboxes))
        }
    }

    func watch() async throws {
        var vault = self.vault
        var ingestor = Ingestor(vault: vault)
        var options = self.options
        // Before anything slow: from here on a SIGHUP reloads instead of ending the process.
        let hangup = HangupSignal()
        let repaired: Result<Repair.Outcome, VaultError> = await blocking { [vault] in
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
        var problems = ScanProblems()
        var firstScan = true
        var lastFullScan = Date.distantPast
        var failingSince: Date?
        var backoff: TimeInterval = 1
        var retryAt = Date.distantPast
        logger.info("watching", metadata: ["inboxes": "\(options.inboxes.count)", "mode": "\(options.poll ? "poll" : "inotify")"])

        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            if hangup.take() {
                if let reloaded = await reload(inboxes: options.inboxes) {
                    vault = reloaded
                    ingestor = Ingestor(vault: reloaded)
                    tracker.settle = reloaded.configuration.settle.approximateSeconds
                    tracker.pairTimeout = reloaded.configuration.pairTimeout.approximateSeconds
                    if options.inboxesFromConfiguration, !reloaded.configuration.inboxPaths.isEmpty {
                        options.inboxes = reloaded.configuration.inboxPaths.map { $0.count > 1 && $0.hasSuffix("/") ? String($0.dropLast()) : $0 }
                    }
                    // New inboxes and tenant folders are listed and watched at once.
                    lastFullScan = .distantPast
                }
            }
            // The inbox is timed on the file system's clock: settling compares with the files' mtimes.
            let now = vault.clock.fileSystemNow()
            var events = watcher?.drain() ?? []
            if let watcher {
                for e in events {
                    switch e {
                    case .closedAfterWrite(let p): tracker.note(.closedAfterWrite, path: p, at: now)
                    case .renamedIn(let p): tracker.note(.renamedIn, path: p, at: now)
                    case .modified(let p): tracker.noteModified(path: p, at: now)
                    case .attributesChanged(let p): tracker.noteAttributes(path: p, at: now)
                    case .directoryCreated(let d): watcher.watch(directory: d); lastFullScan = .distantPast
                    case .overflow:
                        lastFullScan = .distantPast
                        tracker.forgetOpenWriters()
                    }
                }
            }
            // With inotify, scan when something happened or is pending, and every 2 s as a safety net;
            // in polling mode, every tick. Inputs waiting only because they are unreadable need no scan.
            if options.poll || firstScan || !events.isEmpty || tracker.inProgress > 0 || now.timeIntervalSince(lastFullScan) >= 2 {
                let scan = InboxScan.entries(in: options.inboxes)
                if let watcher { for d in scan.folders { watcher.watch(directory: d) } }
                tracker.scanned(scan.files, at: now, startup: firstScan)
                problems.report(scan, inboxes: options.inboxes, logger: logger)
                firstScan = false
                lastFullScan = now
                events.removeAll()
            }

            if now >= retryAt {
                let (pairs, lone) = tracker.take(at: now)
                var failed: [InputPair] = []
                var start = 0
                while start < pairs.count || (start == 0 && !lone.isEmpty) {
                    let batch = Array(pairs[start..<min(start + options.batchSize, pairs.count)])
                    let loneNow = start == 0 ? lone : []
                    start += options.batchSize
                    let recovering = failingSince != nil
                    let result: Result<IngestReport, VaultError> = await blocking { [vault, ingestor] in
                        do {
                            return .success(try vault.withIngestLock {
                                // After a failure, undo what a half-done batch may have left (it could not
                                // always clean up on a full disk) before trying again.
                                if recovering { try Repair(vault: vault).run() }
                                return try ingestor.process(batch.map(\.0), lone: loneNow, halves: .quarantine)
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
                        record(report, settledAt: Dictionary(batch.map { ($0.0.input, $0.1) }, uniquingKeysWith: { a, _ in a }), clock: vault.clock)
                        waitUnreadable(report, among: batch.map(\.0) + loneNow, tracker: &tracker, at: now, retry: options.unreadableRetry)
                    case .failure(let e):
                        vaultFailures.increment()
                        failed += batch.map(\.0) + loneNow
                        if failingSince == nil {
                            // Once per incident, not once per file per second; the message may name an input,
                            // so inbox paths (and anything like a phone number) are taken out.
                            let message = Self.redact(e.message, inboxes: options.inboxes)
                            logger.error("vault failure: inputs left in the inbox, retrying with back-off", metadata: ["error": "\(message)"])
                            failingSince = now
                            health.set(message)
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
            backlog.record(tracker.backlog)
            unreadableInputs.record(tracker.unreadableWaiting)
            invalidNames.record(problems.invalidNames.count)
            unreadableFolders.record(problems.folders.count)
            try? await Task.sleep(for: .milliseconds(options.poll ? 500 : 100))
        }
        // On a shared catalog: claims and lease given up now, not after a lease.
        await blocking { IngestWorker.retireIfRegistered() }
        logger.info("stopped")
    }

    /// Re-reads and validates the configuration (SIGHUP). A broken file is logged and changes nothing.
    func reload(inboxes: [String]) async -> Vault? {
        guard let reopen else { return nil }
        let result: Result<Vault, VaultError> = await blocking {
            do {
                let v = try reopen()
                try v.require([.admin], to: "watch")
                return .success(v)
            } catch let e as VaultError {
                return .failure(e)
            } catch {
                return .failure(.configuration("\(error)"))
            }
        }
        switch result {
        case .success(let v):
            logger.notice("configuration reloaded", metadata: ["tenants": "\(v.configuration.tenants.count)"])
            return v
        case .failure(let e):
            logger.error("configuration not reloaded, the previous one stays in force", metadata: ["error": "\(Self.redact(e.message, inboxes: inboxes))"])
            return nil
        }
    }

    /// Pairs the vault user could not read stay in the inbox and are tried again later; each is logged once.
    func waitUnreadable(_ report: IngestReport, among pairs: [InputPair], tracker: inout InboxTracker, at now: Date, retry: TimeInterval) {
        for u in report.unreadable {
            guard let pair = pairs.first(where: { $0.input == u.input || $0.audio == u.input || $0.sidecar == u.input }) else { continue }
            if tracker.deferUnreadable(pair, until: now.addingTimeInterval(retry), at: now) {
                // Why, in the daemon's own words (errno): the ingest detail may name the file.
                let (half, reason) = Self.whyUnreadable(pair)
                logger.warning("input not readable by the vault user, left in place", metadata: [
                    "tenant": "\(pair.defaultTenant ?? "-")", "file": "\(half)", "reason": "\(reason)", "retry_s": "\(Int(retry))",
                ])
            }
        }
    }

    /// Which half of a pair cannot be opened, and the system's reason (e.g. "permission denied").
    static func whyUnreadable(_ pair: InputPair) -> (String, String) {
        for (half, path) in [("audio", pair.audio), ("sidecar", pair.sidecar)] {
            guard let path else { continue }
            let fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
            if fd < 0 { return (half, String(cString: strerror(errno)).lowercased()) }
            close(fd)
        }
        return ("-", "unreadable")
    }

    /// Takes inbox paths (as given and absolute) and anything like a phone number out of a message meant for
    /// logs and /healthz: recorders name files after the caller.
    static func redact(_ message: String, inboxes: [String]) -> String {
        var out = message
        let roots = Set(inboxes.flatMap { [$0, URL(fileURLWithPath: $0).standardizedFileURL.path] }).filter { $0.count > 1 }
        for root in roots.sorted(by: { $0.count > $1.count }) {
            while let r = out.range(of: root) {
                // The path runs to where the message goes on: ": reason", a quote, a comma, a line end.
                var end = r.upperBound
                while end < out.endIndex {
                    let rest = out[end...]
                    if rest.hasPrefix(": ") || rest.hasPrefix(", ") || rest.first == "'" || rest.first == "\"" || rest.first == "\n" { break }
                    end = out.index(after: end)
                }
                out.replaceSubrange(r.lowerBound..<end, with: "<inbox file>")
            }
        }
        if let digits = try? Regex("\\+?[0-9]{6,}") { out = out.replacing(digits, with: "<number>") }
        return out
    }

    func record(_ report: IngestReport, settledAt: [String: Date], clock: any Clock) {
        let now = clock.fileSystemNow()
        for s in report.stored {
            ingested.increment()
            var metadata: Logger.Metadata = ["recording_id": "\(s.recordingID)", "tenant": "\(s.tenant)", "call_id": "\(s.callID)"]
            if let at = settledAt[s.input] {
                // From the moment the pair was complete and settled to its committed catalog row.
                let seconds = now.timeIntervalSince(at)
                latency.recordNanoseconds(Int64(seconds * 1e9))
                metadata["latency_ms"] = "\(Int((seconds * 1000).rounded()))"
            }
            if s.secondsOnHold > 0 {
                // Callers recorded while on hold (SPEC §17): per tenant, calls and seconds, and how many were silenced.
                Counter(label: "callvault_on_hold_calls_total", dimensions: [("tenant", s.tenant)]).increment()
                FloatingPointCounter(label: "callvault_on_hold_seconds_total", dimensions: [("tenant", s.tenant)]).increment(by: s.secondsOnHold)
                if s.redacted { Counter(label: "callvault_on_hold_redacted_total", dimensions: [("tenant", s.tenant)]).increment() }
                metadata["seconds_on_hold"] = "\(s.secondsOnHold)"
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

/// What a scan found that ingest cannot take and must not pass in silence: folders the vault user cannot
/// list, names that are not UTF-8. Each is logged when it appears and when it is gone, and counted meanwhile.
struct ScanProblems {
    /// Unreadable folders now, by path, with what the log may say about them.
    var folders: [String: Logger.Metadata] = [:]
    /// Names that are not valid UTF-8 now (by folder and hex bytes), with their tenant folder ("-": none).
    var invalidNames: [String: String] = [:]

    mutating func report(_ scan: InboxListing, inboxes: [String], logger: Logger) {
        var nowFolders: [String: Logger.Metadata] = [:]
        for f in scan.unreadableFolders {
            // The tenant folder's name, or which inbox: never the path (below a tenant, names may be callers).
            var place: Logger.Metadata = [:]
            if let tenant = f.tenant { place["tenant"] = "\(tenant)" } else { place["inbox"] = "\((inboxes.firstIndex(of: f.path) ?? 0) + 1)" }
            if folders[f.path] == nil {
                var metadata = place
                metadata["reason"] = "\(f.reason.lowercased())"
                logger.error("inbox folder not readable: its files are not ingested", metadata: metadata)
            }
            nowFolders[f.path] = place
        }
        for (path, place) in folders where nowFolders[path] == nil {
            logger.notice("inbox folder readable again", metadata: place)
        }
        folders = nowFolders

        var nowNames: [String: String] = [:]
        for n in scan.invalidNames {
            if invalidNames[n.key] == nil {
                logger.error("input name not valid UTF-8, left in place", metadata: ["reason": "unsafe_name", "tenant": "\(n.tenant ?? "-")"])
            }
            nowNames[n.key] = n.tenant ?? "-"
        }
        invalidNames = nowNames
    }
}
