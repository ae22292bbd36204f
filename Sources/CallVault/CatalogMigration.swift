// `callvault catalog migrate --to URL` (issue 12): copies a store's embedded SQLite catalog into an empty
// PostgreSQL database in one transaction (a failure leaves the database empty), then checks the copy — the
// rows of every table counted on both sides, and the audit chain verified on the copy with the source's head —
// before it says done. The copy's first new event records where it came from.
import CallVaultCore
import CallVaultPostgres
import CallVaultStore
import Foundation

public struct CatalogMigration: Sendable {
    public let vault: Vault
    public let target: PostgresTarget

    /// `url` names the database without a password (a command line is visible to every user of the host): the
    /// password comes from `passwordFile` or CALLVAULT_CATALOG_PASSWORD.
    public init(vault: Vault, url: String, passwordFile: String?,
                environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        self.vault = vault
        target = try PostgresTarget.parse(url, password: CatalogOpening.password(file: passwordFile, fileWins: true, environment: environment),
                                          allowPassword: false)
    }

    /// The URL of the copy, without a password: what `[catalog] url` is to say.
    public var url: String { target.display }

    /// Tables in an order that satisfies their references. Worker leases and claims are not copied: they
    /// belong to processes that run on the old catalog and stop before the move.
    static let tables = ["store_meta", "recordings", "pending_placements", "rejections", "holds", "hold_items", "accounts",
                         "waveforms", "hold_segments", "notes", "requests", "request_subjects", "request_items", "erased_calls", "deleted_call_counts",
                         "deleted_hold_counts", "audit_events"]

    /// The store's tables that are deliberately not copied (process state, the engines' own bookkeeping).
    static let notCopied: Set<String> = ["ingest_workers", "ingest_claims", "grdb_migrations", "sqlite_sequence"]

    /// PostgreSQL takes at most 65,535 parameters a statement: rows per INSERT so that each stays well below.
    static let parametersPerStatement = 30_000

    public struct Outcome: Sendable {
        public var rows: [String: Int] = [:]
        public var total: Int { rows.values.reduce(0, +) }
        public var auditEvents = 0
        public var auditHead: String = ""
        public var seconds: Double = 0
    }

    /// Copies and checks. `progress` is told (rows copied, rows in all) as the copy goes.
    public func run(progress: (_ done: Int, _ total: Int) -> Void) throws -> Outcome {
        try vault.require(Role.administrators, to: "migrate the catalog")
        guard !vault.isShared else {
            throw VaultError(.usage, "this store's catalog is already on PostgreSQL (\(vault.catalog.db.location)): nothing to migrate")
        }
        let started = Date()
        let source = vault.catalog.db
        // Nothing may write the source while it is copied: ingest and sweeps wait, and the counts checked at the
        // end would show any other writer (web app, CLI) that did not.
        return try vault.withIngestLock {
            guard let sweeper = try vault.catalog.exclusive(.sweeper) else {
                throw VaultError(.usage, "a sweep is running on this store: migrate once it has finished")
            }
            defer { sweeper.release() }
            // A table this list does not know (a newer version's) would be left behind in silence: refuse instead.
            let present = Set(try source.read { db in
                try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table'")
            })
            if let unknown = present.subtracting(Self.tables).subtracting(Self.notCopied).sorted().first {
                throw VaultError.failure("catalog migrate: the table \(unknown) is not known to the migration: nothing was copied")
            }
            let counts = try source.read { db in
                try Dictionary(uniqueKeysWithValues: Self.tables.map { ($0, try Int.fetchOne(db, sql: "SELECT count(*) FROM \($0)") ?? 0) })
            }
            let total = counts.values.reduce(0, +)
            let engine: PostgresEngine
            do { engine = try PostgresEngine(target: target) } catch let e as SQLEngineError {
                throw VaultError.failure("catalog \(target.display): \(e.message)")
            }
            let copy = Catalog(engine: engine)
            var outcome = Outcome()
            do {
                try engine.write { pg in
                    let present = try Self.tables.map { try Int.fetchOne(pg, sql: "SELECT count(*) FROM \($0)") ?? 0 }.reduce(0, +)
                    guard present == 0 else {
                        throw VaultError(.usage, "\(target.display) is not empty (\(present) rows): migrate into a new, empty database")
                    }
                    var done = 0
                    try source.read { db in
                        for table in Self.tables {
                            outcome.rows[table] = try Self.copy(table, from: db, to: pg) { n in
                                done += n
                                progress(done, total)
                            }
                        }
                    }
                }
            } catch let e as SQLEngineError {
                throw VaultError.failure("catalog migrate: copying failed, nothing was kept in \(target.display): \(e.message)")
            }
            // The checks, on what was committed.
            let copied = try engine.read { pg in
                try Dictionary(uniqueKeysWithValues: Self.tables.map { ($0, try Int.fetchOne(pg, sql: "SELECT count(*) FROM \($0)") ?? 0) })
            }
            for table in Self.tables where copied[table] != counts[table] {
                throw VaultError.failure("catalog migrate: \(table) has \(counts[table] ?? 0) rows in the store but \(copied[table] ?? 0) in the copy: the copy is not to be used")
            }
            let check = try copy.verifyAudit()
            guard check.ok else {
                throw VaultError.failure("catalog migrate: the copy's audit log does not verify (event \(check.firstBad ?? 0): \(check.reason ?? "")): the copy is not to be used")
            }
            let sourceHead = try vault.catalog.meta("audit_head") ?? "0:"
            guard try copy.meta("audit_head") == sourceHead else {
                throw VaultError.failure("catalog migrate: the copy's audit head differs from the store's: the copy is not to be used")
            }
            outcome.auditEvents = check.events
            outcome.auditHead = sourceHead
            outcome.seconds = Date().timeIntervalSince(started)
            try copy.appendAudit([vault.event(.catalogMigrated, target: nil, details: [
                "from": "sqlite", "rows": String(outcome.total), "source_head": sourceHead,
            ])])
            return outcome
        }
    }

    /// Copies one table in multi-row INSERTs of the source's columns (the copy's own `rowid` numbers itself, in
    /// the source's row order). Returns the rows copied.
    static func copy(_ table: String, from db: any SQLSession, to pg: any SQLSession, copied: (Int) -> Void) throws -> Int {
        let columns = try String.fetchAll(db, sql: "SELECT name FROM pragma_table_info('\(table)') ORDER BY cid")
        let quoted = columns.map { $0 == "user" ? "\"user\"" : $0 }
        let perStatement = max(1, parametersPerStatement / max(1, columns.count))
        let rowMarks = "(" + Array(repeating: "?", count: columns.count).joined(separator: ", ") + ")"
        var batch = SQLArguments()
        var inBatch = 0
        var n = 0
        func flush() throws {
            guard inBatch > 0 else { return }
            try pg.execute(sql: "INSERT INTO \(table) (\(quoted.joined(separator: ", "))) VALUES "
                           + Array(repeating: rowMarks, count: inBatch).joined(separator: ", "), arguments: batch)
            copied(inBatch)
            batch = SQLArguments()
            inBatch = 0
        }
        let order = table == "recordings" ? " ORDER BY rowid" : table == "audit_events" ? " ORDER BY seq" : ""
        try db.forEachRow(sql: "SELECT \(columns.map { $0 == "user" ? "\"user\"" : $0 }.joined(separator: ", ")) FROM \(table)\(order)", arguments: []) { row in
            batch.values += row.values
            inBatch += 1
            n += 1
            if inBatch == perStatement { try flush() }
            return true
        }
        try flush()
        return n
    }
}
