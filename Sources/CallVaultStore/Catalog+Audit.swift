// Reading the audit log: chain verification, listing, and the per-tenant compliance report.
import CallVaultCore
import Foundation

public struct AuditRow: Sendable {
    public var seq: Int64
    public var at: String
    public var actor: String
    public var principal: String?
    public var action: String
    public var target: String?
    public var details: String
}

/// What `audit verify` found: whether the chain holds, and where the clock went back.
public struct AuditVerification: Sendable {
    public var ok: Bool
    public var events: Int
    public var firstBad: Int64?
    public var reason: String?
    /// Events dated earlier than the event before them: the clock was set back (a host's clock corrected, a VM
    /// resumed from a snapshot) while events were appended. Not tampering (each is hashed as it was written), but
    /// a time filter misses them: `audit list --from-seq` finds them by sequence.
    /// The first `TimeRegressionCounter.limit` of them; `timeRegressionsTotal` counts them all.
    public var timeRegressions: [TimeRegression] = []
    public var timeRegressionsTotal = 0

    public struct TimeRegression: Sendable {
        public var seq: Int64
        public var at: String
        public var previousAt: String
    }

    init(ok: Bool, events: Int, firstBad: Int64?, reason: String?) {
        self.ok = ok
        self.events = events
        self.firstBad = firstBad
        self.reason = reason
    }
}

/// Events dated earlier than the event before them, by more than the skew that workers on one shared catalog
/// may show between their hosts' clocks (each dates its events by its own): a second.
struct TimeRegressionCounter {
    static let tolerance: TimeInterval = 1
    static let limit = 100
    var named: [AuditVerification.TimeRegression] = []
    var total = 0
    var previous: (at: String, instant: Date)?

    mutating func see(seq: Int64, at: String) {
        guard let instant = Timestamp.parse(at) else { return }
        if let previous, previous.instant.timeIntervalSince(instant) > Self.tolerance {
            total += 1
            if named.count < Self.limit { named.append(.init(seq: seq, at: at, previousAt: previous.at)) }
        }
        previous = (at, instant)
    }
}

extension Catalog {
    /// Walks the chain in order and returns the first event whose sequence, link or hash is wrong, with why:
    /// an edited row no longer matches its hash, a removed row leaves a gap (the next event is named), rows
    /// moved to other places break their hashes (the sequence number is hashed). The recorded head must be
    /// there (a non-empty log without it was cut together with it) and match the last event. `expectedHead`,
    /// a head anchored outside the host (`audit head`), must be an event of the chain with that very hash:
    /// this finds a tail cut off together with a rewritten head.
    /// Events dated before their predecessor are named in `timeRegressions`; the chain stays ok.
    public func verifyAudit(expectedHead: (seq: Int64, hash: String)? = nil) throws -> AuditVerification {
        try verifyChain(expectedHead: expectedHead)
    }

    func verifyChain(expectedHead: (seq: Int64, hash: String)?) throws -> AuditVerification {
        try wrap("verify audit") {
            try db.read { db in
                var expected: Int64 = 1
                var prev = AuditLog.genesis
                var count = 0
                var anchored: String?
                var broken: (Int64, String)?
                // Walked with the chain, in the same read: what is named is what was verified.
                var regressions = TimeRegressionCounter()
                try db.forEachRow(sql: "SELECT * FROM audit_events ORDER BY seq", arguments: []) { r in
                    let seq: Int64 = r["seq"]
                    regressions.see(seq: seq, at: r["at"])
                    if seq != expected { broken = (seq, "event \(expected) is missing"); return false }
                    if (r["prev_hash"] as String) != prev { broken = (seq, "does not link to the event before it"); return false }
                    let recomputed = AuditLog.chainHash(prev: prev, seq: seq, at: r["at"], actor: r["actor"], principal: r["principal"],
                                                        action: r["action"], target: r["target"], details: r["details"])
                    if (r["hash"] as String) != recomputed { broken = (seq, "content does not match its hash"); return false }
                    prev = r["hash"]
                    if seq == expectedHead?.seq { anchored = prev }
                    expected += 1
                    count += 1
                    return true
                }
                func result(_ ok: Bool, _ firstBad: Int64?, _ reason: String?) -> AuditVerification {
                    var v = AuditVerification(ok: ok, events: count, firstBad: firstBad, reason: reason)
                    v.timeRegressions = regressions.named
                    v.timeRegressionsTotal = regressions.total
                    return v
                }
                if let (seq, reason) = broken { return result(false, seq, reason) }
                let head = try String.fetchOne(db, sql: "SELECT value FROM store_meta WHERE key = 'audit_head'")
                if head == nil, count > 0 {
                    return result(false, expected, "the recorded head of the chain is missing: the log may have been cut short")
                }
                if let head, head != "\(expected - 1):\(prev)" {
                    let headSeq = Int64(head.split(separator: ":").first ?? "") ?? expected
                    return result(false, expected, headSeq >= expected
                                  ? "events \(expected) to \(headSeq) are missing: the log was cut short"
                                  : "the last event does not match the recorded head of the chain")
                }
                if let (seq, hash) = expectedHead {
                    guard let anchored else {
                        return result(false, expected, "the anchored head \(seq) is not in the log (it ends at \(expected - 1)): the log was cut short")
                    }
                    if anchored != hash {
                        return result(false, seq, "event \(seq) does not match the anchored head: the log was cut short and written again, or rewritten")
                    }
                }
                return result(true, nil, nil)
            }
        }
    }

    /// Appends `event` and returns the chain's new head (its seq and hash), in one transaction: the head
    /// printed for anchoring is the event that records the anchoring.
    public func appendAuditReturningHead(_ event: AuditEvent) throws -> (seq: Int64, hash: String) {
        try wrap("append audit") {
            try db.write { db in
                try AuditLog.append(event, in: db)
                let row = try SQLRow.fetchOne(db, sql: "SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1")!
                return (row["seq"], row["hash"])
            }
        }
    }

    /// Events matching every given filter, the most recent `limit` of them, oldest first. `since` is
    /// inclusive and `until` exclusive; `action` matches itself or as a prefix (`hold` → `hold.placed`).
    public func auditEvents(since: Date?, until: Date? = nil, fromSeq: Int64? = nil, toSeq: Int64? = nil, actor: String?,
                            action: String?, target: String? = nil, limit: Int) throws -> [AuditRow] {
        try wrap("list audit") {
            try db.read { db in
                var c: [String] = []
                var a = SQLArguments()
                // Sequence numbers are the log's own order, which no clock can upset.
                if let fromSeq { c.append("seq >= ?"); a.append(contentsOf: [fromSeq]) }
                if let toSeq { c.append("seq <= ?"); a.append(contentsOf: [toSeq]) }
                if let since { c.append("at >= ?"); a.append(contentsOf: [Timestamp.utc(since)]) }
                if let until { c.append("at < ?"); a.append(contentsOf: [Timestamp.utc(until)]) }
                if let actor { c.append("(actor = ? OR principal = ?)"); a.append(contentsOf: [actor, actor]) }
                // Actions are lower-case: the typed filter is too, so it matches alike on SQLite (whose LIKE ignores
                // ASCII case) and PostgreSQL (whose LIKE does not).
                if let action {
                    let typed = action.lowercased()
                    c.append("(action = ? OR action LIKE ?)")
                    a.append(contentsOf: [typed, typed + ".%"])
                }
                if let target { c.append("target = ?"); a.append(contentsOf: [target]) }
                // From a sequence number: the first `limit` events from it (what comes after a given event).
                // Otherwise the most recent `limit`. Oldest first either way.
                let filter = c.isEmpty ? "" : "WHERE " + c.joined(separator: " AND ")
                let rows = try SQLRow.fetchAll(db, sql: fromSeq != nil
                    ? "SELECT * FROM audit_events \(filter) ORDER BY seq LIMIT \(limit)"
                    : "SELECT * FROM (SELECT * FROM audit_events \(filter) ORDER BY seq DESC LIMIT \(limit)) AS recent ORDER BY seq",
                    arguments: a)
                return rows.map { AuditRow(seq: $0["seq"], at: $0["at"], actor: $0["actor"], principal: $0["principal"],
                                           action: $0["action"], target: $0["target"], details: $0["details"]) }
            }
        }
    }

    /// A call that was announced: flagged, and neither found missing by the detector nor awaiting review.
    static let compliantCall = "announcement_flag = 1 AND announcement_verified NOT IN (\(AnnouncementVerdict.notHeard.sqlLiteral), \(AnnouncementVerdict.review.sqlLiteral))"

    /// Sums of a report row by verdict, each call counting `weight` (1 for a row, `calls` for a deleted-row count).
    static func verdictSums(_ weight: String) -> String {
        func sum(_ condition: String) -> String { "sum(CASE WHEN \(condition) THEN \(weight) ELSE 0 END)" }
        return """
            \(sum("announcement_verified = \(AnnouncementVerdict.heard.sqlLiteral)")) AS heard, \(sum("announcement_verified = \(AnnouncementVerdict.notHeard.sqlLiteral)")) AS not_heard,
            \(sum("announcement_verified = \(AnnouncementVerdict.review.sqlLiteral)")) AS review, \(sum("announcement_verified != \(AnnouncementVerdict.notChecked.sqlLiteral)")) AS checked
            """
    }

    /// The compliance report for calls started in [from, to) and events in that range; `overdue` and
    /// `active_holds` are as of `now`.
    /// `verifying`: tenants whose queues get the verdicts; `holdChecking`: tenants that look for hold music (any
    /// tenant with calls checked for it gets its figures too: a policy turned off later does not hide them).
    public func report(from: Date, to: Date, now: Date, tenants: [String], verifying: Set<String> = [],
                       holdChecking: Set<String> = []) throws -> [TenantReport] {
        let f = Timestamp.utc(from), t = Timestamp.utc(to)
        return try wrap("report") {
            try db.read { db in
                var out: [String: TenantReport] = [:]
                for name in tenants { out[name] = TenantReport(tenant: name) }
                func get(_ name: String) -> TenantReport { out[name] ?? TenantReport(tenant: name) }
                for name in tenants {
                    // Live rows and the counts deleted rows left (v11): a later deletion never lowers a past figure.
                    // tenant = ? and a started_at range: an index-only scan of recordings_for_report, and a range
                    // of deleted_call_counts' primary key.
                    guard let r = try SQLRow.fetchOne(db, sql: """
                        SELECT sum(n) AS n, sum(compliant) AS compliant, sum(heard) AS heard, sum(checked) AS checked,
                               sum(not_heard) AS not_heard, sum(review) AS review FROM (
                            SELECT count(*) AS n, sum(CASE WHEN \(Self.compliantCall) THEN 1 ELSE 0 END) AS compliant,
                                   \(Self.verdictSums("1"))
                            FROM recordings WHERE tenant = ? AND started_at >= ? AND started_at < ?
                            UNION ALL
                            SELECT sum(calls), sum(CASE WHEN \(Self.compliantCall) THEN calls ELSE 0 END),
                                   \(Self.verdictSums("calls"))
                            FROM deleted_call_counts WHERE tenant = ? AND started_at >= ? AND started_at < ?) AS counted
                        """, arguments: [name, f, t, name, f, t]) else { continue }
                    var x = get(name)
                    x.stored = r["n"] ?? 0
                    let checked: Int = r["checked"] ?? 0
                    if checked > 0 { x.announcementVerified = Double(r["heard"] as Int? ?? 0) / Double(checked) }
                    x.verdicts = AnnouncementVerdictCounts(heard: r["heard"] ?? 0, notHeard: r["not_heard"] ?? 0, review: r["review"] ?? 0,
                                                           notChecked: x.stored - checked)
                    x.announcementCompliance = Double(r["compliant"] as Int? ?? 0)  // divided below
                    if verifying.contains(name) {
                        x.queues = try SQLRow.fetchAll(db, sql: """
                            SELECT queue, sum(checked) AS checked, sum(heard) AS heard, sum(not_heard) AS not_heard, sum(review) AS review FROM (
                                SELECT coalesce(queue, '') AS queue, \(Self.verdictSums("1"))
                                FROM recordings WHERE tenant = ? AND started_at >= ? AND started_at < ? AND announcement_verified != \(AnnouncementVerdict.notChecked.sqlLiteral)
                                GROUP BY 1
                                UNION ALL
                                SELECT queue, \(Self.verdictSums("calls"))
                                FROM deleted_call_counts WHERE tenant = ? AND started_at >= ? AND started_at < ? AND announcement_verified != \(AnnouncementVerdict.notChecked.sqlLiteral)
                                GROUP BY 1) AS by_queue
                            GROUP BY 1 ORDER BY 1
                            """, arguments: [name, f, t, name, f, t]).map {
                            let counts = AnnouncementVerdictCounts(heard: $0["heard"], notHeard: $0["not_heard"], review: $0["review"])
                            return ($0["queue"], $0["checked"], Double(counts.heard) / Double($0["checked"] as Int), counts)
                        }
                    }
                    if let whole = try Self.onHoldFigures(db, tenant: name, from: f, to: t, byQueue: false)[""],
                       holdChecking.contains(name) || whole.checked > 0 || whole.calls > 0 {
                        x.onHold = whole
                        x.onHoldByQueue = try Self.onHoldFigures(db, tenant: name, from: f, to: t, byQueue: true)
                            .sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
                    } else if holdChecking.contains(name) {
                        x.onHold = OnHoldFigures()
                    }
                    out[name] = x
                }
                for r in try SQLRow.fetchAll(db, sql: """
                    SELECT coalesce(tenant, '(unknown)') AS tenant, reason, count(*) AS n FROM rejections
                    WHERE at >= ? AND at < ? GROUP BY 1, 2
                    """, arguments: [f, t]) {
                    var x = get(r["tenant"])
                    x.rejected[r["reason"]] = r["n"]
                    out[x.tenant] = x
                }
                for r in try SQLRow.fetchAll(db, sql: """
                    SELECT \(db.dialect.jsonField("details", "tenant")) AS tenant,
                           sum(CASE WHEN action = '\(AuditAction.sweepAudioDeleted.rawValue)' OR \(db.dialect.jsonField("details", "audio")) IS NOT NULL THEN 1 ELSE 0 END) AS audio,
                           sum(CASE WHEN action = '\(AuditAction.sweepMetadataDeleted.rawValue)' THEN 1 ELSE 0 END) AS metadata
                    FROM audit_events WHERE action IN ('sweep.audio_deleted', 'sweep.metadata_deleted') AND at >= ? AND at < ?
                    GROUP BY 1
                    """, arguments: [f, t]) {
                    guard let name = r["tenant"] as String? else { continue }
                    var x = get(name)
                    x.audioDeleted = r["audio"]
                    x.metadataDeleted = r["metadata"]
                    out[name] = x
                }
                let nowText = Timestamp.utc(now)
                for name in out.keys {
                    var x = out[name]!
                    let compliant = x.announcementCompliance ?? 0
                    let denominator = Double(x.stored + (x.rejected["announcement_missing"] ?? 0) + (x.rejected["announcement_not_detected"] ?? 0))
                    x.announcementCompliance = denominator > 0 ? compliant / denominator : nil
                    // Unindexed tenant: let SQLite find the due rows through the expiry indexes, not scan the tenant's rows.
                    x.overdue = try Int.fetchOne(db, sql: "SELECT count(*) FROM recordings WHERE \(db.dialect.unindexed("tenant")) = ? AND ((\(Deletable.audio)) OR (\(Deletable.metadata)))",
                                                 arguments: [name, nowText, nowText]) ?? 0
                    x.activeHolds = try Int.fetchOne(db, sql: """
                        SELECT count(DISTINCT h.id) FROM holds h JOIN hold_items hi ON hi.hold_id = h.id
                        JOIN recordings r ON r.id = hi.recording_id WHERE h.released_at IS NULL AND r.tenant = ?
                        """, arguments: [name]) ?? 0
                    out[name] = x
                }
                return out.values.sorted { $0.tenant < $1.tenant }
            }
        }
    }

    /// Rejections for `quarantine list` (newest first).
    public func rejections(limit: Int) throws -> [RejectionRow] {
        try wrap("list quarantine") {
            try db.read { try RejectionRow.fetchAll($0, sql: "SELECT * FROM rejections ORDER BY at DESC, id DESC LIMIT \(limit)") }
        }
    }

    public func rejection(id: String) throws -> (RejectionRow, deletedAt: String?)? {
        try wrap("read quarantine") {
            try db.read { db in
                guard let row = try SQLRow.fetchOne(db, sql: "SELECT * FROM rejections WHERE id = ?", arguments: [id]) else { return nil }
                return (try RejectionRow(row: row), row["deleted_at"])
            }
        }
    }
}
