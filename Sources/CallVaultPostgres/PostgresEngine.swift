// The shared engine (issue 12): the catalog in a PostgreSQL database, for several ingest workers on several hosts.
// The catalog's API is synchronous (GRDB's shape); queries run on postgres-nio's event loops and the calling
// thread waits for them. Write transactions take one transaction-level advisory lock first, so writers are
// serialised across every host exactly as SQLite serialises them in one file: a check and the write it decides
// (a hold against a sweep, the audit chain's next link, an idempotency key) never interleave with another writer.
import CallVaultCore
import CallVaultStore
import Dispatch
import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import PostgresNIO

public final class PostgresEngine: CatalogEngine, @unchecked Sendable {
    public let target: PostgresTarget
    public var dialect: SQLDialect { .postgres }
    public var location: String { target.display }

    let configuration: PostgresConnection.Configuration
    let logger: Logger
    private let lock = NSLock()
    private var idle: [PostgresConnection] = []
    private static let maxIdle = 8
    private static let ids = LockedCounter()

    /// Advisory lock keys (one namespace for callvault: "cv" in the high bits).
    static let writeLockKey: Int64 = 0x6376_0000_0001
    static let migrateLockKey: Int64 = 0x6376_0000_0002
    public static let sweeperLockKey: Int64 = 0x6376_0000_0003

    /// Connects, and migrates the schema to this version's (append-only migrations, PostgresSchema).
    public init(target: PostgresTarget) throws {
        self.target = target
        configuration = try target.connectionConfiguration()
        // postgres-nio logs queries with their bindings at debug level: nothing of it may reach a log.
        logger = Logger(label: "callvault.catalog.postgres", factory: { _ in SwiftLogNoOpLogHandler() })
        try PostgresSchema.migrate(self)
    }

    deinit {
        // postgres-nio asserts that a connection is closed before it goes: wait for each close here.
        for c in idle { try? (c.close() as EventLoopFuture<Void>).wait() }
    }

    // MARK: transactions

    public func read<T>(_ body: (any SQLSession) throws -> T) throws -> T {
        try transaction(begin: "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", lockKey: nil, body)
    }

    public func write<T>(_ body: (any SQLSession) throws -> T) throws -> T {
        try transaction(begin: "BEGIN", lockKey: Self.writeLockKey, body)
    }

    public func writeUnserialised<T>(_ body: (any SQLSession) throws -> T) throws -> T {
        try transaction(begin: "BEGIN", lockKey: nil, body)
    }

    func transaction<T>(begin: String, lockKey: Int64?, _ body: (any SQLSession) throws -> T) throws -> T {
        var connection = try take()
        var session = PostgresSession(connection: connection, logger: logger)
        do {
            try session.execute(sql: begin, arguments: [], cached: false)
        } catch {
            // An idle connection the server dropped (a restart, an idle timeout) fails at BEGIN, before anything
            // was done: one new connection is tried before the failure is reported.
            Self.drop(connection)
            // A server restart killed every idle connection, not just this one.
            lock.lock()
            let stale = idle
            idle.removeAll()
            lock.unlock()
            stale.forEach(Self.drop)
            connection = try take()
            session = PostgresSession(connection: connection, logger: logger)
            do { try session.execute(sql: begin, arguments: [], cached: false) } catch {
                Self.drop(connection)
                throw PostgresSession.mapped(error)
            }
        }
        do {
            if let lockKey { try session.execute(sql: "SELECT pg_advisory_xact_lock(?)", arguments: [lockKey], cached: false) }
            let result = try body(session)
            try session.execute(sql: "COMMIT", arguments: [], cached: false)
            give(connection)
            return result
        } catch {
            // A failed COMMIT may or may not have committed: the connection is dropped, never reused mid-doubt.
            if !connection.isClosed, (try? session.execute(sql: "ROLLBACK", arguments: [], cached: false)) != nil {
                give(connection)
            } else {
                Self.drop(connection)
            }
            throw PostgresSession.mapped(error)
        }
    }

    /// Runs `body` on one connection outside any transaction the engine opens (migrations, session locks).
    func withConnection<T>(_ body: (PostgresSession) throws -> T) throws -> T {
        let connection = try take()
        let session = PostgresSession(connection: connection, logger: logger)
        do {
            let result = try body(session)
            give(connection)
            return result
        } catch {
            Self.drop(connection)
            throw PostgresSession.mapped(error)
        }
    }

    /// A session-level advisory lock on a connection of its own: held while the connection lives, so a sweeper
    /// killed with -9 on any host frees it as soon as the server sees its connection gone.
    public func tryExclusive(_ role: ExclusiveRole) throws -> (any ExclusiveHold)? {
        let key: Int64 = switch role { case .sweeper: Self.sweeperLockKey }
        let session = try dedicatedSession()
        do {
            guard try Bool.fetchOne(session, sql: "SELECT pg_try_advisory_lock(?)", arguments: [key]) == true else {
                session.close()
                return nil
            }
        } catch {
            session.close()
            throw PostgresSession.mapped(error)
        }
        return AdvisoryLockHold(session: session)
    }

    /// A connection of its own that the caller keeps (the sweeper's session-level advisory lock lives with it).
    public func dedicatedSession() throws -> PostgresSession {
        PostgresSession(connection: try connect(), logger: logger)
    }

    // MARK: connections

    /// Closes without waiting (the future form: the async one would need a task).
    static func drop(_ c: PostgresConnection) {
        let closing: EventLoopFuture<Void> = c.close()
        // The connection stays alive until it is closed (postgres-nio asserts on a connection freed open).
        closing.whenComplete { _ in withExtendedLifetime(c) {} }
    }

    private func take() throws -> PostgresConnection {
        lock.lock()
        while let c = idle.popLast() {
            if !c.isClosed { lock.unlock(); return c }
        }
        lock.unlock()
        return try connect()
    }

    private func give(_ c: PostgresConnection) {
        guard !c.isClosed else { return }
        lock.lock()
        defer { lock.unlock() }
        if idle.count < Self.maxIdle { idle.append(c) } else { Self.drop(c) }
    }

    private func connect() throws -> PostgresConnection {
        let configuration = self.configuration, logger = self.logger
        let id = Self.ids.next()
        do {
            return try BlockingBridge.run {
                try await PostgresConnection.connect(on: MultiThreadedEventLoopGroup.singleton.any(),
                                                     configuration: configuration, id: id, logger: logger)
            }
        } catch {
            throw PostgresSession.mapped(error, connecting: target.display)
        }
    }
}

final class AdvisoryLockHold: ExclusiveHold, @unchecked Sendable {
    private var session: PostgresSession?
    private let lock = NSLock()
    init(session: PostgresSession) { self.session = session }
    var isHeld: Bool {
        lock.lock()
        defer { lock.unlock() }
        return session.map { !$0.connection.isClosed } ?? false
    }
    func release() {
        lock.lock()
        defer { lock.unlock() }
        // Closing the connection ends its session and every session-level lock with it.
        session?.close()
        session = nil
    }
    deinit { release() }
}

/// One connection inside a transaction (or a dedicated one): `?` marks become `$n`, values cross as SQLValue.
public final class PostgresSession: SQLSession, @unchecked Sendable {
    let connection: PostgresConnection
    let logger: Logger
    public private(set) var changesCount = 0
    public var dialect: SQLDialect { .postgres }

    init(connection: PostgresConnection, logger: Logger) {
        self.connection = connection
        self.logger = logger
    }

    public func close() {
        PostgresEngine.drop(connection)
    }

    public func execute(sql: String, arguments: SQLArguments, cached: Bool) throws {
        let result = try run(sql, arguments)
        changesCount = result.metadata.rows ?? 0
    }

    public func fetchAll(sql: String, arguments: SQLArguments, cached: Bool) throws -> [SQLRow] {
        let result = try run(sql, arguments)
        guard let first = result.rows.first else { return [] }
        let columns = SQLColumns(first.map(\.columnName))
        return try result.rows.map { SQLRow(columns: columns, values: try $0.map(Self.value)) }
    }

    /// Through a server-side cursor, 2,000 rows a round trip: the whole audit log is never held at once.
    public func forEachRow(sql: String, arguments: SQLArguments, _ body: (SQLRow) throws -> Bool) throws {
        try execute(sql: "DECLARE callvault_rows NO SCROLL CURSOR FOR " + sql, arguments: arguments, cached: false)
        defer { _ = try? run("CLOSE callvault_rows", []) }
        while true {
            let page = try fetchAll(sql: "FETCH FORWARD 2000 FROM callvault_rows", arguments: [], cached: false)
            if page.isEmpty { return }
            for row in page { guard try body(row) else { return } }
        }
    }

    private func run(_ sql: String, _ arguments: SQLArguments) throws -> PostgresQueryResult {
        var binds = PostgresBindings(capacity: arguments.values.count)
        for v in arguments.values {
            switch v {
            case .null: binds.appendNull()
            case .integer(let i): binds.append(i)
            case .real(let d): binds.append(d)
            case .text(let s): binds.append(s)
            case .blob(let b): binds.append(ByteBuffer(bytes: b))
            }
        }
        let query = PostgresQuery(unsafeSQL: PlaceholderRewriter.rewrite(sql), binds: binds)
        do {
            return try connection.query(query, logger: logger).wait()
        } catch {
            throw Self.mapped(error)
        }
    }

    static func value(_ cell: PostgresCell) throws -> SQLValue {
        guard cell.bytes != nil else { return .null }
        switch cell.dataType {
        case .int2, .int4, .int8: return .integer(try cell.decode(Int64.self))
        case .float4, .float8: return .real(try cell.decode(Double.self))
        case .bool: return .integer(try cell.decode(Bool.self) ? 1 : 0)
        case .numeric:
            // sum() of integers: exact in Decimal; whole values come back as integers.
            let d = try cell.decode(Decimal.self)
            if d == d.rounded(), abs(d) < Decimal(Int64.max / 2) { return .integer(NSDecimalNumber(decimal: d).int64Value) }
            return .real(NSDecimalNumber(decimal: d).doubleValue)
        case .bytea:
            let buffer = try cell.decode(ByteBuffer.self)
            return .blob(Data(buffer.readableBytesView))
        default: return .text(try cell.decode(String.self))
        }
    }

    /// The engine's error without a bound value: the server's message and SQLSTATE (never its DETAIL, which can
    /// quote a key), or that the connection failed.
    static func mapped(_ error: any Error, connecting: String? = nil) -> any Error {
        if error is SQLEngineError || error is VaultError { return error }
        if let e = error as? PSQLError {
            if let info = e.serverInfo, let message = info[.message] {
                let state = info[.sqlState].map { " (SQLSTATE \($0))" } ?? ""
                // 57P01 admin shutdown, 57P02 crash shutdown, 57P03 cannot connect now, 08xxx connection exceptions.
                let lost = ["57P01", "57P02", "57P03"].contains(info[.sqlState] ?? "") || (info[.sqlState] ?? "").hasPrefix("08")
                return SQLEngineError(message + state, connectionLost: lost)
            }
            let what = connecting.map { "cannot connect to \($0)" } ?? "the connection to PostgreSQL failed"
            return SQLEngineError("\(what): \(e.code)", connectionLost: true)
        }
        let what = connecting.map { "cannot connect to \($0)" } ?? "the connection to PostgreSQL failed"
        return SQLEngineError("\(what): \(type(of: error))", connectionLost: true)
    }
}

extension Decimal {
    fileprivate func rounded() -> Decimal {
        var x = self, r = Decimal()
        NSDecimalRound(&r, &x, 0, .plain)
        return r
    }
}

/// `?` → `$1, $2, …` outside quoted text and identifiers (the catalog's SQL uses no `?` operator).
enum PlaceholderRewriter {
    private static let cache = LockedCache()

    static func rewrite(_ sql: String) -> String {
        if let hit = cache.get(sql) { return hit }
        var out = ""
        out.reserveCapacity(sql.utf8.count + 16)
        var n = 0
        var quote: Character?
        var inComment = false
        var previous: Character = " "
        for ch in sql {
            if inComment {
                // A `--` comment runs to the end of its line; a `?` or a quote in it is text.
                out.append(ch)
                if ch == "\n" { inComment = false }
            } else if let q = quote {
                out.append(ch)
                if ch == q { quote = nil }
            } else if ch == "'" || ch == "\"" {
                quote = ch
                out.append(ch)
            } else if ch == "-" && previous == "-" {
                inComment = true
                out.append(ch)
            } else if ch == "?" {
                n += 1
                out += "$\(n)"
            } else {
                out.append(ch)
            }
            previous = ch
        }
        cache.put(sql, out)
        return out
    }
}

private final class LockedCache: @unchecked Sendable {
    private let lock = NSLock()
    private var map: [String: String] = [:]
    func get(_ k: String) -> String? { lock.lock(); defer { lock.unlock() }; return map[k] }
    func put(_ k: String, _ v: String) {
        lock.lock(); defer { lock.unlock() }
        // Statements with IN lists of any length vary without end: the cache stays small.
        if map.count > 4096 { map.removeAll() }
        map[k] = v
    }
}

final class LockedCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var n = 0
    func next() -> Int { lock.lock(); defer { lock.unlock() }; n += 1; return n }
}

/// Waits on the calling thread for async work that runs on a thread of its own: the catalog's callers are
/// synchronous, some of them on Swift's cooperative threads, which the work must not need to finish.
enum BlockingBridge {
    private static let executor = ThreadTaskExecutor()

    static func run<T: Sendable>(_ operation: @escaping @Sendable () async throws -> T) throws -> T {
        let box = ResultBox<T>()
        let done = DispatchSemaphore(value: 0)
        Task.detached(executorPreference: executor) {
            do { box.result = .success(try await operation()) } catch { box.result = .failure(error) }
            done.signal()
        }
        done.wait()
        return try box.result!.get()
    }
}

private final class ResultBox<T>: @unchecked Sendable {
    var result: Result<T, any Error>?
}

private final class ThreadTaskExecutor: TaskExecutor, @unchecked Sendable {
    private let queue = DispatchQueue(label: "callvault.postgres.bridge")
    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        queue.async { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
