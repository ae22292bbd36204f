// The one SQL surface the catalog is written against (issue 12): values, rows, argument lists and a session
// inside a transaction. Two engines implement it — SQLite through GRDB (SQLiteEngine) and PostgreSQL through
// postgres-nio (PostgresEngine) — so the catalog's queries are written once, with the few differences between
// the two dialects asked of the session (`dialect`), never decided in the use cases.
import CallVaultCore
import Foundation

/// A value as it crosses the engine boundary. Booleans are integers 0/1 in both engines (the schema's choice,
/// so that `restricted = 1` and `sum(...)` read the same everywhere).
public enum SQLValue: Sendable, Equatable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob(Data)

    /// The kind only: errors name it, never the value (a value may be a phone number).
    public var kind: String {
        switch self {
        case .null: "NULL"
        case .integer: "integer"
        case .real: "real"
        case .text: "text"
        case .blob: "blob"
        }
    }
}

/// A Swift value that is one column's value.
public protocol SQLValueConvertible {
    var sqlValue: SQLValue { get }
    /// nil when `value` is not of this type (NULL included, but for Optional).
    static func fromSQL(_ value: SQLValue) -> Self?
}

extension String: SQLValueConvertible {
    public var sqlValue: SQLValue { .text(self) }
    public static func fromSQL(_ value: SQLValue) -> String? { if case .text(let s) = value { s } else { nil } }
}

extension Int64: SQLValueConvertible {
    public var sqlValue: SQLValue { .integer(self) }
    public static func fromSQL(_ value: SQLValue) -> Int64? {
        switch value {
        case .integer(let i): i
        // PostgreSQL's sum() of integers is numeric, read as a real: whole values are integers again.
        case .real(let d) where d.rounded() == d && abs(d) < 9.2e18: Int64(d)
        default: nil
        }
    }
}

extension Int: SQLValueConvertible {
    public var sqlValue: SQLValue { .integer(Int64(self)) }
    public static func fromSQL(_ value: SQLValue) -> Int? { Int64.fromSQL(value).map { Int($0) } }
}

extension Double: SQLValueConvertible {
    public var sqlValue: SQLValue { .real(self) }
    public static func fromSQL(_ value: SQLValue) -> Double? {
        switch value {
        case .real(let d): d
        case .integer(let i): Double(i)
        default: nil
        }
    }
}

extension Bool: SQLValueConvertible {
    public var sqlValue: SQLValue { .integer(self ? 1 : 0) }
    public static func fromSQL(_ value: SQLValue) -> Bool? { Int64.fromSQL(value).map { $0 != 0 } }
}

extension Data: SQLValueConvertible {
    public var sqlValue: SQLValue { .blob(self) }
    public static func fromSQL(_ value: SQLValue) -> Data? { if case .blob(let d) = value { d } else { nil } }
}

/// A vocabulary is stored as its raw text; text the code does not know is not of the type (a decoding error
/// naming the column).
extension SQLValueConvertible where Self: RawRepresentable, Self.RawValue == String {
    public var sqlValue: SQLValue { .text(rawValue) }
    public static func fromSQL(_ value: SQLValue) -> Self? { String.fromSQL(value).flatMap(Self.init(rawValue:)) }
}

extension SQLValueConvertible where Self: RawRepresentable, Self.RawValue == Int {
    public var sqlValue: SQLValue { .integer(Int64(rawValue)) }
    public static func fromSQL(_ value: SQLValue) -> Self? { Int.fromSQL(value).flatMap(Self.init(rawValue:)) }
}

extension Direction: SQLValueConvertible {}
extension AuditAction: SQLValueConvertible {}
extension AnnouncementVerdict: SQLValueConvertible {}
extension Restriction: SQLValueConvertible {}
extension HoldKind: SQLValueConvertible {}

extension Optional: SQLValueConvertible where Wrapped: SQLValueConvertible {
    public var sqlValue: SQLValue { self?.sqlValue ?? .null }
    public static func fromSQL(_ value: SQLValue) -> Wrapped?? {
        if case .null = value { return .some(nil) }
        return Wrapped.fromSQL(value).map { .some($0) }
    }
}

/// The arguments of one statement, bound to its `?` marks in order.
public struct SQLArguments: Sendable, ExpressibleByArrayLiteral {
    public var values: [SQLValue]

    public init() { values = [] }
    public init(arrayLiteral elements: (any SQLValueConvertible)?...) { values = elements.map { $0?.sqlValue ?? .null } }
    public init<S: Sequence>(_ elements: S) where S.Element: SQLValueConvertible { values = elements.map(\.sqlValue) }

    public mutating func append(_ value: (any SQLValueConvertible)?) { values.append(value?.sqlValue ?? .null) }
    public mutating func append(contentsOf other: SQLArguments) { values += other.values }
}

/// Column names of a result, shared by its rows.
public final class SQLColumns: Sendable {
    public let names: [String]
    let index: [String: Int]
    public init(_ names: [String]) {
        self.names = names
        var index: [String: Int] = [:]
        // The first of two same-named columns wins, as in SQLite (`SELECT recordings.*, … AS x`).
        for (i, n) in names.enumerated() where index[n] == nil { index[n] = i }
        self.index = index
    }
}

/// One result row, read by column name.
public struct SQLRow: Sendable, CustomStringConvertible {
    /// `[name:value …]`, for tests and debugging only: never logged (a value may be a phone number).
    public var description: String {
        "[" + zip(columns.names, values).map { name, v in
            switch v {
            case .null: "\(name):NULL"
            case .integer(let i): "\(name):\(i)"
            case .real(let d): "\(name):\(d)"
            case .text(let s): "\(name):\"\(s)\""
            case .blob(let b): "\(name):<\(b.count) bytes>"
            }
        }.joined(separator: " ") + "]"
    }

    let columns: SQLColumns
    public let values: [SQLValue]

    public init(columns: SQLColumns, values: [SQLValue]) {
        self.columns = columns
        self.values = values
    }

    public func value(_ name: String) -> SQLValue? { columns.index[name].map { values[$0] } }

    /// The column's value as `T`. A missing column or a value of another type is a programming error (the
    /// query and the code disagree), as with GRDB: the message names the column and the kind, not the value.
    public subscript<T: SQLValueConvertible>(_ name: String) -> T {
        guard let i = columns.index[name] else { fatalError("catalog: no column \(name) in the result") }
        guard let v = T.fromSQL(values[i]) else { fatalError("catalog: column \(name) holds \(values[i].kind), not \(T.self)") }
        return v
    }

    public static func fetchAll(_ db: any SQLSession, sql: String, arguments: SQLArguments = []) throws -> [SQLRow] {
        try db.fetchAll(sql: sql, arguments: arguments, cached: false)
    }

    public static func fetchOne(_ db: any SQLSession, sql: String, arguments: SQLArguments = [], cached: Bool = false) throws -> SQLRow? {
        try db.fetchAll(sql: sql, arguments: arguments, cached: cached).first
    }
}

extension SQLValueConvertible {
    /// The first column of the first row; nil when there is no row (or, for a non-optional type, it is NULL).
    public static func fetchOne(_ db: any SQLSession, sql: String, arguments: SQLArguments = [], cached: Bool = false) throws -> Self? {
        guard let row = try db.fetchAll(sql: sql, arguments: arguments, cached: cached).first, let v = row.values.first else { return nil }
        return Self.fromSQL(v)
    }

    /// The first column of every row.
    public static func fetchAll(_ db: any SQLSession, sql: String, arguments: SQLArguments = []) throws -> [Self] {
        try db.fetchAll(sql: sql, arguments: arguments, cached: false).map { row in
            guard let v = row.values.first, let x = Self.fromSQL(v) else {
                fatalError("catalog: first column holds \(row.values.first?.kind ?? "nothing"), not \(Self.self)")
            }
            return x
        }
    }
}

/// Which SQL the engine speaks, for the few places where the two differ.
public enum SQLDialect: String, Sendable {
    case sqlite
    case postgres

    /// A text field of a JSON object column, as text (NULL when absent).
    func jsonField(_ column: String, _ key: String) -> String {
        switch self {
        case .sqlite: "json_extract(\(column), '$.\(key)')"
        case .postgres: "(\(column)::jsonb ->> '\(key)')"
        }
    }

    /// The database's own clock, `seconds` from now, as an instant in the catalog's text form. Leases are
    /// written and compared on the server's clock: hosts' clocks may disagree by more than a lease.
    func utcNow(plus seconds: Int = 0) -> String {
        switch self {
        case .sqlite: "strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '\(seconds) seconds')"
        case .postgres: "to_char((clock_timestamp() + interval '\(seconds) seconds') AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
        }
    }

    /// A column that must not lead the planner to its own index (SQLite's unary `+`); PostgreSQL plans by cost.
    func unindexed(_ column: String) -> String {
        switch self {
        case .sqlite: "+\(column)"
        case .postgres: column
        }
    }
}

extension Array {
    /// The elements in runs of at most `size`: statements with one `?` per element stay within both engines'
    /// parameter limits (SQLite 32,766, PostgreSQL 65,535) and are sent once per run instead of once per element,
    /// which is what a round trip to a server costs.
    func runs(of size: Int) -> [ArraySlice<Element>] {
        stride(from: 0, to: count, by: size).map { self[$0..<Swift.min($0 + size, count)] }
    }
}

/// `?,?,…,?` for `n` values.
func marks(_ n: Int) -> String {
    Array(repeating: "?", count: n).joined(separator: ",")
}

/// One transaction's connection. Statements use `?` marks; the engine rewrites them for its server.
public protocol SQLSession: AnyObject {
    var dialect: SQLDialect { get }
    /// Rows changed by the last `execute`.
    var changesCount: Int { get }
    /// `cached`: the statement is prepared once per connection (SQLite); for statements run again and again.
    func execute(sql: String, arguments: SQLArguments, cached: Bool) throws
    func fetchAll(sql: String, arguments: SQLArguments, cached: Bool) throws -> [SQLRow]
    /// Streams the rows of a large result (the whole audit log) without holding them all; `body` returns false to stop.
    func forEachRow(sql: String, arguments: SQLArguments, _ body: (SQLRow) throws -> Bool) throws
}

extension SQLSession {
    public func execute(sql: String, arguments: SQLArguments = []) throws {
        try execute(sql: sql, arguments: arguments, cached: false)
    }

    public func execute(cached sql: String, arguments: SQLArguments = []) throws {
        try execute(sql: sql, arguments: arguments, cached: true)
    }
}

/// A failure of the catalog's engine, with the engine's own message (never a bound argument).
public struct SQLEngineError: Error, CustomStringConvertible, Sendable {
    public var message: String
    /// The server could not be reached or the connection broke: a vault failure that passes when it is back.
    public var connectionLost: Bool

    public init(_ message: String, connectionLost: Bool = false) {
        self.message = message
        self.connectionLost = connectionLost
    }

    public var description: String { message }
}

/// A catalog engine: short read and write transactions. Write transactions are serialised by the engine
/// (SQLite: one writer; PostgreSQL: a transaction-level advisory lock), so a check and the write it decides
/// see no other writer in between, whichever host runs them.
public protocol CatalogEngine: Sendable {
    var dialect: SQLDialect { get }
    /// Where the catalog is, for messages (a file path, or the server and database without a password).
    var location: String { get }
    func read<T>(_ body: (any SQLSession) throws -> T) throws -> T
    func write<T>(_ body: (any SQLSession) throws -> T) throws -> T
    /// A write that does not wait for the serialising lock (a lease renewal touches only its own row).
    func writeUnserialised<T>(_ body: (any SQLSession) throws -> T) throws -> T
    /// Takes `role` for this process if no other process (on any host using this catalog) has it; nil when one
    /// does. Held until released, or until the process dies (the lock goes with its file or its connection).
    func tryExclusive(_ role: ExclusiveRole) throws -> (any ExclusiveHold)?
}

/// What only one process at a time may do on a catalog.
public enum ExclusiveRole: String, Sendable {
    case sweeper
}

public protocol ExclusiveHold: AnyObject, Sendable {
    /// False once the hold is gone (released, or the connection that held it closed).
    var isHeld: Bool { get }
    func release()
}
