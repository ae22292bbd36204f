// Web logins through the use case: passwords, refusals, the lockout (on a settable clock), and what the audit keeps.
@testable import CallVault
import CallVaultCore
import CallVaultStore
import CallVaultTesting
import Foundation
import Synchronization
import Testing

/// A host's clocks: a wall clock that can be set (corrected by NTP, a VM resumed from a snapshot) and a
/// monotonic one that only runs.
final class HostClock: Clock {
    private let readings: Mutex<(wall: Date, uptime: TimeInterval)>
    init(_ start: Date) { readings = Mutex((start, 1000)) }
    func now() -> Date { readings.withLock { $0.wall } }
    func uptime() -> TimeInterval { readings.withLock { $0.uptime } }
    /// Time passes: both clocks run.
    func advance(_ seconds: TimeInterval) { readings.withLock { $0.wall += seconds; $0.uptime += seconds } }
    /// The wall clock is set; the monotonic one does not move.
    func step(_ seconds: TimeInterval) { readings.withLock { $0.wall += seconds } }
}

/// A store with an admin (root), a coach, a compliance officer with a long name, and the service's vault.
final class AccountsStore {
    let dir = NSTemporaryDirectory() + "callvault-accounts-" + UUID().uuidString
    let clock = HostClock(Timestamp.parse("2026-11-22T10:00:00Z")!)
    let admin: Vault
    /// As `serve` opens it: the OS user running the service, not a configured user.
    let service: Vault

    init() throws {
        _ = try Vault.create(at: dir, tenants: ["acme-energy"], simulation: true, actor: "root", clock: clock)
        let path = dir + "/" + Configuration.fileName
        let config = try String(contentsOfFile: path, encoding: .utf8) + """

            [users.coach-an]
            role = "coach"
            teams = ["billing-nl"]

            [users.compliance-officer]
            role = "compliance"

            """
        try config.write(toFile: path, atomically: true, encoding: .utf8)
        admin = try Vault.open(at: dir, actor: "root", clock: clock)
        service = try Vault.open(at: dir, actor: "callvault", clock: clock)
    }

    deinit { try? FileManager.default.removeItem(atPath: dir) }

    /// The service's store opened again under another name (a path with a trailing slash-dot, the same store),
    /// so that this process's sightings of earlier failures do not apply: as after a restart.
    static func reopened(_ s: AccountsStore) throws -> Vault {
        try Vault.open(at: s.dir + "/.", actor: "callvault", clock: s.clock)
    }

    /// Sets a password with a cheap cost: these tests make dozens of attempts (the real cost is tested apart).
    func setQuickly(_ user: String, _ password: String) throws {
        try Accounts(vault: admin).setPassword(user: user, password: password, cost: 4)
    }

    func login(_ user: String, _ password: String) throws -> Accounts.LoginResult {
        try Accounts.login(vault: service, user: user, password: password, from: "192.0.2.7")
    }

    func events(_ action: String) throws -> [AuditRow] {
        try admin.catalog.auditEvents(since: nil, actor: nil, action: action, limit: 1000)
    }

    /// Every byte of the catalog on disk (the database and its write-ahead log) as Latin-1 text, for searching.
    func catalogBytes() throws -> String {
        [Catalog.fileName, Catalog.fileName + "-wal"].compactMap { FileManager.default.contents(atPath: dir + "/" + $0) }
            .map { String(decoding: $0, as: Unicode.ASCII.self) }.joined()
    }
}

@Suite struct AccountsTests {
    let password = "correct horse battery"

    @Test func theRightPasswordLogsInAsTheConfiguredUserAndIsAudited() throws {
        let s = try AccountsStore()
        try s.setQuickly("coach-an", password)
        let result = try s.login("coach-an", password)
        guard case .ok(let principal, _) = result else { Issue.record("expected ok, got \(result)"); return }
        #expect(principal.name == "coach-an")
        #expect(principal.user?.role == .coach)
        #expect(principal.onBehalfOf == nil)
        let logins = try s.events("auth.login")
        #expect(logins.count == 1)
        #expect(logins.first?.actor == "coach-an", "the user is the actor, not the service's OS user")
        #expect(logins.first?.target == "coach-an")
        #expect(logins.first?.details.contains("192.0.2.7") == true)
        #expect(try Accounts.isActive(vault: s.service, user: "coach-an"))
    }

    @Test func aWrongPasswordIsRefusedAndAuditedWithoutThePassword() throws {
        let s = try AccountsStore()
        try s.setQuickly("coach-an", password)
        #expect(try s.login("coach-an", "correct horse batterY") == .refused)
        #expect(try s.login("coach-an", "") == .refused)
        let failed = try s.events("auth.failed")
        #expect(failed.count == 2)
        #expect(failed.allSatisfy { $0.target == "coach-an" && $0.actor == "callvault" && $0.details.contains("wrong password") })
        #expect(try s.events("auth.login").isEmpty)
        #expect(!(try s.catalogBytes()).contains("horse"), "neither the password nor a wrong guess is stored")
    }

    @Test func anUnknownNameIsRefusedAndTheTypedTextIsNeverRecorded() throws {
        let s = try AccountsStore()
        try s.setQuickly("coach-an", password)
        // Someone types a caller's number into the user field.
        #expect(try s.login("+32470123456", password) == .refused)
        #expect(try Accounts.principal(vault: s.service, trustedUser: "+32470987654", from: "127.0.0.1") == nil)
        let failed = try s.events("auth.failed")
        #expect(failed.count == 2)
        #expect(failed.allSatisfy { $0.target == nil && $0.details.contains("unknown user") })
        let bytes = try s.catalogBytes()
        #expect(!bytes.contains("32470123456") && !bytes.contains("32470987654"))
        // A user name in another case is another name, unknown as well.
        #expect(try s.login("Coach-An", password) == .refused)
    }

    /// Made-up names cannot fill the append-only log: one event a minute, counting the attempts it stands for.
    @Test func aFloodOfUnknownNamesLeavesOneEventAMinute() throws {
        let s = try AccountsStore()
        for i in 0..<12 { #expect(try s.login("nobody-\(i)", "guess guess guess") == .refused) }
        #expect(try s.events("auth.failed").count == 1)
        s.clock.advance(61)
        #expect(try s.login("nobody-x", "guess guess guess") == .refused)
        let failed = try s.events("auth.failed")
        #expect(failed.count == 2)
        #expect(failed.last?.details.contains("\"repeated\":\"11\"") == true, "\(failed.last?.details ?? "")")
    }

    @Test func fiveFailuresWithinFifteenMinutesLockTheUserOutEvenWithTheRightPassword() throws {
        let s = try AccountsStore()
        try s.setQuickly("coach-an", password)
        let start = s.clock.now()
        for _ in 0..<5 {
            #expect(try s.login("coach-an", "guess guess guess") == .refused)
            s.clock.advance(60)
        }
        // The last failure was at +4 min: locked until +19 min, whatever is typed.
        let until = start.addingTimeInterval(4 * 60 + 15 * 60)
        #expect(try s.login("coach-an", password) == .lockedOut(until: until))
        #expect(try s.events("auth.locked").count == 1)
        #expect(try s.events("auth.login").isEmpty)
        // Attempts while locked do not extend the lockout.
        s.clock.advance(10 * 60)
        #expect(try s.login("coach-an", "guess guess guess") == .lockedOut(until: until))
        s.clock.advance(until.timeIntervalSince(s.clock.now()) - 1)
        #expect(try s.login("coach-an", password) == .lockedOut(until: until))
        // Other users are not affected.
        try s.setQuickly("compliance-officer", password)
        guard case .ok = try s.login("compliance-officer", password) else { Issue.record("another user was locked out"); return }
        s.clock.advance(1)
        guard case .ok = try s.login("coach-an", password) else { Issue.record("the lockout did not expire after 15 minutes"); return }
        #expect(try s.events("auth.locked").count == 1, "one auth.locked per lockout, however many attempts it refused")
        #expect(try s.events("auth.failed").count == 5, "locked attempts are audited as auth.locked, not as failures")
    }

    /// Guesses sent in parallel are checked one after the other: exactly 5 are tried, the rest refused unchecked,
    /// and the flood leaves one `auth.locked`, not one per attempt.
    @Test func parallelGuessesGetNoMoreThanFiveTries() throws {
        let s = try AccountsStore()
        try s.setQuickly("coach-an", password)
        let outcomes = Mutex<[Accounts.LoginResult]>([])
        let service = s.service
        DispatchQueue.concurrentPerform(iterations: 24) { _ in
            let r = try? Accounts.login(vault: service, user: "coach-an", password: "guess guess guess", from: "192.0.2.7")
            outcomes.withLock { $0.append(r ?? .refused) }
        }
        let all = outcomes.withLock { $0 }
        #expect(all.filter { $0 == .refused }.count == 5)
        #expect(all.filter { if case .lockedOut = $0 { return true } else { return false } }.count == 19)
        #expect(try s.events("auth.failed").count == 5)
        #expect(try s.events("auth.locked").count == 1)
    }

    /// The clock is set back a day after a lockout began (and, in the second case, forward): the lockout still ends
    /// 15 minutes after the last failure, and the wait it announces is never more than 15 minutes.
    @Test(arguments: [-86_400.0, 86_400.0, -3_600.0, 3 * 86_400.0, -30 * 86_400.0])
    func aLockoutLastsItsLengthWhateverTheClockDoes(step: TimeInterval) throws {
        let s = try AccountsStore()
        try s.setQuickly("coach-an", password)
        for _ in 0..<5 { #expect(try s.login("coach-an", "guess guess guess") == .refused) }
        s.clock.advance(60)
        s.clock.step(step)
        guard case .lockedOut(let until) = try s.login("coach-an", password) else {
            Issue.record("the lockout was lifted by a clock stepped \(step) s"); return
        }
        let left = until.timeIntervalSince(s.clock.now())
        #expect(left > 13 * 60 && left <= 14 * 60 + 1, "announced wait: \(left / 60) minutes")
        s.clock.advance(13 * 60)
        guard case .lockedOut = try s.login("coach-an", password) else { Issue.record("lifted early after a step of \(step) s"); return }
        s.clock.advance(61)
        guard case .ok = try s.login("coach-an", password) else { Issue.record("still locked 15 minutes after the last failure (step \(step) s)"); return }
    }

    /// A lockout after the clock went back is audited as its own `auth.locked`, although the first one's event is
    /// dated after it.
    @Test func eachLockoutIsAuditedOnceWhateverTheClockDid() throws {
        let s = try AccountsStore()
        try s.setQuickly("coach-an", password)
        for _ in 0..<5 { _ = try s.login("coach-an", "guess guess guess") }
        guard case .lockedOut = try s.login("coach-an", password) else { Issue.record("not locked"); return }
        #expect(try s.events("auth.locked").count == 1)
        s.clock.step(-86_400)
        s.clock.advance(16 * 60)
        for _ in 0..<5 { #expect(try s.login("coach-an", "guess guess guess") == .refused) }
        guard case .lockedOut = try s.login("coach-an", password) else { Issue.record("the second lockout did not lock"); return }
        _ = try s.login("coach-an", password)
        #expect(try s.events("auth.locked").count == 2, "one per lockout")
    }

    /// Failures dated by a clock that was ahead, first read after it was set back: they still lock, for no
    /// more than the lockout's length from when they are seen.
    @Test func failuresDatedInTheFutureLockForNoMoreThanTheLockout() throws {
        let s = try AccountsStore()
        try s.setQuickly("coach-an", password)
        for _ in 0..<5 { #expect(try s.login("coach-an", "guess guess guess") == .refused) }
        // Another service (or this one before a restart) saw none of them; the clock is then set back a day.
        let other = try AccountsStore.reopened(s)
        s.clock.step(-86_400)
        guard case .lockedOut(let until) = try Accounts.login(vault: other, user: "coach-an", password: password, from: "192.0.2.9") else {
            Issue.record("future-dated failures did not lock"); return
        }
        #expect(until.timeIntervalSince(s.clock.now()) <= 15 * 60 + 1)
    }

    @Test func theLockoutIsReadFromTheAuditLogSoAnotherProcessSeesIt() throws {
        let s = try AccountsStore()
        try s.setQuickly("coach-an", password)
        for _ in 0..<5 { _ = try s.login("coach-an", "guess guess guess") }
        // A second `serve` on the same store (or this one after a restart).
        let other = try Vault.open(at: s.dir, actor: "callvault", clock: s.clock)
        guard case .lockedOut = try Accounts.login(vault: other, user: "coach-an", password: password, from: "192.0.2.8") else {
            Issue.record("a second process did not see the lockout"); return
        }
    }

    @Test func failuresSpreadOverMoreThanFifteenMinutesOrBrokenByASuccessDoNotLock() throws {
        let s = try AccountsStore()
        try s.setQuickly("coach-an", password)
        for _ in 0..<5 {
            #expect(try s.login("coach-an", "guess guess guess") == .refused)
            s.clock.advance(4 * 60)  // 5 failures over 16 minutes
        }
        guard case .ok = try s.login("coach-an", password) else { Issue.record("locked by failures spread over 16 minutes"); return }
        // A success starts the count afresh: 4 failures before it and 4 after it are not 5 in a row.
        for _ in 0..<4 { _ = try s.login("coach-an", "guess guess guess") }
        guard case .ok = try s.login("coach-an", password) else { Issue.record("locked after 4 failures"); return }
        for _ in 0..<4 { _ = try s.login("coach-an", "guess guess guess") }
        guard case .ok = try s.login("coach-an", password) else { Issue.record("failures before a success were counted"); return }
        // And a fifth one in a row does lock.
        for _ in 0..<5 { _ = try s.login("coach-an", "guess guess guess") }
        guard case .lockedOut = try s.login("coach-an", password) else { Issue.record("5 failures in a row did not lock"); return }
        // An admin's new password lifts the lockout.
        try s.setQuickly("coach-an", "a brand new passphrase")
        guard case .ok = try s.login("coach-an", "a brand new passphrase") else { Issue.record("a new password did not lift the lockout"); return }
    }

    @Test func aDisabledAccountIsRefusedUntilANewPasswordIsSet() throws {
        let s = try AccountsStore()
        try s.setQuickly("coach-an", password)
        try Accounts(vault: s.admin).disable(user: "coach-an")
        #expect(try s.login("coach-an", password) == .refused)
        #expect(try !Accounts.isActive(vault: s.service, user: "coach-an"))
        #expect(try Accounts.principal(vault: s.service, trustedUser: "coach-an", from: "127.0.0.1") == nil, "single sign-on is locked too")
        let account = try s.admin.catalog.account(user: "coach-an")
        #expect(account?.disabled == true && account?.passwordHash == nil, "a disabled account keeps no hash")
        #expect(try s.events("user.disabled").map(\.target) == ["coach-an"])
        #expect(try s.events("auth.failed").filter { $0.details.contains("disabled") }.count == 2)

        try s.setQuickly("coach-an", "another long passphrase")
        #expect(try Accounts.isActive(vault: s.service, user: "coach-an"))
        guard case .ok = try s.login("coach-an", "another long passphrase") else { Issue.record("setting a password did not enable the account"); return }
    }

    @Test func aUserWithoutAPasswordCannotLogInButMayUseSingleSignOn() throws {
        let s = try AccountsStore()
        #expect(try s.login("coach-an", "") == .refused)
        #expect(try s.login("coach-an", password) == .refused)
        #expect(try !Accounts.isActive(vault: s.service, user: "coach-an"))
        let sso = try Accounts.principal(vault: s.service, trustedUser: "coach-an", from: "127.0.0.1")
        #expect(sso?.name == "coach-an" && sso?.user?.role == .coach)
        #expect(try s.events("auth.failed").allSatisfy { $0.details.contains("no password") })
    }

    @Test func theCatalogKeepsACost12BcryptHashNeverThePassword() throws {
        let s = try AccountsStore()
        let started = ContinuousClock.now
        try Accounts(vault: s.admin).setPassword(user: "coach-an", password: password)
        print("bcrypt cost 12, one hash: \(ContinuousClock.now - started)")
        let hash = try #require(try s.admin.catalog.account(user: "coach-an")?.passwordHash)
        #expect(hash.hasPrefix("$2b$12$") && hash.utf8.count == 60)
        let set = try s.events("user.password_set")
        #expect(set.count == 1 && set.first?.actor == "root" && set.first?.target == "coach-an")
        #expect(!(try s.catalogBytes()).contains("horse"))
        #expect(!set.contains { $0.details.contains("$2b$") }, "the hash is not in the audit log either")
        // Salted: the same password gives another hash.
        try Accounts(vault: s.admin).setPassword(user: "compliance-officer", password: password)
        #expect(try s.admin.catalog.account(user: "compliance-officer")?.passwordHash != hash)
        guard case .ok = try s.login("coach-an", password) else { Issue.record("cost 12 hash does not verify"); return }
    }

    @Test func anUnknownNameTakesAsLongToRefuseAsAKnownOne() throws {
        // A malformed dummy hash would be rejected in microseconds, and the quick answer would tell which names exist
        // (the margin is wide: the machine is shared).
        #expect(Accounts.dummyHash.hasPrefix("$2b$12$") && Accounts.dummyHash.utf8.count == 60)
        let s = try AccountsStore()
        try Accounts(vault: s.admin).setPassword(user: "coach-an", password: password)
        func time(_ user: String) throws -> Duration {
            let start = ContinuousClock.now
            _ = try s.login(user, "a wrong guess here")
            return ContinuousClock.now - start
        }
        let known = try time("coach-an"), unknown = try time("coach-bob")
        #expect(unknown > known * 0.2 && known > unknown * 0.2, "known \(known), unknown \(unknown)")
    }

    @Test func passwordRulesAreEnforcedAndNamedWithoutEchoingThePassword() throws {
        let s = try AccountsStore()
        let accounts = Accounts(vault: s.admin)
        func refusal(_ user: String, _ pw: String) -> VaultError? {
            do { try accounts.setPassword(user: user, password: pw, cost: 4); return nil } catch { return error as? VaultError }
        }
        let short = refusal("coach-an", "elevenchars")
        #expect(short?.kind == .usage && short?.message.contains("12 characters") == true)
        #expect(short?.message.contains("elevenchars") == false)
        #expect(refusal("coach-an", "twelve chars") == nil)
        // 72 bytes is bcrypt's limit: 24 three-byte characters pass, 25 do not although they are few characters.
        #expect(refusal("coach-an", String(repeating: "€", count: 24)) == nil)
        #expect(refusal("coach-an", String(repeating: "€", count: 25))?.message.contains("72 bytes") == true)
        #expect(refusal("coach-an", String(repeating: "x", count: 73))?.kind == .usage)
        #expect(refusal("compliance-officer", "Compliance-Officer")?.message.contains("user name") == true)
        #expect(refusal("coach-an", "twelve chars\u{0}tail")?.message.contains("control") == true, "bcrypt would stop at the NUL")
        #expect(refusal("coach-an", "twelve chars\nsecond")?.kind == .usage)
        let unknown = refusal("nobody-here", "a long enough password")
        #expect(unknown?.kind == .usage && unknown?.message.contains(Configuration.fileName) == true)
        #expect(try s.events("user.password_set").count == 2, "only the accepted ones were set")
    }

    @Test func onlyAnAdminManagesPasswordsAndRefusalsAreAudited() throws {
        let s = try AccountsStore()
        let officer = try Vault.open(at: s.dir, actor: "root", asUser: "compliance-officer", clock: s.clock)
        #expect(throws: VaultError.self) { try Accounts(vault: officer).setPassword(user: "coach-an", password: password) }
        #expect(throws: VaultError.self) { try Accounts(vault: officer).disable(user: "coach-an") }
        #expect(throws: VaultError.self) { try Accounts(vault: s.service).setPassword(user: "coach-an", password: password) }
        do {
            try Accounts(vault: officer).setPassword(user: "coach-an", password: password)
        } catch let e as VaultError {
            #expect(e.kind == .accessDenied)
        }
        #expect(try s.events("access.denied").count == 4)
        #expect(try s.admin.catalog.account(user: "coach-an") == nil)
    }

    @Test func aPasswordBcryptWouldCutNeverMatches() throws {
        let s = try AccountsStore()
        try s.setQuickly("coach-an", password)
        // bcrypt reads up to a NUL and at most 72 bytes: neither trick may pass for the real password.
        #expect(try s.login("coach-an", password + "\u{0}anything") == .refused)
        let long = String(repeating: "y", count: 72)
        try s.setQuickly("compliance-officer", long)
        #expect(try s.login("compliance-officer", long + "z") == .refused)
        guard case .ok = try s.login("compliance-officer", long) else { Issue.record("a 72-byte password does not verify"); return }
    }

    @Test func aHostileClientAddressIsNotRecorded() throws {
        let s = try AccountsStore()
        _ = try Accounts.login(vault: s.service, user: "coach-an", password: "x", from: "+32470123456\n{\"forged\":1}")
        _ = try Accounts.login(vault: s.service, user: "coach-an", password: "x", from: "2001:db8::1")
        let failed = try s.events("auth.failed")
        #expect(failed.first?.details.contains("invalid") == true)
        #expect(!(try s.catalogBytes()).contains("32470123456"))
        #expect(failed.last?.details.contains("2001:db8::1") == true)
    }
}
