// `callvault fixity`: re-hash stored audio against the catalog and list what changed, vanished or appeared (SPEC §12).
import ArgumentParser
import CallVault
import CallVaultCore
import Foundation

struct FixityCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fixity",
        abstract: "Re-read every stored audio file and compare size and SHA-256 with the catalog (exit 1 on any difference).")

    @OptionGroup var global: GlobalOptions
    @Option(help: "Only this tenant's recordings (and files under audio/TENANT).") var tenant: String?
    @Option(help: "Only recordings ingested at or after this instant (date or RFC 3339).") var since: String?
    @Option(name: .customLong("max-rate"), help: "Read at most this many MB/s, so that ingest keeps the disk (default 50).")
    var maxRate: String = "50"

    /// Above this a limit limits nothing; it also keeps the arithmetic on the rate finite.
    static let fastestRate = 100_000.0

    func validate() throws {
        _ = try bytesPerSecond()
    }

    /// `--max-rate` in bytes per second, refused unless a finite number in (0, 100000] MB/s.
    func bytesPerSecond() throws -> Double {
        guard let mb = Double(maxRate), mb.isFinite, mb > 0, mb <= Self.fastestRate else {
            throw ValidationError("--max-rate \(maxRate): give MB/s, a number above 0 and at most \(Int(Self.fastestRate))")
        }
        return mb * 1_000_000
    }

    func run() throws {
        let vault = try global.openVault()
        let zone = vault.configuration.zone(forTenant: tenant)
        let options = FixityOptions(tenant: tenant, since: try since.map { try PeriodEnd.moment($0, zone: zone, field: "since") },
                                    maxBytesPerSecond: try bytesPerSecond())
        let meter = ProgressMeter(label: "fixity", enabled: !global.json)
        let report: FixityReport
        do {
            defer { meter.finish() }
            report = try Fixity(vault: vault).run(options, progress: meter)
        }
        if global.json {
            printJSON(["checked": report.checked, "bytes": report.bytes, "modified": report.modified, "missing": report.missing,
                       "unexpected": report.unexpected, "native_absent": report.nativeAbsent])
        } else {
            printLine("fixity: \(report.checked) file(s) checked, \(ProgressMeter.size(report.bytes)) read: "
                      + (report.ok ? "all match the catalog"
                          : "\(report.modified.count) modified, \(report.missing.count) missing, \(report.unexpected.count) unexpected"))
            for id in report.modified { printLine("modified    \(id)") }
            for id in report.missing { printLine("missing     \(id)") }
            // A stray file's name is not ours: never let it drive the terminal.
            for path in report.unexpected { printLine("unexpected  \(escapedForTerminal(path))") }
            if report.nativeAbsent > 0 {
                printLine("note: \(report.nativeAbsent) stored call(s) have no recorder document under native/ (stored before the vault kept them)")
            }
        }
        if !report.ok { throw ExitCode(1) }
    }
}
