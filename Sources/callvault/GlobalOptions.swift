// Options every subcommand takes (SPEC §9): the store and machine-readable output.
import ArgumentParser
import Foundation

struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: "The store directory (default: $CALLVAULT_STORE, else /var/lib/callvault).")
    var store: String?

    @Flag(name: .long, help: "Machine-readable JSON output.")
    var json = false

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
