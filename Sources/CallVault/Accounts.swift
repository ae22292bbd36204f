// Web logins (SPEC §13): passwords set by an admin, checked with bcrypt, failures throttled from the audit log.
import CallVaultCore
import CallVaultStore
import Foundation
import HummingbirdBcrypt
import Synchronization

/// Passwords of configured users and the checks of a login. Roles stay in callvault.toml; the catalog keeps only
/// a bcrypt hash and a disabled flag. bcrypt is slow on purpose (cost 12: about 0.4 s per hash in a debug build here), and
/// blocks the calling thread: the web layer calls `login` off its event loops and the cooperative pool.
public struct Accounts: Sendable {
    public let vault: Vault

    public init(vault: Vault) { self.vault = vault }

    /// bcrypt's work factor: 2^12 rounds.
    static let cost: UInt8 = 12
    /// bcrypt reads at most 72 bytes of a password; longer ones are refused rather than silently cut.
    public static let maximumPasswordBytes = 72
    public static let minimumPasswordCharacters = 12
    /// After this many failures for one user within `failureWindow`, logins are refused for `lockoutPeriod`
    /// from the last failure.
    public static let maximumFailures = 5
    public static let failureWindow: TimeInterval = 15 * 60
    public static let lockoutPeriod: TimeInterval = 15 * 60

    /// A cost-12 hash of a random text nobody knows: checked for names without a usable hash, so that the answer
    /// takes as long for an unknown name as for a known one.
    static let dummyHash = "$2b$12$09eTDhCJrFHnZgYNEVds7eqpBr4jsjlb3.bEv3p0Ytt4.HL.BCLwW"

    static let administrators = Role.administrators

    /// Checks that the acting user may manage `user`'s account (an admin; refusal audited) and that `user` is
    /// configured in callvault.toml. `setPassword` does this itself; the CLI calls it first so that it does not
    /// prompt for a password it would then refuse.
    public func requireManageable(user: String) throws {
        try vault.require(Self.administrators, to: "user password")
        guard vault.configuration.users[user] != nil else {
            throw VaultError(.usage, "user \(user): not a user in \(Configuration.fileName) (add [users.\(user)] with its role first)")
        }
    }

    /// Admin only (refusal audited). `user` must be configured in callvault.toml (roles stay there). The password
    /// has at least 12 characters, at most 72 UTF-8 bytes (bcrypt's limit), no control characters, and is not
    /// the user name. Audited `user.password_set` (target the user; never the password or its hash). Setting a
    /// password enables a disabled account again, and starts the count of failed logins afresh.
    public func setPassword(user: String, password: String) throws {
        try setPassword(user: user, password: password, cost: Self.cost)
    }

    /// `cost` is a parameter for the tests only: a lockout test makes dozens of attempts.
    func setPassword(user: String, password: String, cost: UInt8) throws {
        try requireManageable(user: user)
        if let problem = Self.weakness(of: password, user: user) {
            throw VaultError(.usage, "password for \(user) refused: \(problem)")
        }
        let hash = Bcrypt.hash(password, cost: cost)
        try vault.catalog.setPasswordHash(user: user, hash: hash, at: vault.clock.now(), event: vault.event(.userPasswordSet, target: user))
    }

    /// Why `password` may not be set for `user`, or nil. Never quotes the password.
    static func weakness(of password: String, user: String) -> String? {
        if password.count < minimumPasswordCharacters {
            return "it must have at least \(minimumPasswordCharacters) characters"
        }
        if password.utf8.count > maximumPasswordBytes {
            return "it must be at most \(maximumPasswordBytes) bytes in UTF-8 (bcrypt ignores anything after that)"
        }
        // bcrypt stops at a NUL; other controls cannot be typed into the login form.
        if password.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
            return "it may not contain control characters"
        }
        if password.lowercased() == user.lowercased() {
            return "it may not be the user name"
        }
        return nil
    }

    /// Admin only. Locks `user`'s account: password logins and trusted-header logins are refused, and the web
    /// layer ends live sessions (`isActive`). Audited `user.disabled`. A new password enables it again.
    public func disable(user: String) throws {
        try vault.require(Self.administrators, to: "user password --disable")
        // A user already removed from callvault.toml may still have an account row to lock.
        guard try vault.configuration.users[user] != nil || vault.catalog.account(user: user) != nil else {
            throw VaultError(.usage, "user \(user): not a user in \(Configuration.fileName) and no account")
        }
        try vault.catalog.disableAccount(user: user, at: vault.clock.now(), event: vault.event(.userDisabled, target: user))
    }

    public enum LoginResult: Sendable, Equatable {
        /// With the version of the password that was checked (the account row bcrypt verified): a session made
        /// from it ends when the password is set again, even between this check and the session's making.
        case ok(Principal, passwordVersion: String?)
        case refused
        case lockedOut(until: Date)
    }

    /// Checks a password login from `address` (the client's IP as text, recorded in the audit). `vault` is the
    /// service's (its principal the OS user running `serve`).
    /// - ok: audited `auth.login` with the user as actor and target.
    /// - refused (wrong password, no password set, disabled, unknown user): audited `auth.failed` with the
    ///   configured user as target, or no target and reason "unknown user" — the typed name is never recorded
    ///   (it may be a phone number typed into the wrong field).
    /// - lockedOut: after 5 failures for one user within 15 minutes, every attempt is refused until 15 minutes
    ///   after the last failure, the password not even checked; audited `auth.locked` once per lockout.
    /// bcrypt runs for every name but a locked one (against a dummy hash when there is no usable one), so the
    /// time of the answer does not tell which names exist.
    public static func login(vault: Vault, user: String, password: String, from address: String) throws -> LoginResult {
        let from = auditAddress(address)
        guard let configured = vault.configuration.users[user] else {
            _ = Bcrypt.verify(password, hash: dummyHash)
            // No user to lock out: at most one event a minute per store, counting the attempts it stands for,
            // so that a flood of made-up names cannot fill the append-only log.
            if let repeated = UnknownNameFailures.shared.record(store: vault.root, now: vault.clock.now()) {
                var details = ["reason": "unknown user", "address": from]
                if repeated > 0 { details["repeated"] = String(repeated) }
                try vault.catalog.appendAudit([vault.event(.authFailed, target: nil, details: details)])
            }
            return .refused
        }
        // The configured spelling from here on: never the typed text (Swift compares names canonically; SQLite by bytes).
        let name = configured.name
        // One check at a time per user in this process: each sees the failures of the one before, so parallel
        // guesses cannot all slip under the limit while bcrypt runs.
        return try UserLocks.shared.withLock(name) {
            try check(vault: vault, configured: configured, password: password, from: from, now: vault.clock.now())
        }
    }

    static func check(vault: Vault, configured: User, password: String, from: String, now: Date) throws -> LoginResult {
        let name = configured.name
        if let lockout = try lockedUntil(vault: vault, user: name, now: now) {
            // Once per lockout (after the first of the failures that made it, by sequence: a clock stepped since cannot
            // make an old event look like this lockout's): attempts while locked are refused unrecorded after the
            // first, so a flood of them cannot fill the append-only log.
            if try !vault.catalog.hasEvent(action: .authLocked, target: name, after: lockout.since) {
                try vault.catalog.appendAudit([vault.event(.authLocked, target: name, details: ["address": from, "until": Timestamp.utc(lockout.until)])])
            }
            return .lockedOut(until: lockout.until)
        }
        let account = try vault.catalog.account(user: name)
        let usable = account.flatMap { $0.disabled ? nil : $0.passwordHash }
        // A password bcrypt would cut (past 72 bytes, or at a NUL) could never have been set: it cannot match.
        let checkable = password.utf8.count <= maximumPasswordBytes && !password.utf8.contains(0)
        let matches = Bcrypt.verify(checkable ? password : "", hash: usable ?? dummyHash) && checkable && usable != nil
        guard matches else {
            let reason = account?.disabled == true ? "disabled" : usable == nil ? "no password" : "wrong password"
            let event = vault.event(.authFailed, target: name, details: ["reason": reason, "address": from])
            try vault.catalog.appendAudit([event])
            // Seen as it happens, on both clocks: a clock stepped before the next attempt cannot re-date it.
            FailureSightings.shared.saw(event.at, store: vault.root, user: name, now: now, uptime: vault.clock.uptime())
            return .refused
        }
        let principal = Principal(name: name, user: configured, onBehalfOf: nil)
        try vault.catalog.appendAudit([vault.acting(as: principal).event(.authLogin, target: name, details: ["address": from])])
        return .ok(principal, passwordVersion: account?.changedAt)
    }

    /// When `user` is locked out at `now`: 15 minutes after the last of 5 failures that fell within 15 minutes.
    /// The failures are found by sequence number and dated on the wall clock, which may have stepped since
    /// (`FailureSightings`): each is placed on today's wall clock by how long ago this process saw it, so that a
    /// lockout lasts its length whatever the clock did, and a clock set back never says "try again in 1455
    /// minutes". `since`: the sequence number of the first of the failures that locked.
    static func lockedUntil(vault: Vault, user: String, now: Date) throws -> (until: Date, since: Int64)? {
        let recent = try vault.catalog.loginFailures(user: user, limit: maximumFailures)
        let placed = FailureSightings.shared.place(recent.map(\.at), store: vault.root, user: user, now: now, uptime: vault.clock.uptime())
        guard placed.count == maximumFailures, let last = placed.first, let fifth = placed.last, let first = recent.last,
              last.timeIntervalSince(fifth) < failureWindow else { return nil }
        let until = last.addingTimeInterval(lockoutPeriod)
        return now < until ? (until, first.seq) : nil
    }

    /// For single sign-on behind a trusted reverse proxy (its header names the user, already authenticated): the
    /// principal of a configured user whose account is not disabled, or nil, audited `auth.failed` like `login`.
    /// No password and no lockout: the proxy did the authentication.
    public static func principal(vault: Vault, trustedUser: String, from address: String) throws -> Principal? {
        let from = auditAddress(address)
        // Every request of such a user comes here (a browser sends several a page): as for password failures of
        // unknown names, at most one event a minute per store and reason, counting the requests it stands for,
        // so that one misconfigured proxy user cannot flood the append-only log with an fsync per request.
        func refuse(_ target: String?, _ reason: String) throws {
            guard let repeated = UnknownNameFailures.shared.record(store: vault.root + "|trusted header|" + (target ?? ""), now: vault.clock.now()) else { return }
            var details = ["reason": reason, "method": "trusted header", "address": from]
            if repeated > 0 { details["repeated"] = String(repeated) }
            try vault.catalog.appendAudit([vault.event(.authFailed, target: target, details: details)])
        }
        guard let configured = vault.configuration.users[trustedUser] else {
            try refuse(nil, "unknown user")
            return nil
        }
        if try vault.catalog.account(user: configured.name)?.disabled == true {
            try refuse(configured.name, "disabled")
            return nil
        }
        return Principal(name: configured.name, user: configured, onBehalfOf: nil)
    }

    /// Whether `user` may still log in with a password: configured, with a password, not disabled. The web layer
    /// checks it on each request of a password session, so that `user password` and `--disable` end live sessions.
    /// With `passwordVersion` (the version `login` returned when the session was made): a password set since
    /// also ends the session — a reset is how an admin evicts whoever holds a stolen session. Compared as a
    /// version, not as a time: a clock set back must not make every session look older than the password.
    public static func isActive(vault: Vault, user: String, passwordVersion: String? = nil) throws -> Bool {
        guard let configured = vault.configuration.users[user], let account = try vault.catalog.account(user: configured.name) else {
            return false
        }
        if let passwordVersion, account.changedAt != passwordVersion { return false }
        return !account.disabled && account.passwordHash != nil
    }

    /// The client address as recorded: an IP in text form, or "invalid" for anything else (it came over the network).
    static func auditAddress(_ address: String) -> String {
        let allowed = address.unicodeScalars.allSatisfy { $0.properties.isASCIIHexDigit || $0 == "." || $0 == ":" || $0 == "%" || $0 == "[" || $0 == "]" }
        return !address.isEmpty && address.utf8.count <= 64 && allowed ? address : "invalid"
    }
}

/// When this process first saw each failed login, on both clocks. A failure's age is then the monotonic time since
/// it was seen, plus how old its wall-clock date was at that moment (never less than zero: a failure dated after
/// the moment it was seen was dated by a clock that has stepped back since). Failures seen before this process
/// started are aged by the wall clock alone, the best that can be known of them.
final class FailureSightings: Sendable {
    static let shared = FailureSightings()

    struct Sighting {
        var wall: Date
        var uptime: TimeInterval
    }

    private let seen = Mutex<[String: Sighting]>([:])

    /// A failure this process has just recorded, dated `at` (as the catalog will give it back).
    func saw(_ at: Date, store: String, user: String, now: Date, uptime: TimeInterval) {
        guard let recorded = Timestamp.parse(Timestamp.utc(at)) else { return }
        seen.withLock { $0[Self.key(recorded, store: store, user: user)] = Sighting(wall: now, uptime: uptime) }
    }

    static func key(_ at: Date, store: String, user: String) -> String {
        "\(store)\u{0}\(user)\u{0}\(at.timeIntervalSinceReferenceDate)"
    }

    /// `failures` (newest first, as recorded) moved onto the wall clock of `now`, newest first.
    func place(_ failures: [Date], store: String, user: String, now: Date, uptime: TimeInterval) -> [Date] {
        seen.withLock { table in
            // Sightings older than any lockout can last are of no more use.
            if table.count > 4096 { table = table.filter { uptime - $0.value.uptime < 2 * 3600 } }
            return failures.map { at in
                let key = Self.key(at, store: store, user: user)
                let sighting = table[key] ?? Sighting(wall: now, uptime: uptime)
                table[key] = sighting
                let ageWhenSeen = max(0, sighting.wall.timeIntervalSince(at))
                let age = max(0, uptime - sighting.uptime) + ageWhenSeen
                // Unchanged when the clock has not stepped: the recorded date itself, not a sum of differences.
                let placed = now.addingTimeInterval(-age)
                return abs(placed.timeIntervalSince(at)) < 1 ? at : placed
            }
        }
    }
}

/// A lock per user name, made on first use: logins of one user are checked one after the other, those of
/// different users in parallel.
final class UserLocks: Sendable {
    static let shared = UserLocks()
    private let locks = Mutex<[String: NSLock]>([:])

    func withLock<T>(_ user: String, _ body: () throws -> T) rethrows -> T {
        let lock = locks.withLock { table in
            if let l = table[user] { return l }
            let l = NSLock()
            table[user] = l
            return l
        }
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }
}

/// Logins with a name that is not a user, per store: the first of each minute is audited, with the number of
/// those refused since the last one that was.
final class UnknownNameFailures: Sendable {
    static let shared = UnknownNameFailures()
    static let interval: TimeInterval = 60
    private let state = Mutex<[String: (lastAudited: Date, since: Int)]>([:])

    /// The count to record with an audit event now, or nil when this failure is only counted.
    func record(store: String, now: Date) -> Int? {
        state.withLock { table in
            if let s = table[store], now.timeIntervalSince(s.lastAudited) < Self.interval, now >= s.lastAudited {
                table[store] = (s.lastAudited, s.since + 1)
                return nil
            }
            let repeated = table[store]?.since ?? 0
            table[store] = (now, 0)
            return repeated
        }
    }
}
