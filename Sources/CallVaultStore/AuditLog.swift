// The hash-chained, append-only audit log: each event's hash covers the previous event's hash.
import CallVaultCore
import Crypto
import Foundation

/// One audit event before it is chained. Details carry ids, counts and reasons only — never phone numbers or audio.
public struct AuditEvent: Sendable {
    public var at: Date
    public var actor: String
    public var principal: String?
    public var action: AuditAction
    public var target: String?
    public var details: [String: String]

    public init(at: Date, actor: String, principal: String? = nil, action: AuditAction, target: String?, details: [String: String] = [:]) {
        self.at = at
        self.actor = actor
        self.principal = principal
        self.action = action
        self.target = target
        self.details = details
    }
}

public enum AuditLog {
    static let genesis = String(repeating: "0", count: 64)

    /// Appends inside the caller's transaction, so events commit with the change they describe.
    public static func append(_ event: AuditEvent, in db: any SQLSession) throws {
        try append([event], in: db)
    }

    /// Appends several events in order, reading the chain's end once and writing its head once.
    public static func append(_ events: [AuditEvent], in db: any SQLSession) throws {
        guard !events.isEmpty else { return }
        let last = try SQLRow.fetchOne(db, sql: "SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1", cached: true)
        var seq: Int64 = last?["seq"] ?? 0
        var prev: String = last?["hash"] ?? genesis
        var rows: [SQLArguments] = []
        rows.reserveCapacity(events.count)
        for event in events {
            seq += 1
            let at = Timestamp.utc(event.at)
            let details = canonicalJSON(event.details)
            let hash = chainHash(prev: prev, seq: seq, at: at, actor: event.actor, principal: event.principal,
                                 action: event.action.rawValue, target: event.target, details: details)
            rows.append([seq, at, event.actor, event.principal, event.action.rawValue, event.target, details, prev, hash])
            prev = hash
        }
        // Many rows a statement (a sweep batch appends thousands): one round trip each, not one per event.
        for run in rows.runs(of: 500) {
            var args = SQLArguments()
            for r in run { args.append(contentsOf: r) }
            try db.execute(cached: "INSERT INTO audit_events (seq, at, actor, principal, action, target, details, prev_hash, hash) VALUES "
                           + Array(repeating: "(?, ?, ?, ?, ?, ?, ?, ?, ?)", count: run.count).joined(separator: ", "), arguments: args)
        }
        // The head of the chain, kept apart: cutting events off the end leaves a chain that is whole in itself,
        // and only a head that no longer matches tells.
        try db.execute(cached: Catalog.setMetaSQL, arguments: ["audit_head", "\(seq):\(prev)"])
    }

    static func chainHash(prev: String, seq: Int64, at: String, actor: String, principal: String?,
                          action: String, target: String?, details: String) -> String {
        let fields = [prev, String(seq), at, actor, principal ?? "", action, target ?? "", details]
        let digest = SHA256.hash(data: Data(fields.joined(separator: "\u{1F}").utf8))
        return Hex.encode(digest)
    }

    /// `{"k":"v",…}` with sorted keys: the stable text the chain hashes (hand-written: this is on the
    /// sweeper's hot path, one event per deletion).
    static func canonicalJSON(_ d: [String: String]) -> String {
        func quoted(_ s: String) -> String {
            var out = "\""
            for u in s.unicodeScalars {
                switch u {
                case "\"": out += "\\\""
                case "\\": out += "\\\\"
                case "\n": out += "\\n"
                case "\r": out += "\\r"
                case "\t": out += "\\t"
                default:
                    if u.value < 0x20 {
                        out += "\\u00" + Hex.encode([UInt8(u.value)])
                    } else {
                        out.unicodeScalars.append(u)
                    }
                }
            }
            return out + "\""
        }
        return "{" + d.keys.sorted().map { quoted($0) + ":" + quoted(d[$0]!) }.joined(separator: ",") + "}"
    }
}
