// Fixity in the catalog: what a check must re-read, in short keyset pages, and the last result it leaves.
import CallVaultCore
import Foundation

/// A stored audio file as the catalog describes it: what its bytes must still be.
public struct FixityItem: Sendable {
    public var rowid: Int64
    public var id: String
    public var audioPath: String
    public var audioBytes: Int64
    public var sha256: String
    /// Of the sidecar as ingest read it, kept verbatim in the recording's native folder (nil: stored before).
    public var sidecarSHA256: String? = nil
}

/// Which recordings a fixity run covers: those whose audio is present, optionally of one tenant and
/// ingested since an instant.
public struct FixityScope: Sendable {
    public var tenant: String?
    public var since: Date?

    public init(tenant: String? = nil, since: Date? = nil) {
        self.tenant = tenant
        self.since = since
    }

    func clause() -> (String, SQLArguments) {
        var sql = "audio_deleted_at IS NULL"
        var args = SQLArguments()
        if let tenant { sql += " AND tenant = ?"; args.append(contentsOf: [tenant]) }
        if let since { sql += " AND ingested_at >= ?"; args.append(contentsOf: [Timestamp.utc(since)]) }
        return (sql, args)
    }
}

/// The outcome of one fixity run, as kept in `store_meta` for the daemon's metrics.
public struct FixitySummary: Codable, Sendable, Equatable {
    /// When the run finished (RFC 3339 UTC).
    public var at: String
    public var checked: Int
    public var bytes: Int64
    public var modified: Int
    public var missing: Int
    public var unexpected: Int
    /// Stored too, so that readers of `store_meta` need not know the rule.
    public var ok: Bool

    public init(at: String, checked: Int, bytes: Int64, modified: Int, missing: Int, unexpected: Int) {
        self.at = at; self.checked = checked; self.bytes = bytes
        self.modified = modified; self.missing = missing; self.unexpected = unexpected
        ok = modified == 0 && missing == 0 && unexpected == 0
    }
}

/// What a store file found under `audio/` is to the catalog.
public enum AudioFileStatus: Sendable {
    /// The present audio of a recording, or a placement in flight.
    case known
    /// Neither.
    case unknown
}

extension Catalog {
    static let fixityMetaKey = "fixity_last"

    /// How many files and bytes a run will read, for its progress display.
    public func fixityTotals(_ scope: FixityScope) throws -> (files: Int, bytes: Int64) {
        try wrap("count stored audio") {
            try db.read { db in
                let (w, args) = scope.clause()
                let row = try SQLRow.fetchOne(db, sql: "SELECT count(*) AS n, coalesce(sum(audio_bytes), 0) AS b FROM recordings WHERE \(w)",
                                           arguments: args)
                let files: Int = row?["n"] ?? 0
                let bytes: Int64 = row?["b"] ?? 0
                return (files, bytes)
            }
        }
    }

    /// The next `limit` recordings of `scope` after rowid `after`: one short read transaction per page, so
    /// a run over a large store never holds a snapshot (or a lock) while it reads files.
    public func fixityPage(_ scope: FixityScope, after: Int64, limit: Int) throws -> [FixityItem] {
        try wrap("read stored audio") {
            try db.read { db in
                let (w, args) = scope.clause()
                var all = args
                all.append(contentsOf: [after])
                return try SQLRow.fetchAll(db, sql: """
                    SELECT rowid AS rid, id, audio_path, audio_bytes, sha256, sidecar_sha256 FROM recordings
                    WHERE \(w) AND rowid > ? ORDER BY rowid LIMIT \(limit)
                    """, arguments: all).map {
                    FixityItem(rowid: $0["rid"], id: $0["id"], audioPath: $0["audio_path"], audioBytes: $0["audio_bytes"], sha256: $0["sha256"],
                               sidecarSHA256: $0["sidecar_sha256"])
                }
            }
        }
    }

    /// Whether the catalog still says the audio of `id` is present (a sweep may have removed it meanwhile).
    public func audioPresent(id: String) throws -> Bool {
        try wrap("read recording") {
            try db.read { db in
                try Bool.fetchOne(db, sql: "SELECT 1 FROM recordings WHERE id = ? AND audio_deleted_at IS NULL", arguments: [id]) ?? false
            }
        }
    }

    /// For store-relative paths found under `audio/`: whether each is the present audio of a recording
    /// (found by the id its name carries, the primary key) or a placement in flight. One read transaction.
    public func classifyAudioFiles(_ paths: [String]) throws -> [String: AudioFileStatus] {
        try wrap("look up stored audio") {
            try db.read { db in
                var out: [String: AudioFileStatus] = [:]
                let byID = "SELECT 1 FROM recordings WHERE id = ? AND audio_path = ? AND audio_deleted_at IS NULL"
                let pending = "SELECT 1 FROM pending_placements WHERE audio_path = ? OR temp_path = ?"
                for path in paths {
                    let name = path.split(separator: "/").last.map(String.init) ?? path
                    var id = name.hasPrefix(".") ? String(name.dropFirst()) : name
                    if let dot = id.firstIndex(of: ".") { id = String(id[..<dot]) }
                    let stored = try Bool.fetchOne(db, sql: byID, arguments: [id, path], cached: true) ?? false
                    let inFlight = try Bool.fetchOne(db, sql: pending, arguments: [path, path], cached: true) ?? false
                    out[path] = stored || inFlight ? .known : .unknown
                }
                return out
            }
        }
    }

    /// Keeps the run's result for `/metrics` and appends its audit event, in one short write transaction.
    public func recordFixity(_ summary: FixitySummary, event: AuditEvent) throws {
        let json = String(decoding: (try? JSONEncoder().encode(summary)) ?? Data("{}".utf8), as: UTF8.self)
        try wrap("record fixity result") {
            try db.write { db in
                try db.execute(sql: Self.setMetaSQL, arguments: [Self.fixityMetaKey, json])
                try AuditLog.append([event], in: db)
            }
        }
    }

    /// The result of the last fixity run, if any.
    public func lastFixity() throws -> FixitySummary? {
        guard let text = try meta(Self.fixityMetaKey) else { return nil }
        return try? JSONDecoder().decode(FixitySummary.self, from: Data(text.utf8))
    }
}
