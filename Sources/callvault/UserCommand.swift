// `callvault user password NAME [--disable]`: web-login passwords (SPEC §13); the rules live in `Accounts`.
import ArgumentParser
import CallVault
import CallVaultCore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

struct UserCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "user", abstract: "Web-login accounts of configured users.",
                                                    subcommands: [Password.self])

    struct Password: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "password",
            abstract: "Set (or with --disable, lock) the web-login password of a configured user.",
            discussion: """
                Roles stay in callvault.toml; this only sets how NAME logs in to `callvault serve`. The password is \
                read from the first line of standard input when that is not a terminal, for example
                  printf '%s\\n' "$PASSWORD" | callvault user password coach-an
                and otherwise asked for twice, without echo. It needs at least 12 characters, at most 72 bytes in \
                UTF-8 (bcrypt's limit: longer ones are refused, not cut), no control characters, and must not be \
                the user name. The catalog keeps a bcrypt hash (cost 12), never the password.

                --disable locks the account: logins are refused and the user's open web sessions end. Setting a \
                new password enables it again, and also lifts a lockout after repeated failed logins.

                Admins only. Every change is audited (user.password_set, user.disabled); the password never is.
                """)

        @OptionGroup var global: GlobalOptions
        @Argument(help: ArgumentHelp("A user configured in callvault.toml ([users.NAME]).", valueName: "name")) var name: String
        @Flag(help: "Lock the account instead of setting a password (no password is read).") var disable = false

        func run() throws {
            let vault = try global.openVault()
            let accounts = Accounts(vault: vault)
            if disable {
                try accounts.disable(user: name)
                if global.json { printJSON(["user": name, "disabled": true]) } else { printLine("disabled the web login of \(name)") }
                return
            }
            // Refuse a non-admin or an unknown name before asking for a password that would be thrown away.
            try accounts.requireManageable(user: name)
            let password = isatty(STDIN_FILENO) == 1 ? try PasswordPrompt.askTwice(for: name) : try PasswordPrompt.firstLineOfStandardInput()
            try accounts.setPassword(user: name, password: password)
            if global.json { printJSON(["user": name, "password_set": true]) } else { printLine("set the web-login password of \(name)") }
        }
    }
}

/// Reading a password: the first line of a pipe, or twice from the terminal with echo off.
enum PasswordPrompt {
    /// Far more than any acceptable password (72 bytes); a longer first line is refused without reading on.
    static let lineLimit = 4096

    /// The first line of standard input without its line end (`\n` or `\r\n`); nothing else is trimmed.
    static func firstLineOfStandardInput() throws -> String {
        guard let bytes = try readLine(from: STDIN_FILENO) else {
            throw VaultError(.usage, "no password on standard input (give it as the first line)")
        }
        return try decode(bytes, source: "the first line of standard input")
    }

    /// Asks twice on the terminal with echo off; the terminal's settings come back on every path, Ctrl-C included.
    static func askTwice(for user: String) throws -> String {
        let first = try withEchoOff { try ask("New web-login password for \(escapedForTerminal(user)): ") }
        let second = try withEchoOff { try ask("Repeat it: ") }
        guard first == second else { throw VaultError(.usage, "the two passwords differ; nothing was changed") }
        return first
    }

    private static func ask(_ prompt: String) throws -> String {
        FileHandle.standardError.write(Data(prompt.utf8))
        defer { FileHandle.standardError.write(Data("\n".utf8)) }  // the user's Enter was not echoed
        guard let bytes = try readLine(from: STDIN_FILENO) else { throw VaultError(.usage, "no password given; nothing was changed") }
        return try decode(bytes, source: "the password typed")
    }

    private static func decode(_ bytes: [UInt8], source: String) throws -> String {
        var line = bytes[...]
        if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
        guard let text = String(validating: line, as: UTF8.self) else { throw VaultError(.usage, "\(source) is not valid UTF-8") }
        return text
    }

    /// Bytes up to the first newline (excluded), or to the end of input; nil at once-empty input. One byte per
    /// read(2): nothing after the first line is consumed.
    private static func readLine(from fd: Int32) throws -> [UInt8]? {
        var line: [UInt8] = []
        var byte: UInt8 = 0
        while true {
            let n = read(fd, &byte, 1)
            if n < 0 {
                if errno == EINTR { continue }
                throw VaultError.failure("cannot read the password: \(String(cString: strerror(errno)))")
            }
            if n == 0 { return line.isEmpty ? nil : line }
            if byte == UInt8(ascii: "\n") { return line }
            line.append(byte)
            if line.count > lineLimit { throw VaultError(.usage, "the password line is longer than \(lineLimit) bytes; nothing was changed") }
        }
    }

    /// Runs `body` with the terminal's echo off. A signal that ends the process (Ctrl-C, a hang-up) restores the
    /// settings first: otherwise the shell is left typing blind.
    private static func withEchoOff<T>(_ body: () throws -> T) throws -> T {
        guard tcgetattr(STDIN_FILENO, &savedTerminal) == 0 else {
            throw VaultError.failure("cannot read the terminal's settings: \(String(cString: strerror(errno)))")
        }
        terminalSaved = 1
        let endingSignals = [SIGINT, SIGTERM, SIGHUP, SIGQUIT]
        for s in endingSignals { signal(s, restoreTerminalAndExit) }
        defer {
            _ = tcsetattr(STDIN_FILENO, TCSANOW, &savedTerminal)
            terminalSaved = 0
            for s in endingSignals { signal(s, SIG_DFL) }
        }
        var quiet = savedTerminal
        quiet.c_lflag &= ~tcflag_t(ECHO)
        guard tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) == 0 else {
            throw VaultError.failure("cannot turn the terminal's echo off: \(String(cString: strerror(errno)))")
        }
        return try body()
    }
}

// Read by the signal handler, which can capture nothing: written only on the main thread before the handler is set.
nonisolated(unsafe) private var savedTerminal = termios()
nonisolated(unsafe) private var terminalSaved: sig_atomic_t = 0

/// Async-signal-safe: tcsetattr, write and _exit only.
private func restoreTerminalAndExit(_ signal: Int32) {
    if terminalSaved != 0 { _ = tcsetattr(STDIN_FILENO, TCSANOW, &savedTerminal) }
    let newline: [UInt8] = [10]
    _ = write(STDERR_FILENO, newline, 1)
    _exit(128 + signal)
}
