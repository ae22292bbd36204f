// Several ingest workers on one catalog (issue 12): who is alive, which worker has claimed which inbox pair,
// and which placements in flight belong to workers that died. Each change is one short write transaction;
// writers are serialised by the engine, so a claim and its takeover never interleave.
import CallVaultCore
import Foundation

extension Catalog {
    /// Says `worker` (on `host`) is alive for `leaseSeconds` more, by the database's clock; creates it on first
    /// call. Not serialised behind other writers: a sweep batch holding the write lock must not let leases lapse.
    public func heartbeat(worker: String, host: String, leaseSeconds: Int) throws {
        try wrap("renew worker lease") {
            try db.writeUnserialised { db in
                try db.execute(sql: """
                    INSERT INTO ingest_workers (worker, host, alive_until) VALUES (?, ?, \(db.dialect.utcNow(plus: leaseSeconds)))
                    ON CONFLICT (worker) DO UPDATE SET alive_until = excluded.alive_until
                    """, arguments: [worker, host])
            }
        }
    }

    /// How many workers other than `worker` are alive at `now` (on any host).
    public func otherLiveWorkers(than worker: String) throws -> Int {
        try wrap("read workers") {
            try db.read {
                try Int.fetchOne($0, sql: "SELECT count(*) FROM ingest_workers WHERE worker != ? AND alive_until > \($0.dialect.utcNow())",
                                 arguments: [worker]) ?? 0
            }
        }
    }

    /// The workers registered from `host`.
    public func workers(host: String) throws -> [String] {
        try wrap("read workers") {
            try db.read { try String.fetchAll($0, sql: "SELECT worker FROM ingest_workers WHERE host = ?", arguments: [host]) }
        }
    }

    /// Ends the leases of workers known to be dead (their process is gone from this host).
    public func expireWorkers(_ workers: [String]) throws {
        try wrap("expire dead workers") {
            try db.write { db in
                for w in workers {
                    try db.execute(sql: "UPDATE ingest_workers SET alive_until = '0000-01-01T00:00:00Z' WHERE worker = ?", arguments: [w])
                }
            }
        }
    }

    /// A worker that stops cleanly gives up its claims at once instead of letting them lapse.
    public func retireWorker(_ worker: String) throws {
        try wrap("retire worker") {
            try db.write { db in
                try db.execute(sql: "DELETE FROM ingest_claims WHERE worker = ?", arguments: [worker])
                try db.execute(sql: "DELETE FROM ingest_workers WHERE worker = ?", arguments: [worker])
            }
        }
    }

    /// Claims the pairs `keys` for `worker` at `now`: a key nobody holds, or held by a worker whose lease ran out
    /// (it died, or lost the catalog for longer than the lease), becomes this worker's. Returns the keys this worker
    /// holds now, and how many it took over from a worker that was no longer alive.
    public func claim(_ keys: [String], worker: String) throws -> (held: Set<String>, takenOver: Int) {
        guard !keys.isEmpty else { return ([], 0) }
        return try wrap("claim inbox pairs") {
            try db.write { db in
                var takenOver = 0
                var held: Set<String> = []
                // Three statements a run of keys, whatever its length: free keys taken, dead holders' keys taken
                // over, then what this worker holds.
                for run in keys.runs(of: 500) {
                    var pairs = SQLArguments()
                    for key in run { pairs.append(key); pairs.append(worker) }
                    try db.execute(cached: "INSERT INTO ingest_claims (pair_key, worker) VALUES "
                                   + Array(repeating: "(?, ?)", count: run.count).joined(separator: ", ") + " ON CONFLICT DO NOTHING",
                                   arguments: pairs)
                    var args: SQLArguments = [worker, worker]
                    args.append(contentsOf: SQLArguments(run))
                    try db.execute(cached: """
                        UPDATE ingest_claims SET worker = ? WHERE worker != ?
                          AND NOT EXISTS (SELECT 1 FROM ingest_workers w WHERE w.worker = ingest_claims.worker AND w.alive_until > \(db.dialect.utcNow()))
                          AND pair_key IN (\(marks(run.count)))
                        """, arguments: args)
                    takenOver += db.changesCount
                    var mine: SQLArguments = [worker]
                    mine.append(contentsOf: SQLArguments(run))
                    held.formUnion(try String.fetchAll(db, sql: "SELECT pair_key FROM ingest_claims WHERE worker = ? AND pair_key IN (\(marks(run.count)))",
                                                       arguments: mine))
                }
                return (held, takenOver)
            }
        }
    }

    /// Gives up claims once their pairs' outcome is durable (or they failed and wait in the inbox for any worker).
    public func releaseClaims(_ keys: [String], worker: String) throws {
        guard !keys.isEmpty else { return }
        try wrap("release inbox pairs") {
            try db.write { db in
                for run in keys.runs(of: 500) {
                    var args: SQLArguments = [worker]
                    args.append(contentsOf: SQLArguments(run))
                    try db.execute(cached: "DELETE FROM ingest_claims WHERE worker = ? AND pair_key IN (\(marks(run.count)))", arguments: args)
                }
            }
        }
    }

    /// Forgets workers whose lease ran out and the claims they still held (a worker killed after its pairs were
    /// done but before it gave their claims up). Returns how many claims went.
    @discardableResult
    public func pruneDeadWorkers() throws -> Int {
        try wrap("forget dead workers") {
            try db.write { db in
                let now = db.dialect.utcNow()
                try db.execute(sql: """
                    DELETE FROM ingest_claims WHERE NOT EXISTS
                        (SELECT 1 FROM ingest_workers w WHERE w.worker = ingest_claims.worker AND w.alive_until > \(now))
                    """)
                let claims = db.changesCount
                // Placements of a dead worker still name it; repair undoes them first (it runs before this).
                try db.execute(sql: """
                    DELETE FROM ingest_workers WHERE alive_until <= \(now)
                      AND NOT EXISTS (SELECT 1 FROM pending_placements p WHERE p.worker = ingest_workers.worker)
                    """)
                return claims
            }
        }
    }

    /// Takes over, for `worker`'s repair, the placements in flight it may undo: its own (it is between batches),
    /// those of no named worker, and those of workers no longer alive — in one serialised write, so a commit of a
    /// worker thought dead either came first (its intents are gone) or comes after and finds its intents no
    /// longer its own, and is refused. A live worker's placements are never touched. Returns them.
    public func takeOverAbandonedPlacements(worker: String) throws -> [PendingPlacement] {
        try wrap("take over placements") {
            try db.write { db in
                try db.execute(sql: """
                    UPDATE pending_placements SET worker = ? WHERE worker IS NULL OR worker != ? AND NOT EXISTS
                        (SELECT 1 FROM ingest_workers w WHERE w.worker = pending_placements.worker AND w.alive_until > \(db.dialect.utcNow()))
                    """, arguments: [worker, worker])
                return try PendingPlacement.fetchAll(db, sql: "SELECT * FROM pending_placements WHERE worker = ?", arguments: [worker])
            }
        }
    }
}
