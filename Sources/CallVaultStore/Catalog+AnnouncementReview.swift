// Calls the announcement check sent to review (SPEC §17; SQLite v17 / PostgreSQL v7): stored flagged, hidden from
// coaches, until a compliance officer has listened and decided heard or not heard.
import CallVaultCore
import Foundation

/// What an officer decided about a call sent to review.
public struct AnnouncementReviewDecision: Sendable, Equatable {
    public var reviewedBy: String
    public var reviewedAt: String
    public var note: String
    public init(reviewedBy: String, reviewedAt: String, note: String) { self.reviewedBy = reviewedBy; self.reviewedAt = reviewedAt; self.note = note }
}

extension Catalog {
    /// The calls awaiting review, oldest first, of `tenants` (nil: all); those whose audio is gone cannot be
    /// listened to and are left out.
    public func announcementReviewQueue(tenants: [String]?, limit: Int) throws -> [RecordingRow] {
        try wrap("read review list") {
            try db.read { db in
                var sql = "SELECT * FROM recordings WHERE announcement_verified = ? AND audio_deleted_at IS NULL"
                var args: SQLArguments = [AnnouncementVerdict.review]
                if let tenants {
                    guard !tenants.isEmpty else { return [] }
                    sql += " AND tenant IN (\(tenants.map { _ in "?" }.joined(separator: ",")))"
                    for t in tenants { args.append(t) }
                }
                return try RecordingRow.fetchAll(db, sql: sql + " ORDER BY started_at, id LIMIT \(max(1, limit))", arguments: args)
            }
        }
    }

    /// Records the decision on a call awaiting review and its audit event in one transaction. False when the
    /// call is no longer awaiting review (another officer decided first, or the row is gone).
    public func decideAnnouncementReview(id: String, verified: AnnouncementVerdict, decision: AnnouncementReviewDecision, event: AuditEvent) throws -> Bool {
        try wrap("record review decision") {
            try db.write { db in
                try db.execute(sql: """
                    UPDATE recordings SET announcement_verified = ?, announcement_reviewed_by = ?, announcement_reviewed_at = ?,
                           announcement_review_note = ? WHERE id = ? AND announcement_verified = ?
                    """, arguments: [verified, decision.reviewedBy, decision.reviewedAt, decision.note, id, AnnouncementVerdict.review])
                guard db.changesCount == 1 else { return false }
                try AuditLog.append([event], in: db)
                return true
            }
        }
    }
}
