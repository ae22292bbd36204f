// `callvault user password` through the binary: from a pipe and from a terminal, its refusals, and its audit.
import CallVaultTesting
import Foundation
import CallVaultStore
import Synchronization
import Testing

extension Sandbox {
    /// A store whose callvault.toml also has a coach and a compliance officer.
    func initWithUsers() throws {
        try initStore()
        var config = try String(contentsOfFile: store + "/callvault.toml", encoding: .utf8)
        config += """

        [users.coach-an]
        role = "coach"
        teams = ["billing-nl"]

        [users.compliance-officer]
        role = "compliance"

        """
        try config.write(toFile: store + "/callvault.toml", atomically: true, encoding: .utf8)
    }

    func account(_ user: String) throws -> (hash: String?, disabled: Bool)? {
        try catalog().read { db in
            try SQLRow.fetchOne(db, sql: "SELECT password_hash, disabled FROM accounts WHERE \"user\" = ?", arguments: [user]).map { ($0["password_hash"], $0["disabled"]) }
        }
    }

    func auditRows(_ action: String) throws -> [SQLRow] {
        try catalog().read { try SQLRow.fetchAll($0, sql: "SELECT * FROM audit_events WHERE action = ? ORDER BY seq", arguments: [action]) }
    }

    /// Every byte of the catalog (database and write-ahead log), to search for what must not be there.
    func catalogBytes() -> String {
        ["/catalog.sqlite", "/catalog.sqlite-wal"].compactMap { FileManager.default.contents(atPath: store + $0) }
            .map { String(decoding: $0, as: Unicode.ASCII.self) }.joined()
    }
}

@Suite struct UserCLITests {
    let password = "correct horse battery"

    @Test func anAdminSetsAPasswordFromStandardInputAndOnlyItsBcryptHashIsKept() throws {
        let box = Sandbox()
        try box.initWithUsers()
        let r = try box.run(["user", "password", "coach-an"], input: password + "\n")
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("coach-an"))
        let account = try #require(try box.account("coach-an"))
        #expect(account.hash?.hasPrefix("$2b$12$") == true && account.hash?.utf8.count == 60)
        #expect(!account.disabled)
        let set = try box.auditRows("user.password_set")
        #expect(set.count == 1)
        #expect((set.first?["actor"] as String?) == "root" && (set.first?["target"] as String?) == "coach-an")
        #expect(!box.catalogBytes().contains("horse"), "the password is nowhere in the catalog or the audit log")
        #expect(!r.stdout.contains("horse") && !r.stderr.contains("horse"))
    }

    @Test func onlyTheFirstLineIsReadAndOnlyItsLineEndIsStripped() throws {
        let box = Sandbox()
        try box.initWithUsers()
        // 72 bytes then CRLF: accepted only if the CR is stripped (73 bytes would be refused).
        let exact = String(repeating: "p", count: 72)
        #expect(try box.run(["user", "password", "coach-an"], input: exact + "\r\n").status == 0)
        // A short first line is refused even though the second line would do: nothing past the first is used.
        let r = try box.run(["user", "password", "coach-an"], input: "short\na long enough second line\n")
        #expect(r.status == 2)
        #expect(r.stderr.contains("12 characters"))
        // A last line without a line end is still the line.
        #expect(try box.run(["user", "password", "compliance-officer"], input: password).status == 0)
        #expect(try box.auditRows("user.password_set").count == 2)
    }

    @Test func badPasswordsAndUnknownUsersAreRefusedWithExit2WithoutEchoingThePassword() throws {
        let box = Sandbox()
        try box.initWithUsers()
        let cases: [(user: String, input: String, says: String)] = [
            ("coach-an", "elevenchars\n", "12 characters"),
            ("coach-an", String(repeating: "w", count: 73) + "\n", "72 bytes"),
            ("compliance-officer", "compliance-officer\n", "user name"),
            ("coach-an", "tab\tinside password\n", "control"),
            ("coach-an", "", "no password"),
            ("somebody-else", password + "\n", "callvault.toml"),
        ]
        for c in cases {
            let r = try box.run(["user", "password", c.user], input: c.input)
            #expect(r.status == 2, "\(c.says): \(r.stderr)")
            #expect(r.stderr.contains(c.says), "\(r.stderr)")
            #expect(r.stderr.split(separator: "\n").count == 1)
            let typed = c.input.trimmingCharacters(in: .newlines)
            if !typed.isEmpty, typed != c.user { #expect(!r.stderr.contains(typed), "the password is echoed: \(r.stderr)") }
        }
        #expect(try box.account("coach-an") == nil)
        #expect(try box.auditRows("user.password_set").isEmpty)
    }

    @Test func nonAdminsAreRefusedWithExit3AndTheRefusalIsAudited() throws {
        let box = Sandbox()
        try box.initWithUsers()
        let coach = try box.run(["--as", "coach-an", "user", "password", "coach-an"], input: password + "\n")
        #expect(coach.status == 3)
        let officer = try box.run(["--as", "compliance-officer", "user", "password", "coach-an", "--disable"], input: "")
        #expect(officer.status == 3)
        #expect(try box.account("coach-an") == nil)
        let denied = try box.auditRows("access.denied")
        #expect(denied.count == 2)
        #expect(denied.contains { ($0["actor"] as String) == "coach-an" && ($0["principal"] as String?) == "root" })
        // An OS user without access to the store gets no further.
        #expect(try box.run(["user", "password", "coach-an", "--disable"], as: "nobody").status == 3)
        #expect(!box.catalogBytes().contains("horse"))
    }

    @Test func disableLocksTheAccountIsAuditedAndANewPasswordEnablesItAgain() throws {
        let box = Sandbox()
        try box.initWithUsers()
        #expect(try box.run(["user", "password", "coach-an"], input: password + "\n").status == 0)
        let r = try box.run(["user", "password", "coach-an", "--disable", "--json"], input: "")
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try r.json()["disabled"] as? Bool == true)
        let disabled = try #require(try box.account("coach-an"))
        #expect(disabled.disabled && disabled.hash == nil)
        let events = try box.auditRows("user.disabled")
        #expect(events.count == 1 && (events.first?["target"] as String?) == "coach-an")
        #expect(try box.run(["user", "password", "nobody-at-all", "--disable"], input: "").status == 2)

        #expect(try box.run(["user", "password", "coach-an"], input: "a brand new passphrase\n").status == 0)
        let enabled = try #require(try box.account("coach-an"))
        #expect(!enabled.disabled && enabled.hash?.hasPrefix("$2b$12$") == true)
    }

    @Test func helpExplainsHowThePasswordIsReadAndItsRules() throws {
        let r = try Sandbox().run(["user", "password", "--help"])
        #expect(r.status == 0)
        for phrase in ["standard input", "12 characters", "72 bytes", "--disable", "bcrypt", "audited"] {
            #expect(r.stdout.contains(phrase), "help lacks \(phrase)")
        }
    }

    // MARK: At a terminal

    @Test func atATerminalThePasswordIsAskedTwiceWithoutEcho() throws {
        let box = Sandbox()
        try box.initWithUsers()
        let session = try TerminalSession(box, "\(shellQuoted(Sandbox.binary)) user password coach-an; echo status=$?")
        try session.waitFor("password for coach-an")
        session.type(password + "\n")
        try session.waitFor("Repeat")
        session.type(password + "\n")
        let output = try session.finish()
        #expect(output.contains("status=0"), "\(output)")
        #expect(!output.contains("horse"), "the password was echoed: \(output)")
        #expect(try box.account("coach-an")?.hash?.hasPrefix("$2b$12$") == true)
    }

    @Test func atATerminalTwoDifferentEntriesChangeNothing() throws {
        let box = Sandbox()
        try box.initWithUsers()
        let session = try TerminalSession(box, "\(shellQuoted(Sandbox.binary)) user password coach-an; echo status=$?")
        try session.waitFor("password for coach-an")
        session.type(password + "\n")
        try session.waitFor("Repeat")
        session.type(password + "!\n")
        let output = try session.finish()
        #expect(output.contains("differ") && output.contains("status=2"), "\(output)")
        #expect(try box.account("coach-an") == nil)
    }

    @Test func ctrlCAtThePromptGivesTheTerminalItsEchoBack() throws {
        let box = Sandbox()
        try box.initWithUsers()
        // The shell ignores SIGINT so that it lives on to show the terminal's settings afterwards.
        let session = try TerminalSession(box, "trap '' INT; \(shellQuoted(Sandbox.binary)) user password coach-an; echo status=$?; stty -a")
        try session.waitFor("password for coach-an")
        session.type("secret\u{03}")
        let output = try session.finish()
        #expect(output.contains("status=130"), "\(output)")
        let settings = output.split(whereSeparator: { $0 == " " || $0 == ";" || $0 == "\n" || $0 == "\r" })
        #expect(settings.contains("echo") && !settings.contains("-echo"), "echo is still off: \(output)")
        #expect(try box.account("coach-an") == nil)
    }
}

func shellQuoted(_ s: String) -> String { "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'" }

/// A shell command on a pseudo-terminal (util-linux `script`) that the test types into, as a person would.
final class TerminalSession {
    let process = Process()
    let input = Pipe(), output = Pipe()
    let screen = Screen()

    final class Screen: Sendable {
        let text = Mutex("")
    }

    init(_ box: Sandbox, _ command: String) throws {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/script")
        process.arguments = ["-qec", "sh -c \(shellQuoted(command))", "/dev/null"]
        var env = ProcessInfo.processInfo.environment
        env["CALLVAULT_STORE"] = box.store
        env.removeValue(forKey: "CALLVAULT_CRASH_AT")
        process.environment = env
        process.standardInput = input
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        output.fileHandleForReading.readabilityHandler = { [screen] handle in
            let data = handle.availableData
            screen.text.withLock { $0 += String(decoding: data, as: UTF8.self) }
        }
        try process.run()
    }

    /// Waits (up to 20 s) until the terminal shows `text`.
    func waitFor(_ text: String) throws {
        let deadline = Date().addingTimeInterval(20)
        while !screen.text.withLock({ $0.contains(text) }) {
            guard Date() < deadline, process.isRunning else {
                throw VaultTestError("the terminal never showed \(text): \(screen.text.withLock { $0 })")
            }
            usleep(20_000)
        }
    }

    func type(_ text: String) { input.fileHandleForWriting.write(Data(text.utf8)) }

    /// Waits for the command to end and returns all the terminal showed.
    func finish() throws -> String {
        let deadline = Date().addingTimeInterval(30)
        while process.isRunning {
            guard Date() < deadline else { process.terminate(); throw VaultTestError("the command did not end: \(screen.text.withLock { $0 })") }
            usleep(20_000)
        }
        usleep(100_000)  // the last output may still be in flight
        output.fileHandleForReading.readabilityHandler = nil
        try? input.fileHandleForWriting.close()
        return screen.text.withLock { $0 }
    }
}

struct VaultTestError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
