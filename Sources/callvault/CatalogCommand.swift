// `callvault catalog migrate`: moves a store's embedded catalog to PostgreSQL (README: Several workers).
import ArgumentParser
import CallVault
import CallVaultCore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

struct CatalogCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "catalog", abstract: "The store's catalog: move it to a shared PostgreSQL database.",
                                                    subcommands: [Migrate.self])

    struct Migrate: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "migrate",
            abstract: "Copy this store's SQLite catalog into an empty PostgreSQL database and check the copy.",
            discussion: "Stop the watch daemon, the web app and the sweeper timer first. The copy is one transaction: if anything "
                + "fails, the database stays empty. Done only when every table's rows are counted equal on both sides and "
                + "the copy's audit chain verifies with the store's head. The store keeps its SQLite catalog; point "
                + "[catalog] url in callvault.toml at the copy to switch.")

        @OptionGroup var global: GlobalOptions

        @Option(help: ArgumentHelp("The empty database: postgresql://USER@HOST[:PORT]/DATABASE[?sslmode=require] (no password here).",
                                   valueName: "url"))
        var to: String

        @Option(name: .customLong("password-file"), help: ArgumentHelp("A file (mode 0600) holding the password; else $CALLVAULT_CATALOG_PASSWORD.",
                                                                      valueName: "file"))
        var passwordFile: String?

        func run() throws {
            let vault = try global.openVault()
            let migration = try CatalogMigration(vault: vault, url: to, passwordFile: passwordFile)
            let meter = RowMeter(enabled: !global.json)
            let outcome = try migration.run { done, total in meter.show(done, total) }
            meter.finish()
            if global.json {
                printJSON(["to": migration.url, "rows": outcome.rows, "total_rows": outcome.total, "audit_events": outcome.auditEvents,
                           "audit_head": outcome.auditHead, "seconds": (outcome.seconds * 10).rounded() / 10])
            } else {
                printLine("copied \(outcome.total) rows to \(migration.url) in \(ProgressMeter.clock(outcome.seconds))")
                for (table, n) in outcome.rows.sorted(by: { $0.key < $1.key }) where n > 0 { printLine("  \(table): \(n)") }
                printLine("checked: every table's rows counted equal; audit chain intact (\(outcome.auditEvents) events, head \(outcome.auditHead))")
                printLine("to switch, set in \(vault.root)/callvault.toml:")
                printLine("  [catalog]")
                printLine("  url = \"\(migration.url)\"")
            }
        }
    }
}

/// "catalog migrate: 1200000/7000000 rows, 52000 rows/s, 1:51 left" on stderr, redrawn in place, only on a terminal.
final class RowMeter {
    let enabled: Bool
    private let started = Date()
    private var last = Date.distantPast
    private var drawn = false

    init(enabled: Bool) { self.enabled = enabled && isatty(STDERR_FILENO) == 1 }

    func show(_ done: Int, _ total: Int) {
        guard enabled else { return }
        let now = Date()
        guard now.timeIntervalSince(last) >= 0.25 || done == total else { return }
        last = now
        let rate = Double(done) / max(now.timeIntervalSince(started), 0.001)
        var text = "catalog migrate: \(done)/\(total) rows, \(Int(rate)) rows/s"
        if rate > 0, total > done { text += ", " + ProgressMeter.clock(Double(total - done) / rate) + " left" }
        FileHandle.standardError.write(Data(("\r\u{1B}[K" + text).utf8))
        drawn = true
    }

    func finish() {
        if drawn { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
    }
}
