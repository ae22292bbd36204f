// Retention in the catalog: the one definition of "deletable", and the transactions that delete.
import CallVaultCore
import Foundation

/// The single place that decides what may be deleted (SPEC §6/§7): due by its expiry instant and not under
/// any active hold. The sweeper, the overdue count, holds and reports all use these fragments.
public enum Deletable {
    /// True for a recording under at least one hold not yet released.
    static let held = """
        EXISTS (SELECT 1 FROM hold_items hi JOIN holds h ON h.id = hi.hold_id
                WHERE hi.recording_id = recordings.id AND h.released_at IS NULL)
        """
    /// Audio due at `?` (now) and still present according to the catalog.
    static let audioDue = "recordings.audio_deleted_at IS NULL AND recordings.audio_expires_at <= ?"
    /// Metadata due at `?` (now).
    static let metadataDue = "recordings.metadata_expires_at <= ?"

    /// True for a recording a restriction in force holds for a legal claim: an erasure (of any subject's
    /// request) keeps it, as under a hold.
    static let claimed = """
        EXISTS (SELECT 1 FROM request_items ci JOIN requests cq ON cq.id = ci.request_id
                WHERE ci.recording_id = recordings.id AND \(legalClaimInForce("cq")))
        """
    /// A request (`alias`) whose restriction on ground legal-claims is in force.
    static func legalClaimInForce(_ alias: String) -> String {
        "\(alias).restriction_ground = 'legal-claims' AND \(alias).restricted_at IS NOT NULL AND \(alias).restriction_lifted_at IS NULL"
    }
    /// True for a recording a restriction keeps past its expiry (ground unlawful or legal-claims: art. 18(1)(b),(c)).
    static let keptByRestriction = "recordings.restricted = \(Restriction.keptPastExpiry.rawValue)"
    /// Held, or kept by a restriction: not deletable whatever its expiry.
    static let kept = "(\(held) OR \(keptByRestriction))"

    static let audio = "(\(audioDue)) AND NOT \(kept)"
    static let metadata = "(\(metadataDue)) AND NOT \(kept)"
}

/// What the sweeper did to one recording inside its deciding transaction.
public enum AudioRemoval: Sendable {
    /// The file was removed.
    case removed
    /// The file was already gone: recorded as such and reported, not an error.
    case alreadyMissing
    /// The file could not be removed; the catalog keeps saying it is present.
    case failed(String)
}

/// Where a sweep pass resumes: (expiry instant, rowid) of the last row it looked at. The expiry index
/// carries the rowid, so this order costs no sort even when many rows share one instant.
public typealias SweepKey = (String, Int64)

/// Builds a sweep's audit event (action, target, details) for the acting user: the caller decides actor,
/// principal and the event's time, so the catalog never drops them.
public typealias SweepEventFactory = (_ action: AuditAction, _ target: String?, _ details: [String: String]) -> AuditEvent

public struct SweptRecording: Sendable {
    public var id: String
    public var tenant: String
    public var audioPath: String
    public var audioPresent: Bool
}

extension Catalog {
    public struct DueCounts: Sendable, Equatable {
        public var audio = 0
        public var metadata = 0
        /// Due (audio or metadata) but protected by an active hold or a restriction that keeps it.
        public var held = 0
    }

    /// What is due at `now`: deletable audio and metadata (the overdue count after a sweep) and what is held.
    public func dueCounts(at now: Date, tenant: String? = nil) throws -> DueCounts {
        let t = Timestamp.utc(now)
        let tenantClause = tenant == nil ? "" : " AND \(db.dialect.unindexed("tenant")) = ?"  // through the expiry indexes
        func args(_ n: Int) -> SQLArguments {
            var a = SQLArguments(Array(repeating: t, count: n))
            if let tenant { a.append(contentsOf: [tenant]) }
            return a
        }
        return try wrap("count due recordings") {
            try db.read { db in
                var c = DueCounts()
                c.audio = try Int.fetchOne(db, sql: "SELECT count(*) FROM recordings WHERE \(Deletable.audio)\(tenantClause)", arguments: args(1)) ?? 0
                c.metadata = try Int.fetchOne(db, sql: "SELECT count(*) FROM recordings WHERE \(Deletable.metadata)\(tenantClause)", arguments: args(1)) ?? 0
                c.held = try Int.fetchOne(db, sql: """
                    SELECT count(*) FROM recordings WHERE ((\(Deletable.audioDue)) OR (\(Deletable.metadataDue))) AND \(Deletable.kept)\(tenantClause)
                    """, arguments: args(2)) ?? 0
                return c
            }
        }
    }

    /// The next `limit` rows matching `condition` after `after`, in (expiry, rowid) order: the expiry index
    /// carries the rowid, so no batch sorts.
    static func dueBatch(_ db: any SQLSession, where condition: String, _ arguments: SQLArguments, expiry: String,
                         after: SweepKey?, limit: Int) throws -> [SQLRow] {
        var sql = "SELECT rowid AS rid, id, tenant, audio_path, audio_deleted_at, \(expiry) AS expiry FROM recordings WHERE \(condition)"
        var args = arguments
        if let (e, rid) = after {
            sql += " AND (\(expiry), recordings.rowid) > (?, ?)"
            args.append(contentsOf: [e, rid])
        }
        sql += " ORDER BY \(expiry), recordings.rowid LIMIT \(limit)"
        return try SQLRow.fetchAll(db, sql: sql, arguments: args)
    }

    /// Deletes the audio of up to `limit` deletable recordings after the key `after`, in one write transaction
    /// that is also the deciding one: a hold committed before it wins, a hold placed while it runs waits and
    /// then sees the audio gone. `remove` deletes the file; the caller makes the removals durable (`sync`)
    /// before the transaction commits, so the catalog never says gone while the file is still there.
    public func sweepAudio(at now: Date, after: SweepKey?, limit: Int, event: SweepEventFactory,
                           remove: (SweptRecording) -> AudioRemoval, sync: () throws -> Void)
        throws -> (swept: [(SweptRecording, AudioRemoval)], last: SweepKey?) {
        let t = Timestamp.utc(now)
        return try wrap("sweep audio") {
            try db.write { db in
                // Rows whose metadata is due too are left to sweepMetadata, which removes their audio first:
                // one pass per recording instead of an update and then a delete.
                let rows = try Self.dueBatch(db, where: "\(Deletable.audio) AND NOT (\(Deletable.metadataDue))", [t, t],
                                             expiry: "audio_expires_at", after: after, limit: limit)
                var out: [(SweptRecording, AudioRemoval)] = []
                for row in rows {
                    let r = SweptRecording(id: row["id"], tenant: row["tenant"], audioPath: row["audio_path"], audioPresent: true)
                    out.append((r, remove(r)))
                }
                try sync()
                var events: [AuditEvent] = []
                var byHow: [String: [String]] = [:]
                for (r, result) in out {
                    switch result {
                    case .removed, .alreadyMissing:
                        let how = if case .removed = result { "retention" } else { "found_missing" }
                        byHow[how, default: []].append(r.id)
                        events.append(event(.sweepAudioDeleted, r.id, ["tenant": r.tenant, "how": how]))
                    case .failed:
                        break
                    }
                }
                for (how, ids) in byHow.sorted(by: { $0.key < $1.key }) {
                    for run in ids.runs(of: 500) {
                        var args: SQLArguments = [t, how]
                        args.append(contentsOf: SQLArguments(run))
                        // The officer's note on the announcement review may quote the call: it goes with the audio (the
                        // decision stays, in the row and the audit).
                        try db.execute(cached: "UPDATE recordings SET audio_deleted_at = ?, audio_deletion = ?, announcement_review_note = NULL WHERE id IN (\(marks(run.count)))", arguments: args)
                        // The waveform is derived from the audio, and notes are about it: both go with it (metadata
                        // deletion cascades).
                        try db.execute(cached: "DELETE FROM waveforms WHERE recording_id IN (\(marks(run.count)))", arguments: SQLArguments(run))
                        try db.execute(cached: "DELETE FROM notes WHERE recording_id IN (\(marks(run.count)))", arguments: SQLArguments(run))
                    }
                }
                try AuditLog.append(events, in: db)
                let last = rows.last.map { ($0["expiry"] as String, $0["rid"] as Int64) }
                return (out, last)
            }
        }
    }

    /// Deletes the metadata (the row and its audio, audio first) of up to `limit` deletable recordings after `after`.
    public func sweepMetadata(at now: Date, after: SweepKey?, limit: Int, event: SweepEventFactory,
                              remove: (SweptRecording) -> AudioRemoval, sync: () throws -> Void)
        throws -> (swept: [(SweptRecording, AudioRemoval)], last: SweepKey?) {
        let t = Timestamp.utc(now)
        return try wrap("sweep metadata") {
            try db.write { db in
                let rows = try Self.dueBatch(db, where: Deletable.metadata, [t], expiry: "metadata_expires_at", after: after, limit: limit)
                var out: [(SweptRecording, AudioRemoval)] = []
                for row in rows {
                    let present = (row["audio_deleted_at"] as String?) == nil
                    let r = SweptRecording(id: row["id"], tenant: row["tenant"], audioPath: row["audio_path"], audioPresent: present)
                    out.append((r, present ? remove(r) : .removed))
                }
                try sync()
                var events: [AuditEvent] = []
                var gone: [String] = []
                for (r, result) in out {
                    if case .failed = result { continue }
                    // One event per recording: the metadata deletion, saying whether the audio went with it.
                    var details = ["tenant": r.tenant]
                    if r.audioPresent {
                        details["audio"] = if case .removed = result { "retention" } else { "found_missing" }
                    }
                    gone.append(r.id)
                    events.append(event(.sweepMetadataDeleted, r.id, details))
                }
                // The trigger recordings_deleted_counted (v11) keeps each call's count for the report.
                for run in gone.runs(of: 500) {
                    try db.execute(cached: "DELETE FROM recordings WHERE id IN (\(marks(run.count)))", arguments: SQLArguments(run))
                }
                try AuditLog.append(events, in: db)
                let last = rows.last.map { ($0["expiry"] as String, $0["rid"] as Int64) }
                return (out, last)
            }
        }
    }

    /// Quarantine entries not yet deleted, oldest first.
    public func liveRejections() throws -> [RejectionRow] {
        try wrap("read quarantine") {
            try db.read { try RejectionRow.fetchAll($0, sql: "SELECT * FROM rejections WHERE deleted_at IS NULL ORDER BY at") }
        }
    }

    public func markRejectionsDeleted(_ ids: [String], at now: Date, event: SweepEventFactory) throws {
        try wrap("mark quarantine deleted") {
            try db.write { db in
                for id in ids {
                    try db.execute(sql: "UPDATE rejections SET deleted_at = ? WHERE id = ?", arguments: [Timestamp.utc(now), id])
                }
                try AuditLog.append(ids.map { event(.sweepQuarantineDeleted, $0, [:]) }, in: db)
            }
        }
    }
}
