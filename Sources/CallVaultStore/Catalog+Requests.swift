// Data-subject requests in the catalog: the register, the calls a request matched, erasure and restriction.
import CallVaultCore
import Foundation

/// A request as the register keeps it. No phone number: subjects are keyed hashes in `request_subjects`.
public struct RequestRow: Codable, Sendable, Equatable, CatalogRecord {
    public static let databaseTableName = "requests"
    public var id: String
    public var kind: String
    /// nil: the request covers every tenant.
    public var tenant: String?
    public var reference: String
    public var note: String?
    public var receivedAt: String
    /// received + 1 month in the tenant's zone; `dueAt` is the deadline in force (later once extended).
    public var firstDueAt: String
    public var dueAt: String
    public var extendedBy: String?
    public var extensionReason: String?
    public var openedBy: String
    public var openedAt: String
    public var closedAt: String?
    public var closedBy: String?
    public var outcome: String?
    /// The ground of an active or lifted restriction (art. 18(1)(a)-(d)).
    public var restrictionGround: String?
    public var restrictedAt: String?
    public var restrictionLiftedAt: String?

    enum CodingKeys: String, CodingKey {
        case id, kind, tenant, reference, note, outcome
        case receivedAt = "received_at", firstDueAt = "first_due_at", dueAt = "due_at", extendedBy = "extended_by"
        case extensionReason = "extension_reason", openedBy = "opened_by", openedAt = "opened_at", closedAt = "closed_at"
        case closedBy = "closed_by", restrictionGround = "restriction_ground", restrictedAt = "restricted_at"
        case restrictionLiftedAt = "restriction_lifted_at"
    }

    public init(id: String, kind: String, tenant: String?, reference: String, note: String?, receivedAt: String,
                dueAt: String, openedBy: String, openedAt: String) {
        self.id = id; self.kind = kind; self.tenant = tenant; self.reference = reference; self.note = note
        self.receivedAt = receivedAt; self.firstDueAt = dueAt; self.dueAt = dueAt; self.openedBy = openedBy
        self.openedAt = openedAt
    }

    /// Whether a restriction of this request is in force.
    public var restrictionActive: Bool { restrictionGround != nil && restrictedAt != nil && restrictionLiftedAt == nil }
}

/// One call of a request, as `request find` shows it: present (with its state) or already gone.
public struct RequestCall: Sendable, Equatable {
    public var recordingID: String
    public var tenant: String
    /// nil when the recording no longer exists (erased, or its metadata expired).
    public var row: RecordingRow?
    public var held: Bool
    public var holdIDs: [String]
    /// Requests whose restriction in force, on ground legal-claims, covers this call (this request's own aside).
    public var claimedBy: [String] = []
    public var erasurePending: Bool
    public var erasedAt: String?
    /// Kept from an erasure: held, or restricted for a legal claim.
    public var kept: Bool { held || !claimedBy.isEmpty }
}

/// How an erasure removes files, the same as the sweeper: remove one recording's audio, make removals durable,
/// and build each audit event. Passed into the deciding transaction.
public struct ErasureEffects {
    public var remove: (SweptRecording) -> AudioRemoval
    public var sync: () throws -> Void
    public var event: SweepEventFactory
    /// The tombstone keys of an erased call: keyed hashes of its call id and of its audio's SHA-256.
    public var tombstone: (_ tenant: String, _ callID: String, _ sha256: String) throws -> ErasedCallKeys

    public init(remove: @escaping (SweptRecording) -> AudioRemoval, sync: @escaping () throws -> Void, event: @escaping SweepEventFactory,
                tombstone: @escaping (_ tenant: String, _ callID: String, _ sha256: String) throws -> ErasedCallKeys) {
        self.remove = remove; self.sync = sync; self.event = event; self.tombstone = tombstone
    }
}

/// What a tombstone keeps of an erased call: no personal data, only keyed hashes that a re-delivery matches.
public struct ErasedCallKeys: Sendable {
    public var callKey: String
    public var audioKey: String
    public init(callKey: String, audioKey: String) { self.callKey = callKey; self.audioKey = audioKey }
}

extension Catalog {
    // MARK: register

    /// Opens a request: its row, its subjects' hashes and the calls they matched, with its audit event.
    public func openRequest(_ r: RequestRow, subjectHashes: [String], numbers: [String], event: AuditEvent) throws -> Int {
        try wrap("open request") {
            try db.write { db in
                if try Bool.fetchOne(db, sql: "SELECT 1 FROM requests WHERE reference = ?", arguments: [r.reference]) == true {
                    throw VaultError(.usage, "--reference: a request with this reference is already in the register")
                }
                try r.insert(db)
                for h in Set(subjectHashes) {
                    try db.execute(sql: "INSERT INTO request_subjects (request_id, subject_hash) VALUES (?, ?)", arguments: [r.id, h])
                }
                let n = try Self.addMatches(db, requestID: r.id, tenant: r.tenant, numbers: numbers)
                var e = event
                e.details["calls"] = String(n)
                try AuditLog.append(e, in: db)
                return n
            }
        }
    }

    /// Adds the calls where one of `numbers` is caller or callee (through the caller and callee indexes) to a
    /// request; returns how many were new.
    static func addMatches(_ db: any SQLSession, requestID: String, tenant: String?, numbers: [String]) throws -> Int {
        guard !numbers.isEmpty else { return 0 }
        let marks = numbers.map { _ in "?" }.joined(separator: ",")
        var args = SQLArguments([requestID])
        args.append(contentsOf: SQLArguments(numbers))
        var tenantClause = ""
        if let tenant { tenantClause = " AND tenant = ?"; args.append(contentsOf: [tenant]) }
        args.append(contentsOf: SQLArguments(numbers))
        if let tenant { args.append(contentsOf: [tenant]) }
        try db.execute(sql: """
            INSERT INTO request_items (request_id, recording_id, tenant)
            SELECT ?, id, tenant FROM (
                SELECT id, tenant FROM recordings WHERE caller IN (\(marks))\(tenantClause)
                UNION SELECT id, tenant FROM recordings WHERE callee IN (\(marks))\(tenantClause)) AS matched
            WHERE true ON CONFLICT DO NOTHING
            """, arguments: args)
        return db.changesCount
    }

    /// Adds later calls of a request's subjects (numbers already checked against its hashes), audited.
    public func refreshRequest(id: String, tenant: String?, numbers: [String], event: AuditEvent) throws -> Int {
        try wrap("refresh request") {
            try db.write { db in
                let n = try Self.addMatches(db, requestID: id, tenant: tenant, numbers: numbers)
                // Calls found later fall under the request's restriction in force, like the first ones.
                if n > 0 { _ = try Self.recomputeRestriction(db, requestID: id) }
                var e = event
                e.details["added"] = String(n)
                try AuditLog.append(e, in: db)
                return n
            }
        }
    }

    public func request(id: String) throws -> RequestRow? {
        try wrap("read request") { try db.read { try RequestRow.fetchOne($0, key: id) } }
    }

    /// The subject hashes of a request.
    public func requestSubjects(id: String) throws -> [String] {
        try wrap("read request subjects") {
            try db.read { try String.fetchAll($0, sql: "SELECT subject_hash FROM request_subjects WHERE request_id = ? ORDER BY subject_hash", arguments: [id]) }
        }
    }

    /// Requests, oldest deadline first; `openOnly`: not closed; `overdueAt`: open and past their deadline at that instant.
    public func requests(openOnly: Bool, overdueAt: Date?) throws -> [(row: RequestRow, calls: Int)] {
        var clauses: [String] = []
        var args = SQLArguments()
        if openOnly || overdueAt != nil { clauses.append("closed_at IS NULL") }
        if let overdueAt { clauses.append("due_at < ?"); args.append(contentsOf: [Timestamp.utc(overdueAt)]) }
        let w = clauses.isEmpty ? "" : "WHERE " + clauses.joined(separator: " AND ")
        return try wrap("list requests") {
            try db.read { db in
                try SQLRow.fetchAll(db, sql: """
                    SELECT requests.*, (SELECT count(*) FROM request_items i WHERE i.request_id = requests.id) AS calls
                    FROM requests \(w) ORDER BY due_at, id
                    """, arguments: args).map { (row: try RequestRow(row: $0), calls: $0["calls"] as Int) }
            }
        }
    }

    /// Open requests by deadline at `now`: overdue, and due within `soon` (7 days) after it.
    public func requestDeadlines(at now: Date, soonUntil: Date) throws -> RequestDeadlineCounts {
        try wrap("count request deadlines") {
            try db.read { db in
                let row = try SQLRow.fetchOne(db, sql: """
                    SELECT count(*) AS open, coalesce(sum(CASE WHEN due_at < ? THEN 1 ELSE 0 END), 0) AS overdue, coalesce(sum(CASE WHEN due_at >= ? AND due_at < ? THEN 1 ELSE 0 END), 0) AS soon
                    FROM requests WHERE closed_at IS NULL
                    """, arguments: [Timestamp.utc(now), Timestamp.utc(now), Timestamp.utc(soonUntil)])
                guard let row else { return RequestDeadlineCounts() }
                return RequestDeadlineCounts(open: row["open"], dueSoon: row["soon"], overdue: row["overdue"])
            }
        }
    }

    /// The calls of a request, newest first; gone ones last.
    public func requestCalls(id: String) throws -> [RequestCall] {
        try wrap("read request calls") {
            try db.read { db in try Self.requestCalls(db, id: id) }
        }
    }

    static func requestCalls(_ db: any SQLSession, id: String) throws -> [RequestCall] {
        let items = try SQLRow.fetchAll(db, sql: """
            SELECT i.recording_id, i.tenant, i.erasure_pending, i.erased_at, r.started_at FROM request_items i
            LEFT JOIN recordings r ON r.id = i.recording_id WHERE i.request_id = ?
            ORDER BY r.started_at IS NULL, r.started_at DESC, i.recording_id
            """, arguments: [id])
        return try items.map { item in
            let rid: String = item["recording_id"]
            let row = try RecordingRow.fetchOne(db, key: rid)
            let holds = row == nil ? [] : try String.fetchAll(db, sql: """
                SELECT h.id FROM hold_items hi JOIN holds h ON h.id = hi.hold_id
                WHERE hi.recording_id = ? AND h.released_at IS NULL ORDER BY h.placed_at, h.id
                """, arguments: [rid])
            let claims = row == nil ? [] : try String.fetchAll(db, sql: """
                SELECT q.id FROM request_items ci JOIN requests q ON q.id = ci.request_id
                WHERE ci.recording_id = ? AND q.id != ? AND \(Deletable.legalClaimInForce("q")) ORDER BY q.received_at, q.id
                """, arguments: [rid, id])
            return RequestCall(recordingID: rid, tenant: item["tenant"], row: row, held: !holds.isEmpty, holdIDs: holds,
                               claimedBy: claims, erasurePending: item["erasure_pending"], erasedAt: item["erased_at"])
        }
    }

    /// Extends the deadline once, only while the first deadline has not passed (decided in the transaction).
    public func extendRequest(id: String, to newDue: Date, by period: String, reason: String, now: Date, event: AuditEvent) throws {
        try wrap("extend request") {
            try db.write { db in
                guard let r = try RequestRow.fetchOne(db, key: id) else { throw VaultError(.notFound, "request \(id): no such request") }
                guard r.closedAt == nil else { throw VaultError(.usage, "request \(id) is closed") }
                guard r.extendedBy == nil else { throw VaultError(.usage, "request \(id) was already extended (\(r.extendedBy!)): the deadline can be extended once") }
                guard Timestamp.utc(now) < r.firstDueAt else {
                    throw VaultError(.usage, "request \(id): its deadline \(r.firstDueAt) has passed; an extension must be decided and told to the subject within the first month")
                }
                try db.execute(sql: "UPDATE requests SET due_at = ?, extended_by = ?, extension_reason = ? WHERE id = ?",
                               arguments: [Timestamp.utc(newDue), period, reason, id])
                try AuditLog.append(event, in: db)
            }
        }
    }

    public func closeRequest(id: String, outcome: String, by user: String, now: Date, event: AuditEvent) throws {
        try wrap("close request") {
            try db.write { db in
                try db.execute(sql: "UPDATE requests SET closed_at = ?, closed_by = ?, outcome = ? WHERE id = ? AND closed_at IS NULL",
                               arguments: [Timestamp.utc(now), user, outcome, id])
                guard db.changesCount == 1 else { throw VaultError(.usage, "request \(id) is closed already") }
                try AuditLog.append(event, in: db)
            }
        }
    }

    // MARK: restriction

    /// Starts (ground) or lifts (nil) the restriction of a request and recomputes `restricted` on its calls from
    /// every restriction in force: 2 (kept past expiry) if any has ground unlawful or legal-claims, else 1, else 0.
    /// Lifting a legal-claims restriction erases, in the same transaction, the calls other requests' erasures
    /// were waiting on (`erasure`), as releasing a hold does.
    public func setRestriction(id: String, ground: String?, now: Date, event: AuditEvent, erasure: ErasureEffects? = nil) throws -> Int {
        try wrap("restrict") {
            try db.write { db in
                if let ground {
                    try db.execute(sql: "UPDATE requests SET restriction_ground = ?, restricted_at = ?, restriction_lifted_at = NULL WHERE id = ?",
                                   arguments: [ground, Timestamp.utc(now), id])
                } else {
                    try db.execute(sql: """
                        UPDATE requests SET restriction_lifted_at = ? WHERE id = ? AND restricted_at IS NOT NULL AND restriction_lifted_at IS NULL
                        """, arguments: [Timestamp.utc(now), id])
                    guard db.changesCount == 1 else { throw VaultError(.usage, "request \(id): no restriction in force to lift") }
                }
                let n = try Self.recomputeRestriction(db, requestID: id)
                var e = event
                e.details["calls"] = String(n)
                try AuditLog.append(e, in: db)
                if ground == nil, let erasure { _ = try Self.erasePendingReleased(db, now: now, effects: erasure) }
                return n
            }
        }
    }

    /// Sets `restricted` on a request's calls from every restriction in force that covers each call; returns
    /// how many calls the request has.
    static func recomputeRestriction(_ db: any SQLSession, requestID: String) throws -> Int {
        try db.execute(sql: """
            UPDATE recordings SET restricted = coalesce((
                SELECT max(CASE WHEN q.restriction_ground IN ('unlawful', 'legal-claims') THEN \(Restriction.keptPastExpiry.rawValue) ELSE \(Restriction.hidden.rawValue) END)
                FROM request_items i JOIN requests q ON q.id = i.request_id
                WHERE i.recording_id = recordings.id AND q.restricted_at IS NOT NULL AND q.restriction_lifted_at IS NULL), \(Restriction.none.rawValue))
            WHERE id IN (SELECT recording_id FROM request_items WHERE request_id = ?)
            """, arguments: [requestID])
        return db.changesCount
    }

    // MARK: erasure

    /// The plan of an erasure, changing nothing: per call, deleted / kept under hold / already gone.
    public func erasurePlan(id: String) throws -> [(String, ErasureOutcome)] {
        try wrap("plan erasure") {
            try db.read { db in
                try Self.requestCalls(db, id: id).map { c -> (String, ErasureOutcome) in
                    if c.row == nil { return (c.recordingID, .alreadyGone) }
                    if c.held { return (c.recordingID, .keptUnderHold(c.holdIDs)) }
                    return (c.recordingID, c.claimedBy.isEmpty ? .deleted : .keptForLegalClaims(c.claimedBy))
                }
            }
        }
    }

    /// Erases a request's calls in one write transaction, the deciding one: a held call is kept and marked
    /// erasure-pending (a hold committed before wins); every other call loses its audio, then its row.
    public func erase(id: String, now: Date, effects: ErasureEffects, event: AuditEvent) throws -> [(String, ErasureOutcome)] {
        try wrap("erase") {
            try db.write { db in
                var outcomes: [(String, ErasureOutcome)] = []
                var doomed: [RecordingRow] = []
                for c in try Self.requestCalls(db, id: id) {
                    guard let row = c.row else { outcomes.append((c.recordingID, .alreadyGone)); continue }
                    if c.kept {
                        try db.execute(sql: "UPDATE request_items SET erasure_pending = 1 WHERE request_id = ? AND recording_id = ?",
                                       arguments: [id, c.recordingID])
                        outcomes.append((c.recordingID, c.held ? .keptUnderHold(c.holdIDs) : .keptForLegalClaims(c.claimedBy)))
                    } else {
                        doomed.append(row)
                    }
                }
                let done = try Self.deleteRecordings(db, doomed, requestID: id, now: now, effects: effects)
                outcomes += done
                var details = event.details
                details["deleted"] = String(done.filter { $0.1 == .deleted }.count)
                details["kept_under_hold"] = String(outcomes.filter { if case .keptUnderHold = $0.1 { true } else { false } }.count)
                details["kept_for_legal_claims"] = String(outcomes.filter { if case .keptForLegalClaims = $0.1 { true } else { false } }.count)
                details["already_gone"] = String(outcomes.filter { $0.1 == .alreadyGone }.count)
                // Made now, after the per-call events: the chain's times never run backwards.
                try AuditLog.append(effects.event(event.action, id, details), in: db)
                return outcomes
            }
        }
    }

    /// The sweeper's deletion of whole recordings (audio first, made durable, then the row) for an erasure:
    /// every request item of each deleted call becomes a tombstone (erased_at, no personal data).
    static func deleteRecordings(_ db: any SQLSession, _ rows: [RecordingRow], requestID: String?, now: Date,
                                 effects: ErasureEffects) throws -> [(String, ErasureOutcome)] {
        guard !rows.isEmpty else { return [] }
        let t = Timestamp.utc(now)
        // The tombstones' keys first: a key that cannot be had (subject.key lost) stops the erasure before any
        // audio is removed.
        var keys: [String: ErasedCallKeys] = [:]
        // The audio key is of the bytes a recorder would deliver again: those received (a redacted call's differ).
        for row in rows { keys[row.id] = try effects.tombstone(row.tenant, row.callID, row.receivedSHA256 ?? row.sha256) }
        var removed: [(SweptRecording, AudioRemoval)] = []
        for row in rows {
            let r = SweptRecording(id: row.id, tenant: row.tenant, audioPath: row.audioPath, audioPresent: row.audioDeletedAt == nil)
            removed.append((r, r.audioPresent ? effects.remove(r) : .removed))
        }
        try effects.sync()
        var out: [(String, ErasureOutcome)] = []
        var events: [AuditEvent] = []
        for (r, result) in removed {
            if case .failed(let detail) = result { out.append((r.id, .failed(detail))); continue }
            let requests = try String.fetchAll(db, sql: "SELECT request_id FROM request_items WHERE recording_id = ? ORDER BY request_id", arguments: [r.id])
            // The trigger recordings_deleted_counted (v11) keeps the call's count for the report: no personal data.
            try db.execute(sql: "DELETE FROM recordings WHERE id = ?", arguments: [r.id])
            try db.execute(sql: "UPDATE request_items SET erased_at = ?, erasure_pending = 0 WHERE recording_id = ?", arguments: [t, r.id])
            let k = keys[r.id]!
            try db.execute(sql: "INSERT INTO erased_calls (tenant, call_key, audio_key, erased_at, request_id) VALUES (?, ?, ?, ?, ?)",
                           arguments: [r.tenant, k.callKey, k.audioKey, t, requestID ?? requests.first])
            var details = ["tenant": r.tenant, "request": requestID ?? requests.joined(separator: ",")]
            if r.audioPresent { details["audio"] = if case .removed = result { "erased" } else { "found_missing" } }
            events.append(effects.event(.requestErased, r.id, details))
            out.append((r.id, .deleted))
        }
        try AuditLog.append(events, in: db)
        return out
    }

    /// After a hold was released (in its transaction): erases every erasure-pending call no active hold protects
    /// any more — the hold's own, and any whose file could not be removed at an earlier release (retried here).
    /// Returns how many were erased.
    static func erasePendingReleased(_ db: any SQLSession, now: Date, effects: ErasureEffects) throws -> Int {
        let rows = try RecordingRow.fetchAll(db, sql: """
            SELECT recordings.* FROM recordings WHERE id IN (SELECT recording_id FROM request_items WHERE erasure_pending = 1)
            AND NOT \(Deletable.held) AND NOT \(Deletable.claimed) ORDER BY id
            """)
        return try deleteRecordings(db, rows, requestID: nil, now: now, effects: effects).filter { $0.1 == .deleted }.count
    }

    // MARK: rectification

    /// Sets one metadata column of one recording of a request; returns the old value. `column` is one of a fixed
    /// list, never user text.
    public func rectify(recordingID: String, column: String, value: String, event: (String?) -> AuditEvent) throws -> String? {
        precondition(["agent_id", "team", "queue", "caller", "callee"].contains(column))
        return try wrap("rectify") {
            try db.write { db in
                guard let old = try SQLRow.fetchOne(db, sql: "SELECT \(column) AS v FROM recordings WHERE id = ?", arguments: [recordingID]) else {
                    throw VaultError(.gone, "rectify \(recordingID): the recording no longer exists")
                }
                let previous: String? = old["v"]
                try db.execute(sql: "UPDATE recordings SET \(column) = ? WHERE id = ?", arguments: [value, recordingID])
                try AuditLog.append(event(previous), in: db)
                return previous
            }
        }
    }

    // MARK: tombstones

    /// Whether the catalog holds hashes keyed with `subject.key`: the register's subjects or erased calls' tombstones.
    public func holdsKeyedHashes() throws -> Bool {
        try wrap("read the register") {
            try db.read { db in
                try Bool.fetchOne(db, sql: "SELECT 1 FROM request_subjects UNION ALL SELECT 1 FROM erased_calls LIMIT 1") == true
            }
        }
    }

    /// The requests whose erasure of `recordingID` waits for a hold or a legal-claims restriction.
    public func erasuresPending(recordingID: String) throws -> [String] {
        try wrap("read erasures pending") {
            try db.read { db in
                try String.fetchAll(db, sql: "SELECT request_id FROM request_items WHERE recording_id = ? AND erasure_pending = 1 ORDER BY request_id",
                                    arguments: [recordingID])
            }
        }
    }

    /// The tenants with at least one erased call (a re-delivery is looked up only for those).
    public func tenantsWithErasedCalls() throws -> Set<String> {
        try wrap("read erased calls") {
            try db.read { db in Set(try String.fetchAll(db, sql: "SELECT DISTINCT tenant FROM erased_calls")) }
        }
    }

    /// The request that erased a call with this call id or this audio, if one did (nil: not erased; "" when the
    /// erasure named no request).
    public func erasure(tenant: String, keys: ErasedCallKeys) throws -> String? {
        try wrap("read erased calls") {
            try db.read { db in
                try SQLRow.fetchOne(db, sql: """
                    SELECT coalesce(request_id, '') AS request FROM erased_calls WHERE tenant = ? AND (call_key = ? OR audio_key = ?) LIMIT 1
                    """, arguments: [tenant, keys.callKey, keys.audioKey]).map { $0["request"] as String }
            }
        }
    }
}
