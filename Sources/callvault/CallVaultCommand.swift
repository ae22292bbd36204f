// The `callvault` executable: argument parsing and output only; the work is in the CallVault library.
import ArgumentParser
import CallVaultCore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

struct CallVaultCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "callvault",
        abstract: "Call-recording compliance vault: ingest, retention, holds, coach listing, audit.",
        version: "callvault \(CallVaultVersion.current)",
        subcommands: [InitCommand.self, IngestCommand.self, WatchCommand.self, SweepCommand.self, HoldCommand.self, RetentionCommand.self,
                      ListCommand.self, ShowCommand.self, ExportCommand.self, ReportCommand.self, AuditCommand.self, QuarantineCommand.self,
                      AnnouncementCommand.self, AudioCommand.self, FixityCommand.self, RequestCommand.self, EvidenceCommand.self, NoteCommand.self, ServeCommand.self, UserCommand.self, CatalogCommand.self])

    // Declared here too so that global options may come before the subcommand (`callvault --as dpo hold list`).
    @OptionGroup var global: GlobalOptions
}

@main
enum Main {
    static func main() async {
        // Every file and directory the vault creates is private to its user (files 0600, directories 0700).
        umask(0o077)
        do {
            var command = try CallVaultCommand.parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let error as VaultError {
            // Messages may quote what the user typed; like all human output, never raw controls (one line).
            FileHandle.standardError.write(Data("callvault: \(escapedForTerminal(error.worded(VaultError.option)))\n".utf8))
            exit(error.exitCode)
        } catch let error as ExitCode {
            exit(error.rawValue)
        } catch {
            let code = CallVaultCommand.exitCode(for: error)
            if code == .success || code.rawValue == 0 {
                CallVaultCommand.exit(withError: error)  // --help, --version: printed to stdout, exit 0
            }
            // One line (SPEC §9): the message without ArgumentParser's usage block, which `--help` gives; escaped,
            // since it may quote what the user typed.
            let message = CallVaultCommand.message(for: error).split(separator: "\n").first.map(String.init) ?? "\(error)"
            FileHandle.standardError.write(Data("callvault: \(escapedForTerminal(message))\n".utf8))
            // Usage mistakes are exit 2 (SPEC §9), whatever ArgumentParser's own convention.
            exit(2)
        }
    }
}
