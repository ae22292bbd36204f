// Legal and incident holds in the catalog (SPEC §7): placed on the recordings that exist, released explicitly.
import CallVaultCore
import Foundation

/// A hold as the catalog keeps it.
public struct HoldRow: Codable, Sendable, Equatable, CatalogRecord {
    public static let databaseTableName = "holds"
    public var id: String
    public var kind: HoldKind
    public var caseRef: String
    public var note: String?
    public var placedBy: String
    public var placedAt: String
    public var reviewAt: String?
    public var releasedAt: String?
    public var releasedBy: String?
    public var releaseNote: String?

    enum CodingKeys: String, CodingKey {
        case id, kind, note
        case caseRef = "case_ref", placedBy = "placed_by", placedAt = "placed_at", reviewAt = "review_at"
        case releasedAt = "released_at", releasedBy = "released_by", releaseNote = "release_note"
    }

    public init(id: String, kind: HoldKind, caseRef: String, note: String?, placedBy: String, placedAt: String, reviewAt: String?) {
        self.id = id; self.kind = kind; self.caseRef = caseRef; self.note = note
        self.placedBy = placedBy; self.placedAt = placedAt; self.reviewAt = reviewAt
    }
}

extension HoldSelection {
    func whereClause() -> (String, SQLArguments) {
        var clauses: [String] = []
        var args = SQLArguments()
        if !recordingIDs.isEmpty {
            clauses.append("id IN (\(recordingIDs.map { _ in "?" }.joined(separator: ",")))")
            args.append(contentsOf: SQLArguments(recordingIDs))
        }
        if !callIDs.isEmpty {
            clauses.append("call_id IN (\(callIDs.map { _ in "?" }.joined(separator: ",")))")
            args.append(contentsOf: SQLArguments(callIDs))
        }
        if let tenant { clauses.append("tenant = ?"); args.append(contentsOf: [tenant]) }
        if let caller { clauses.append("(caller = ? OR callee = ?)"); args.append(contentsOf: [caller, caller]) }
        if let agent { clauses.append("agent_id = ?"); args.append(contentsOf: [agent]) }
        if let queue { clauses.append("queue = ?"); args.append(contentsOf: [queue]) }
        if let from { clauses.append("started_at >= ?"); args.append(contentsOf: [Timestamp.utc(from)]) }
        if let to { clauses.append("started_at < ?"); args.append(contentsOf: [Timestamp.utc(to)]) }
        return (clauses.isEmpty ? "1 = 0" : clauses.joined(separator: " AND "), args)
    }
}

extension Catalog {
    /// The recordings `selection` matches, newest first, at most `limit`, and how many there are in all: what a
    /// hold placed now would take.
    public func holdCandidates(_ selection: HoldSelection, limit: Int) throws -> (calls: [HoldCandidate], total: Int) {
        try wrap("preview hold") {
            try db.read { db in
                let (whereSQL, args) = selection.whereClause()
                let total = try Int.fetchOne(db, sql: "SELECT count(*) FROM recordings WHERE \(whereSQL)", arguments: args) ?? 0
                let rows = try SQLRow.fetchAll(db, sql: "SELECT id, tenant, started_at, agent_id, queue, audio_deleted_at FROM recordings WHERE \(whereSQL) ORDER BY started_at DESC, id DESC LIMIT \(limit)", arguments: args)
                return (rows.map(Self.candidate), total)
            }
        }
    }

    /// The calls of a hold, by start time.
    public func holdCalls(holdID: String) throws -> [HoldCandidate] {
        try wrap("read hold") {
            try db.read { db in
                try SQLRow.fetchAll(db, sql: """
                    SELECT r.id, r.tenant, r.started_at, r.agent_id, r.queue, r.audio_deleted_at FROM hold_items i JOIN recordings r ON r.id = i.recording_id
                    WHERE i.hold_id = ? ORDER BY r.started_at, r.id
                    """, arguments: [holdID]).map(Self.candidate)
            }
        }
    }

    static func candidate(_ row: SQLRow) -> HoldCandidate {
        HoldCandidate(recordingID: row["id"], tenant: row["tenant"], startedAt: row["started_at"], agentID: row["agent_id"], queue: row["queue"],
                      audioDeleted: (row["audio_deleted_at"] as String?) != nil)
    }

    /// Places a hold on the recordings matching `selection` at this instant, in one transaction (so a sweep
    /// either ran entirely before it or sees it). Returns (recordings, of which metadata only).
    public func placeHold(_ hold: HoldRow, selection: HoldSelection, event: AuditEvent) throws -> (recordings: Int, metadataOnly: Int) {
        try wrap("place hold") {
            try db.write { db in
                let (whereSQL, args) = selection.whereClause()
                let rows = try SQLRow.fetchAll(db, sql: "SELECT id, audio_deleted_at FROM recordings WHERE \(whereSQL) ORDER BY id", arguments: args)
                guard !rows.isEmpty else { return (0, 0) }
                try hold.insert(db)
                var metadataOnly = 0
                for row in rows {
                    let audioGone = (row["audio_deleted_at"] as String?) != nil
                    if audioGone { metadataOnly += 1 }
                    try db.execute(sql: "INSERT INTO hold_items (hold_id, recording_id, metadata_only) VALUES (?, ?, ?)",
                                   arguments: [hold.id, row["id"] as String, audioGone])
                }
                var e = event
                e.details["recordings"] = String(rows.count)
                e.details["metadata_only"] = String(metadataOnly)
                try AuditLog.append(e, in: db)
                return (rows.count, metadataOnly)
            }
        }
    }

    /// Releases an active hold. Returns false when there is no such active hold. With `erasure`, the calls of
    /// erasure requests that no active hold keeps any more are erased in the same transaction (README: Data-subject requests).
    /// Unless `confirmedErasure`, a release that would erase calls now is refused (nothing changes), saying
    /// how many calls for which requests: an officer must not erase in silence by closing a case.
    public func releaseHold(id: String, by user: String, note: String, at now: Date, event: AuditEvent,
                            erasure: ErasureEffects? = nil, confirmedErasure: Bool = false) throws -> Bool {
        try wrap("release hold") {
            try db.write { db in
                if erasure != nil, !confirmedErasure {
                    let waiting = try Self.erasuresWaiting(db, onHold: id)
                    if !waiting.isEmpty {
                        let calls = waiting.map(\.calls).reduce(0, +)
                        let which = waiting.map { "request \($0.request): \($0.calls)" }.joined(separator: ", ")
                        throw VaultError(.usage, "hold \(id): releasing it erases \(calls) call(s) now, waiting for an erasure (\(which)); confirm the erasure to release it (`hold release --confirm-erasure`, or the box on the hold's page)")
                    }
                }
                try db.execute(sql: "UPDATE holds SET released_at = ?, released_by = ?, release_note = ? WHERE id = ? AND released_at IS NULL",
                               arguments: [Timestamp.utc(now), user, note, id])
                guard db.changesCount == 1 else { return false }
                try AuditLog.append(event, in: db)
                if let erasure { _ = try Self.erasePendingReleased(db, now: now, effects: erasure) }
                return true
            }
        }
    }

    public func holds(activeOnly: Bool) throws -> [(HoldRow, Int)] {
        try wrap("list holds") {
            try db.read { db in
                let rows = try HoldRow.fetchAll(db, sql: "SELECT * FROM holds \(activeOnly ? "WHERE released_at IS NULL" : "") ORDER BY placed_at, id")
                return try rows.map { h in
                    (h, try Int.fetchOne(db, sql: "SELECT count(*) FROM hold_items WHERE hold_id = ?", arguments: [h.id]) ?? 0)
                }
            }
        }
    }

    /// Active holds whose review date is at or before `now`, the longest overdue first: a hold kept past its
    /// review keeps calls beyond retention without anyone having decided it still should.
    public func holdsDueForReview(at now: Date) throws -> [(HoldRow, Int)] {
        try wrap("list holds due for review") {
            try db.read { db in
                let rows = try HoldRow.fetchAll(db, sql: """
                    SELECT * FROM holds WHERE released_at IS NULL AND review_at IS NOT NULL AND review_at <= ? ORDER BY review_at, id
                    """, arguments: [Timestamp.utc(now)])
                return try rows.map { h in
                    (h, try Int.fetchOne(db, sql: "SELECT count(*) FROM hold_items WHERE hold_id = ?", arguments: [h.id]) ?? 0)
                }
            }
        }
    }

    public func hold(id: String) throws -> (HoldRow, [(recordingID: String, metadataOnly: Bool)])? {
        try wrap("read hold") {
            try db.read { db in
                guard let h = try HoldRow.fetchOne(db, key: id) else { return nil }
                let items = try SQLRow.fetchAll(db, sql: "SELECT recording_id, metadata_only FROM hold_items WHERE hold_id = ? ORDER BY recording_id", arguments: [id])
                return (h, items.map { ($0["recording_id"], $0["metadata_only"]) })
            }
        }
    }

    /// Active holds covering a recording.
    public func activeHolds(recordingID: String) throws -> [HoldRow] {
        try wrap("read holds") {
            try db.read { db in
                try HoldRow.fetchAll(db, sql: """
                    SELECT holds.* FROM holds JOIN hold_items hi ON hi.hold_id = holds.id
                    WHERE hi.recording_id = ? AND holds.released_at IS NULL ORDER BY holds.placed_at
                    """, arguments: [recordingID])
            }
        }
    }

    /// Recomputes stored expiry instants with `expiries` (the current policy) for one tenant's recordings,
    /// in one transaction with its audit event. Returns how many moved earlier and later.
    public func reapplyRetention(tenant: String, expiries: (Date) -> (audio: Date, metadata: Date),
                                 event: AuditEvent) throws -> (earlier: Int, later: Int) {
        try wrap("reapply retention") {
            try db.write { db in
                var earlier = 0, later = 0
                let rows = try SQLRow.fetchAll(db, sql: "SELECT id, started_at, audio_expires_at, metadata_expires_at FROM recordings WHERE tenant = ?", arguments: [tenant])
                for row in rows {
                    guard let started = Timestamp.parse(row["started_at"]) else { continue }
                    let e = expiries(started)
                    let a = Timestamp.utc(e.audio), m = Timestamp.utc(e.metadata)
                    let oldA: String = row["audio_expires_at"], oldM: String = row["metadata_expires_at"]
                    guard a != oldA || m != oldM else { continue }
                    if a < oldA || m < oldM { earlier += 1 } else { later += 1 }
                    try db.execute(sql: "UPDATE recordings SET audio_expires_at = ?, metadata_expires_at = ? WHERE id = ?",
                                   arguments: [a, m, row["id"] as String])
                }
                var ev = event
                ev.details["earlier"] = String(earlier)
                ev.details["later"] = String(later)
                ev.details["tenant"] = tenant
                try AuditLog.append(ev, in: db)
                return (earlier, later)
            }
        }
    }

    /// The erasures waiting on hold `id`: per request, the calls that releasing it would erase now (covered by no
    /// other active hold and by no legal-claims restriction).
    public func erasuresWaiting(onHold id: String) throws -> [(request: String, calls: Int)] {
        try wrap("read hold") { try db.read { db in try Self.erasuresWaiting(db, onHold: id) } }
    }

    static func erasuresWaiting(_ db: any SQLSession, onHold id: String) throws -> [(request: String, calls: Int)] {
        try SQLRow.fetchAll(db, sql: """
            SELECT i.request_id AS request, count(DISTINCT i.recording_id) AS calls FROM request_items i
            JOIN recordings ON recordings.id = i.recording_id
            WHERE i.erasure_pending = 1 AND i.recording_id IN (SELECT recording_id FROM hold_items WHERE hold_id = ?)
              AND NOT EXISTS (SELECT 1 FROM hold_items hi JOIN holds h ON h.id = hi.hold_id
                              WHERE hi.recording_id = recordings.id AND h.released_at IS NULL AND h.id != ?)
              AND NOT \(Deletable.claimed)
            GROUP BY i.request_id ORDER BY i.request_id
            """, arguments: [id, id]).map { ($0["request"] as String, Int($0["calls"] as Int64)) }
    }
}
