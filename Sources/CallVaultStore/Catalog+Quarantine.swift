// Quarantine entries in the catalog that `quarantine retry` resolves.
import CallVaultCore
import Foundation

extension Catalog {
    /// Ids of the quarantine entries still on disk with this reason code, oldest first.
    public func openRejections(reason: String) throws -> [String] {
        try wrap("list quarantine by reason") {
            try db.read { try String.fetchAll($0, sql: "SELECT id FROM rejections WHERE reason = ? AND deleted_at IS NULL ORDER BY at, id", arguments: [reason]) }
        }
    }

    /// Marks a quarantine entry as gone (its inputs were stored or found duplicate on retry) with its audit
    /// event, in one transaction.
    public func resolveRejection(id: String, at: Date, event: AuditEvent) throws {
        try wrap("resolve quarantine entry") {
            try db.write { db in
                try db.execute(sql: "UPDATE rejections SET deleted_at = ? WHERE id = ? AND deleted_at IS NULL", arguments: [Timestamp.utc(at), id])
                try AuditLog.append([event], in: db)
            }
        }
    }
}
