// Web-login accounts in the catalog (SPEC §13): a password hash and a disabled flag per configured user, each
// change committed with its audit event; failed logins are read back from the audit log for the lockout.
import CallVaultCore
import Foundation

/// An account as the catalog keeps it. Roles are not here: they stay in callvault.toml.
public struct AccountRow: Sendable, Equatable {
    public var user: String
    /// The bcrypt hash (`$2b$…`), nil when no password was set or the account was disabled.
    public var passwordHash: String?
    public var disabled: Bool
    /// When the password or the flag last changed (RFC 3339 UTC).
    public var changedAt: String

    public init(user: String, passwordHash: String?, disabled: Bool, changedAt: String) {
        self.user = user
        self.passwordHash = passwordHash
        self.disabled = disabled
        self.changedAt = changedAt
    }
}

extension Catalog {
    public func account(user: String) throws -> AccountRow? {
        try wrap("read account") {
            try db.read { db in
                try SQLRow.fetchOne(db, sql: "SELECT * FROM accounts WHERE \"user\" = ?", arguments: [user]).map {
                    AccountRow(user: $0["user"], passwordHash: $0["password_hash"], disabled: $0["disabled"], changedAt: $0["changed_at"])
                }
            }
        }
    }

    /// Stores a new password hash for `user` and enables the account, in one transaction with `event`.
    public func setPasswordHash(user: String, hash: String, at now: Date, event: AuditEvent) throws {
        try wrap("set password") {
            try db.write { db in
                try db.execute(sql: """
                    INSERT INTO accounts ("user", password_hash, disabled, changed_at) VALUES (?, ?, 0, ?)
                    ON CONFLICT ("user") DO UPDATE SET password_hash = excluded.password_hash, disabled = 0, changed_at = excluded.changed_at
                    """, arguments: [user, hash, Timestamp.utc(now)])
                try AuditLog.append(event, in: db)
            }
        }
    }

    /// Disables `user`'s account (creating the row if there was none), in one transaction with `event`. The hash
    /// is dropped: a disabled account keeps no secret, and enabling it again means setting a new password.
    public func disableAccount(user: String, at now: Date, event: AuditEvent) throws {
        try wrap("disable account") {
            try db.write { db in
                try db.execute(sql: """
                    INSERT INTO accounts ("user", password_hash, disabled, changed_at) VALUES (?, NULL, 1, ?)
                    ON CONFLICT ("user") DO UPDATE SET password_hash = NULL, disabled = 1, changed_at = excluded.changed_at
                    """, arguments: [user, Timestamp.utc(now)])
                try AuditLog.append(event, in: db)
            }
        }
    }

    /// The last `limit` failed logins of `user` since their last login or password change, newest first, by
    /// sequence number and not by date: a clock stepped since must not hide a failure from the lockout.
    public func loginFailures(user: String, limit: Int) throws -> [(seq: Int64, at: Date)] {
        try wrap("count failed logins") {
            try db.read { db in
                try SQLRow.fetchAll(db, sql: """
                    SELECT seq, at FROM audit_events
                    WHERE action = '\(AuditAction.authFailed.rawValue)' AND target = ?
                      AND seq > coalesce((SELECT max(seq) FROM audit_events
                                          WHERE action IN ('auth.login', 'user.password_set') AND target = ?), 0)
                    ORDER BY seq DESC LIMIT ?
                    """, arguments: [user, user, limit]).compactMap { r -> (seq: Int64, at: Date)? in
                    guard let at = Timestamp.parse(r["at"] as String) else { return nil }
                    return (r["seq"] as Int64, at)
                }
            }
        }
    }

    /// Whether `action` was recorded for `target` after event `seq` (one `auth.locked` per lockout).
    public func hasEvent(action: AuditAction, target: String, after seq: Int64) throws -> Bool {
        try wrap("read audit") {
            try db.read { db in
                try Bool.fetchOne(db, sql: "SELECT 1 FROM audit_events WHERE action = ? AND target = ? AND seq > ? LIMIT 1",
                                  arguments: [action, target, seq]) == true
            }
        }
    }
}
