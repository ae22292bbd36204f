// The embedded engine: SQLite through GRDB (WAL, synchronous=FULL), the catalog file in the store.
import CallVaultCore
import Foundation
import GRDB
#if canImport(Glibc)
import Glibc
#endif

public final class SQLiteEngine: CatalogEngine {
    public let pool: DatabasePool
    public let location: String
    public var dialect: SQLDialect { .sqlite }

    /// Opens (and migrates) the catalog at `path`. The file is created 0600 by the process umask set at start.
    public init(path: String) throws {
        var config = Configuration()
        config.busyMode = .timeout(30)
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
            // 16 MiB of page cache: sweeps and listings touch the same index pages again and again.
            try db.execute(sql: "PRAGMA cache_size = -16384")
            // Read pages through a memory map instead of one pread each (a 100,000-row sweep reads ~60,000 pages).
            try db.execute(sql: "PRAGMA mmap_size = 268435456")
            // Checkpoint the WAL every ~40 MB rather than every 4 MB: a sweep's batches then commit without
            // a checkpoint each (the WAL is reset when a checkpoint finds no reader).
            try db.execute(sql: "PRAGMA wal_autocheckpoint = 10000")
            try db.execute(sql: "PRAGMA foreign_keys = ON")
        }
        location = path
        do {
            pool = try DatabasePool(path: path, configuration: config)
            try CatalogSchema.migrator.migrate(pool)
        } catch let e as DatabaseError {
            throw VaultError.failure("catalog \(path): \(e.message ?? "SQLite error \(e.resultCode.rawValue)")")
        }
    }

    public func read<T>(_ body: (any SQLSession) throws -> T) throws -> T {
        try Self.mapped { try pool.read { try body(SQLiteSession($0)) } }
    }

    public func write<T>(_ body: (any SQLSession) throws -> T) throws -> T {
        try Self.mapped { try pool.write { try body(SQLiteSession($0)) } }
    }

    /// SQLite has one writer at a time whatever is asked.
    public func writeUnserialised<T>(_ body: (any SQLSession) throws -> T) throws -> T { try write(body) }

    /// An flock on a file beside the catalog: one host shares a SQLite catalog, so a host-local lock suffices.
    public func tryExclusive(_ role: ExclusiveRole) throws -> (any ExclusiveHold)? {
        let path = location + "-" + role.rawValue + ".lock"
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw SQLEngineError("cannot open \(path): \(String(cString: strerror(errno)))") }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let err = errno
            close(fd)
            if err == EWOULDBLOCK { return nil }
            throw SQLEngineError("cannot lock \(path): \(String(cString: strerror(err)))")
        }
        return FileLockHold(fd: fd)
    }

    static func mapped<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let e as DatabaseError {
            // GRDB's messages carry the SQLite code and text, never the bound arguments (no phone numbers).
            throw SQLEngineError(e.message ?? "SQLite error \(e.resultCode.rawValue)")
        }
    }
}

final class FileLockHold: ExclusiveHold, @unchecked Sendable {
    private var fd: Int32
    private let lock = NSLock()
    init(fd: Int32) { self.fd = fd }
    var isHeld: Bool { lock.lock(); defer { lock.unlock() }; return fd >= 0 }
    func release() {
        lock.lock()
        defer { lock.unlock() }
        if fd >= 0 { close(fd); fd = -1 }
    }
    deinit { release() }
}

final class SQLiteSession: SQLSession {
    let db: Database
    init(_ db: Database) { self.db = db }

    var dialect: SQLDialect { .sqlite }
    var changesCount: Int { db.changesCount }

    private func statement(_ sql: String, cached: Bool) throws -> Statement {
        cached ? try db.cachedStatement(sql: sql) : try db.makeStatement(sql: sql)
    }

    func execute(sql: String, arguments: SQLArguments, cached: Bool) throws {
        try statement(sql, cached: cached).execute(arguments: Self.arguments(arguments))
    }

    func fetchAll(sql: String, arguments: SQLArguments, cached: Bool) throws -> [SQLRow] {
        var rows: [SQLRow] = []
        try each(statement(sql, cached: cached), arguments) { rows.append($0); return true }
        return rows
    }

    func forEachRow(sql: String, arguments: SQLArguments, _ body: (SQLRow) throws -> Bool) throws {
        try each(statement(sql, cached: false), arguments, body)
    }

    private func each(_ statement: Statement, _ arguments: SQLArguments, _ body: (SQLRow) throws -> Bool) throws {
        let columns = SQLColumns(statement.columnNames)
        let cursor = try Row.fetchCursor(statement, arguments: Self.arguments(arguments))
        while let row = try cursor.next() {
            let values = Array(row.databaseValues).map { v -> SQLValue in
                switch v.storage {
                case .null: .null
                case .int64(let i): .integer(i)
                case .double(let d): .real(d)
                case .string(let s): .text(s)
                case .blob(let b): .blob(b)
                }
            }
            guard try body(SQLRow(columns: columns, values: values)) else { return }
        }
    }

    static func arguments(_ a: SQLArguments) -> StatementArguments {
        StatementArguments(a.values.map { v -> (any DatabaseValueConvertible)? in
            switch v {
            case .null: nil
            case .integer(let i): i
            case .real(let d): d
            case .text(let s): s
            case .blob(let b): b
            }
        })
    }
}
