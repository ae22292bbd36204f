// `callvault sweep`: the expiry sweeper (SPEC §6, §11).
import ArgumentParser
import CallVault
import CallVaultCore
import Foundation

struct SweepCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "sweep", abstract: "Delete expired audio, metadata and quarantine, except what is held.")

    @OptionGroup var global: GlobalOptions

    @Flag(name: .customLong("dry-run"), help: "Report what would be deleted; change nothing.")
    var dryRun = false

    @Option(help: "Simulated now (RFC 3339): honoured only on a store made with `init --simulation`; elsewhere it implies --dry-run.")
    var now: String?

    func run() throws {
        let vault = try global.openVault()
        let simulated = try now.map { try PeriodEnd.moment($0, zone: vault.configuration.zone(forTenant: nil), field: "now") }
        let r = try Sweeper(vault: vault).sweep(simulatedNow: simulated, dryRun: dryRun)
        if r.dryRunForced {
            FileHandle.standardError.write(Data("callvault: --now is honoured only on a simulation store: running as --dry-run\n".utf8))
        }
        if r.alreadyRunning {
            // Not an error: the timer fired on two hosts, and the other one is doing the work.
            if global.json {
                printJSON(["now": Timestamp.utc(r.now), "dry_run": false, "already_running": true])
            } else {
                printLine("sweep: another sweep is running on this catalog (on this host or another); this one leaves it to finish")
            }
            return
        }
        if global.json {
            printJSON([
                "now": Timestamp.utc(r.now), "dry_run": r.dryRun, "audio_deleted": r.audioDeleted,
                "metadata_deleted": r.metadataDeleted, "quarantine_deleted": r.quarantineDeleted, "held": r.held,
                "overdue": r.overdue, "audio_found_missing": r.audioFoundMissing,
                "errors": r.errors.map { ["recording_id": $0.recordingID, "detail": $0.detail] },
            ])
        } else {
            let verb = r.dryRun ? "would delete" : "deleted"
            printLine("sweep at \(Timestamp.utc(r.now))\(r.dryRun ? " (dry run)" : ""): \(verb) audio \(r.audioDeleted), metadata \(r.metadataDeleted), quarantine \(r.quarantineDeleted); held \(r.held); overdue \(r.overdue)")
            if r.audioFoundMissing > 0 { printLine("audio already missing on disk, recorded as such: \(r.audioFoundMissing)") }
            for e in r.errors { printLine("error \(e.recordingID): \(e.detail)") }
        }
        if !r.errors.isEmpty { throw ExitCode(1) }
    }
}

struct RetentionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "retention", abstract: "Retention policy changes.",
                                                    subcommands: [Reapply.self])

    struct Reapply: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "reapply", abstract: "Recompute stored expiry instants from the current policy (audited).")
        @OptionGroup var global: GlobalOptions
        @Option(help: "Only this tenant.") var tenant: String?

        func run() throws {
            let vault = try global.openVault()
            let results = try Holds(vault: vault).reapplyRetention(tenant: tenant)
            if global.json {
                printJSON(["tenants": results.map { ["tenant": $0.tenant, "earlier": $0.earlier, "later": $0.later] }])
            } else {
                for r in results { printLine("\(r.tenant): \(r.earlier) recording(s) expire earlier, \(r.later) later") }
            }
        }
    }
}
