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
/// The serializer escapes C0 controls; DEL, C1 and bidi controls are escaped too (`\u009b`), so that
/// `--json` read on a terminal is as safe as the tables. Such scalars only occur inside strings.
func printJSON(_ value: Any) {
    let data = (try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
    var text = String(decoding: data, as: UTF8.self)
    if text.unicodeScalars.contains(where: isUnsafeForTerminal) {
        var out = String.UnicodeScalarView()
        for u in text.unicodeScalars {
            if isUnsafeForTerminal(u) {
                let hex = String(u.value, radix: 16)
                out.append(contentsOf: ("\\u" + String(repeating: "0", count: 4 - hex.count) + hex).unicodeScalars)
            } else {
                out.append(u)
            }
        }
        text = String(out)
    }
    FileHandle.standardOutput.write(Data((text + "\n").utf8))
}

/// Writes human output: whatever a line carries, no control character reaches the terminal.
/// One line of human output: every control character escaped, newlines included — a value from outside (an
/// inbox file name, a sidecar field) must never forge a line of the report.
func printLine(_ s: String) {
    FileHandle.standardOutput.write(Data((escapedForTerminal(s) + "\n").utf8))
}

/// Several lines the program itself laid out (a table, whose cells are escaped by `table`).
func printText(_ s: String) {
    FileHandle.standardOutput.write(Data((escapedForTerminal(s, keepNewlines: true) + "\n").utf8))
}

/// The zone a bare date (`2026-11-21`) is read in (`Configuration.zone(forTenant:)`).
// The domain's vocabularies parse as arguments (an unknown value is refused listing the choices).
extension Direction: ExpressibleByArgument {}
extension HoldKind: ExpressibleByArgument {}
