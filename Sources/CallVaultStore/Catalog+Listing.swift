// Listing, showing and reporting from the catalog: scoped, filtered, keyset-paginated, index-driven.
import CallVaultCore
import Foundation

/// The recordings a user may see and the filters of `callvault list` (SPEC §8, §9).
public struct ListingQuery: Sendable {
    /// Coach scope: teams and tenants (nil = no coach scope: compliance officers and admins see everything).
    public var scopeTeams: [String]?
    public var scopeTenants: [String]?
    /// The QA coaching rule: compliant, not restricted, not waiting for an erasure, audio still there.
    public var coachingOnly = false
    /// With `coachingOnly`: the instant whose normal audio expiry hides a recording, held or not (a hold keeps
    /// evidence for officers; it does not prolong a coach's use of the call — SPEC §14).
    public var audioUnexpiredAt: Date?
    public var tenant: String?
    public var team: String?
    public var agent: String?
    public var queue: String?
    public var from: Date?
    public var to: Date?
    public var direction: String?
    public var minDuration: Double?
    public var maxDuration: Double?
    /// Audio expiring before this instant.
    public var expiringBefore: Date?
    public var limit = 50
    /// Resume after this (started_at, id), newest first.
    public var after: (startedAt: String, id: String)?

    public init() {}

    func whereClause() -> (String, SQLArguments) {
        var c: [String] = []
        var a = SQLArguments()
        func add(_ sql: String, _ values: [(any SQLValueConvertible)?]) {
            c.append(sql)
            for v in values { a.append(v) }
        }
        let teams = scopeTeams ?? [], tenants = scopeTenants ?? []
        if scopeTeams != nil || scopeTenants != nil {
            // A coach with teams and tenants sees those teams within those tenants; with one of them, that one.
            if !teams.isEmpty { add("team IN (\(teams.map { _ in "?" }.joined(separator: ",")))", teams) }
            if !tenants.isEmpty { add("tenant IN (\(tenants.map { _ in "?" }.joined(separator: ",")))", tenants) }
            if teams.isEmpty && tenants.isEmpty { c.append("1 = 0") }
        }
        if coachingOnly {
            // Announced calls only: a call the detector found unannounced, or sent to review, is not for coaching.
            c.append("\(Catalog.compliantCall) AND restricted = \(Restriction.none.rawValue) AND audio_deleted_at IS NULL")
            // Kept only because a hold stopped its erasure (art. 17(3)(e)): for the legal case, not for coaching.
            c.append("NOT EXISTS (SELECT 1 FROM request_items WHERE request_items.recording_id = recordings.id AND request_items.erasure_pending = 1)")
            if let audioUnexpiredAt { add("audio_expires_at > ?", [Timestamp.utc(audioUnexpiredAt)]) }
        }
        if let tenant { add("tenant = ?", [tenant]) }
        if let team { add("team = ?", [team]) }
        if let agent { add("agent_id = ?", [agent]) }
        if let queue { add("queue = ?", [queue]) }
        if let from { add("started_at >= ?", [Timestamp.utc(from)]) }
        if let to { add("started_at < ?", [Timestamp.utc(to)]) }
        if let direction { add("direction = ?", [direction]) }
        if let minDuration { add("duration_s >= ?", [minDuration]) }
        if let maxDuration { add("duration_s <= ?", [maxDuration]) }
        if let expiringBefore { add("audio_deleted_at IS NULL AND audio_expires_at <= ?", [Timestamp.utc(expiringBefore)]) }
        if let after { add("(started_at, id) < (?, ?)", [after.startedAt, after.id]) }
        return (c.isEmpty ? "1 = 1" : c.joined(separator: " AND "), a)
    }
}

/// A recording as listed: the row and whether an active hold covers it (nil: not for this user to know).
public struct ListedRecording: Sendable {
    public var row: RecordingRow
    public var onHold: Bool?

    public init(row: RecordingRow, onHold: Bool?) {
        self.row = row
        self.onHold = onHold
    }
}

extension Catalog {
    /// One page, newest first, and whether more follow.
    public func list(_ q: ListingQuery) throws -> (page: [ListedRecording], more: Bool) {
        try wrap("list recordings") {
            try db.read { db in
                let (w, args) = q.whereClause()
                let rows = try SQLRow.fetchAll(db, sql: """
                    SELECT recordings.*, \(Deletable.held) AS on_hold FROM recordings
                    WHERE \(w) ORDER BY started_at DESC, id DESC LIMIT \(q.limit + 1)
                    """, arguments: args)
                let page = try rows.prefix(q.limit).map { ListedRecording(row: try RecordingRow(row: $0), onHold: $0["on_hold"] as Bool) }
                return (page, rows.count > q.limit)
            }
        }
    }

    /// Whether `id` passes the scope and coaching rule of `q` (for show and export).
    /// The tenants of the recordings `q` lets its user see, for a filter that must not name others.
    public func tenants(_ q: ListingQuery) throws -> [String] {
        try wrap("list tenants") {
            try db.read { db in
                let (w, args) = q.whereClause()
                return try String.fetchAll(db, sql: "SELECT DISTINCT tenant FROM recordings WHERE \(w) ORDER BY tenant", arguments: args)
            }
        }
    }

    public func visible(id: String, _ q: ListingQuery) throws -> Bool {
        try wrap("check scope") {
            try db.read { db in
                let (w, args) = q.whereClause()
                var all = SQLArguments([id])
                all.append(contentsOf: args)
                return try Bool.fetchOne(db, sql: "SELECT 1 FROM recordings WHERE id = ? AND \(w)", arguments: all) ?? false
            }
        }
    }
}
