// What an evidence bag takes from the catalog: the audit events about its calls and hold, and the chain's head.
import CallVaultCore
import Foundation

/// One audit event as a chain of custody lists it: with its place in the chain.
public struct CustodyEvent: Sendable {
    public var seq: Int64
    public var at, actor: String
    public var principal: String?
    public var action: String
    public var target: String?
    public var details, prevHash, hash: String
}

extension Catalog {
    /// Every audit event whose target is one of `targets`, in the chain's order.
    public func custodyEvents(targets: [String]) throws -> [CustodyEvent] {
        try wrap("read the chain of custody") {
            try db.read { db in
                var events: [CustodyEvent] = []
                // In pieces: an IN list of a thousand calls stays well inside both engines' parameter limits.
                for start in stride(from: 0, to: targets.count, by: 500) {
                    let part = Array(targets[start..<min(start + 500, targets.count)])
                    let a = SQLArguments(part)
                    let marks = Array(repeating: "?", count: part.count).joined(separator: ", ")
                    for r in try SQLRow.fetchAll(db, sql: """
                        SELECT seq, at, actor, principal, action, target, details, prev_hash, hash FROM audit_events
                        WHERE target IN (\(marks)) ORDER BY seq
                        """, arguments: a) {
                        events.append(CustodyEvent(seq: r["seq"], at: r["at"], actor: r["actor"], principal: r["principal"], action: r["action"],
                                                   target: r["target"], details: r["details"], prevHash: r["prev_hash"], hash: r["hash"]))
                    }
                }
                return events.sorted { $0.seq < $1.seq }
            }
        }
    }

    /// The last event of the chain (nil for an empty log), read without appending one.
    public func auditChainHead() throws -> (seq: Int64, hash: String)? {
        try wrap("read the audit head") {
            try db.read { db in
                try SQLRow.fetchOne(db, sql: "SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1", arguments: []).map { ($0["seq"], $0["hash"]) }
            }
        }
    }
}
