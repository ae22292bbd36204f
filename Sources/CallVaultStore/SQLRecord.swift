// Catalog rows as Swift values: a Codable record is read from a result row and inserted by its coding keys,
// the same on both engines (what GRDB's FetchableRecord/PersistableRecord did for SQLite alone).
import Foundation

public protocol CatalogRecord: Codable {
    static var databaseTableName: String { get }
    static var primaryKeyColumn: String { get }
}

extension CatalogRecord {
    public static var primaryKeyColumn: String { "id" }

    public init(row: SQLRow) throws {
        try self.init(from: RowDecoder(row: row))
    }

    public static func fetchAll(_ db: any SQLSession, sql: String, arguments: SQLArguments = []) throws -> [Self] {
        try db.fetchAll(sql: sql, arguments: arguments, cached: false).map { try Self(row: $0) }
    }

    public static func fetchAll(_ db: any SQLSession) throws -> [Self] {
        try fetchAll(db, sql: "SELECT * FROM \(databaseTableName)")
    }

    public static func fetchOne(_ db: any SQLSession, sql: String, arguments: SQLArguments = []) throws -> Self? {
        try db.fetchAll(sql: sql, arguments: arguments, cached: false).first.map { try Self(row: $0) }
    }

    public static func fetchOne(_ db: any SQLSession, key: String) throws -> Self? {
        try db.fetchAll(sql: "SELECT * FROM \(databaseTableName) WHERE \(primaryKeyColumn) = ?", arguments: [key], cached: true)
            .first.map { try Self(row: $0) }
    }

    /// Inserts many records in multi-row statements (one round trip per run of rows instead of one per row; a
    /// column some record leaves out is NULL for it, as its default is).
    public static func insertAll(_ records: [Self], in db: any SQLSession) throws {
        guard !records.isEmpty else { return }
        var columns: [String] = []
        var index: [String: Int] = [:]
        let encoded = try records.map { r -> [(String, SQLValue)] in
            let encoder = RowEncoder()
            try r.encode(to: encoder)
            for (name, _) in encoder.storage.columns where index[name] == nil {
                index[name] = columns.count
                columns.append(name)
            }
            return encoder.storage.columns
        }
        let rowMarks = "(" + Array(repeating: "?", count: columns.count).joined(separator: ", ") + ")"
        for run in encoded.runs(of: max(1, 30_000 / columns.count)) {
            var args = SQLArguments()
            args.values.reserveCapacity(run.count * columns.count)
            for row in run {
                var values = [SQLValue](repeating: .null, count: columns.count)
                for (name, v) in row { values[index[name]!] = v }
                args.values += values
            }
            try db.execute(sql: "INSERT INTO \(databaseTableName) (\(columns.joined(separator: ", "))) VALUES "
                           + Array(repeating: rowMarks, count: run.count).joined(separator: ", "), arguments: args, cached: true)
        }
    }

    /// Inserts the record; nil optionals are left to the column's default (NULL). `ignoringConflicts`: a row
    /// with the same key already there is kept and this one dropped.
    public func insert(_ db: any SQLSession, ignoringConflicts: Bool = false) throws {
        let encoder = RowEncoder()
        try encode(to: encoder)
        let columns = encoder.storage.columns
        let sql = "INSERT INTO \(Self.databaseTableName) (\(columns.map(\.0).joined(separator: ", "))) VALUES ("
            + Array(repeating: "?", count: columns.count).joined(separator: ", ") + ")"
            + (ignoringConflicts ? " ON CONFLICT DO NOTHING" : "")
        var args = SQLArguments()
        args.values = columns.map(\.1)
        try db.execute(sql: sql, arguments: args, cached: true)
    }
}

// MARK: decoding a row

private struct RowDecoder: Decoder {
    let row: SQLRow
    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        KeyedDecodingContainer(RowContainer<Key>(row: row))
    }
    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        throw DecodingError.typeMismatch([Any].self, .init(codingPath: [], debugDescription: "a catalog row is keyed"))
    }
    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        throw DecodingError.typeMismatch(Any.self, .init(codingPath: [], debugDescription: "a catalog row is keyed"))
    }
}

private struct RowContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let row: SQLRow
    var codingPath: [any CodingKey] { [] }
    var allKeys: [Key] { row.columns.names.compactMap(Key.init(stringValue:)) }

    func contains(_ key: Key) -> Bool { row.columns.index[key.stringValue] != nil }
    func decodeNil(forKey key: Key) throws -> Bool { row.value(key.stringValue) == .null }

    private func get<T: SQLValueConvertible>(_ key: Key) throws -> T {
        guard let v = row.value(key.stringValue) else {
            throw DecodingError.keyNotFound(key, .init(codingPath: [], debugDescription: "no column \(key.stringValue)"))
        }
        guard let x = T.fromSQL(v) else {
            throw DecodingError.typeMismatch(T.self, .init(codingPath: [key], debugDescription: "column \(key.stringValue) holds \(v.kind)"))
        }
        return x
    }

    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try get(key) }
    func decode(_ type: String.Type, forKey key: Key) throws -> String { try get(key) }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try get(key) }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float { Float(try get(key) as Double) }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try get(key) }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { Int8(try get(key) as Int64) }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { Int16(try get(key) as Int64) }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { Int32(try get(key) as Int64) }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try get(key) }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { UInt(try get(key) as Int64) }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { UInt8(try get(key) as Int64) }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { UInt16(try get(key) as Int64) }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { UInt32(try get(key) as Int64) }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { UInt64(try get(key) as Int64) }
    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        if let t = T.self as? any SQLValueConvertible.Type, let v = row.value(key.stringValue), let x = t.fromSQL(v) as? T { return x }
        throw DecodingError.typeMismatch(T.self, .init(codingPath: [key], debugDescription: "column \(key.stringValue) is not \(T.self)"))
    }
    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        throw DecodingError.typeMismatch(type, .init(codingPath: [key], debugDescription: "a catalog column is not nested"))
    }
    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        throw DecodingError.typeMismatch([Any].self, .init(codingPath: [key], debugDescription: "a catalog column is not nested"))
    }
    func superDecoder() throws -> any Decoder { RowDecoder(row: row) }
    func superDecoder(forKey key: Key) throws -> any Decoder { RowDecoder(row: row) }
}

// MARK: encoding a record

private final class RowStorage {
    var columns: [(String, SQLValue)] = []
}

private struct RowEncoder: Encoder {
    let storage = RowStorage()
    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        KeyedEncodingContainer(RowEncodingContainer<Key>(storage: storage))
    }
    func unkeyedContainer() -> any UnkeyedEncodingContainer { fatalError("a catalog record is keyed") }
    func singleValueContainer() -> any SingleValueEncodingContainer { fatalError("a catalog record is keyed") }
}

private struct RowEncodingContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let storage: RowStorage
    var codingPath: [any CodingKey] { [] }

    private func put(_ v: SQLValue, _ key: Key) { storage.columns.append((key.stringValue, v)) }

    mutating func encodeNil(forKey key: Key) throws { put(.null, key) }
    mutating func encode(_ value: Bool, forKey key: Key) throws { put(value.sqlValue, key) }
    mutating func encode(_ value: String, forKey key: Key) throws { put(value.sqlValue, key) }
    mutating func encode(_ value: Double, forKey key: Key) throws { put(value.sqlValue, key) }
    mutating func encode(_ value: Float, forKey key: Key) throws { put(Double(value).sqlValue, key) }
    mutating func encode(_ value: Int, forKey key: Key) throws { put(value.sqlValue, key) }
    mutating func encode(_ value: Int8, forKey key: Key) throws { put(.integer(Int64(value)), key) }
    mutating func encode(_ value: Int16, forKey key: Key) throws { put(.integer(Int64(value)), key) }
    mutating func encode(_ value: Int32, forKey key: Key) throws { put(.integer(Int64(value)), key) }
    mutating func encode(_ value: Int64, forKey key: Key) throws { put(value.sqlValue, key) }
    mutating func encode(_ value: UInt, forKey key: Key) throws { put(.integer(Int64(value)), key) }
    mutating func encode(_ value: UInt8, forKey key: Key) throws { put(.integer(Int64(value)), key) }
    mutating func encode(_ value: UInt16, forKey key: Key) throws { put(.integer(Int64(value)), key) }
    mutating func encode(_ value: UInt32, forKey key: Key) throws { put(.integer(Int64(value)), key) }
    mutating func encode(_ value: UInt64, forKey key: Key) throws { put(.integer(Int64(value)), key) }
    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        guard let v = value as? any SQLValueConvertible else {
            throw EncodingError.invalidValue(value, .init(codingPath: [key], debugDescription: "not a catalog column type"))
        }
        put(v.sqlValue, key)
    }
    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
        fatalError("a catalog column is not nested")
    }
    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer { fatalError("a catalog column is not nested") }
    mutating func superEncoder() -> any Encoder { RowEncoder() }
    mutating func superEncoder(forKey key: Key) -> any Encoder { RowEncoder() }
}
