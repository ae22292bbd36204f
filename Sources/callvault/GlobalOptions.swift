// Options every subcommand takes (SPEC §9): the store and machine-readable output.
import ArgumentParser
import CallVault
import CallVaultCore
import Foundation

struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: "The store directory (default: $CALLVAULT_STORE, else /var/lib/callvault).")
    var store: String?

    @Flag(name: .long, help: "Machine-readable JSON output.")
    var json = false

    @Option(name: .customLong("as"), help: "Act for another configured user (admins only; audited).")
    var asUser: String?

    /// Opens the store as the acting user.
    func openVault() throws -> Vault {
        try Vault.open(at: storePath, actor: Vault.osUser(), asUser: asUser)
    }

    var storePath: String {
        if let s = store { return s }
        if let e = ProcessInfo.processInfo.environment["CALLVAULT_STORE"], !e.isEmpty { return e }
        return "/var/lib/callvault"
    }
}

/// Writes one JSON document to stdout, keys sorted so output is stable for scripts and tests.
func printJSON(_ value: Any) {
    let data = (try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
    FileHandle.standardOutput.write(data)
    FileHandle.standardOutput.write(Data("\n".utf8))
}

func printLine(_ s: String) {
    FileHandle.standardOutput.write(Data((s + "\n").utf8))
}

/// Reads an instant given on the command line: RFC 3339, or a date `YYYY-MM-DD` meaning its midnight UTC.
func parseInstant(_ text: String, option: String) throws -> Date {
    if let d = Timestamp.parse(text) { return d }
    if text.count == 10, let d = Timestamp.parse(text + "T00:00:00Z") { return d }
    throw ValidationError("\(option) \(text): give RFC 3339 (2026-11-21T10:00:00+01:00) or a date (2026-11-21)")
}

/// A JSON value or null.
func orNull(_ v: Any?) -> Any { v ?? NSNull() }
