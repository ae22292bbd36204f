// `audit verify|list` and `quarantine list|show`: the compliance officer's and admin's view (SPEC §8, §11).
import ArgumentParser
import CallVault
import CallVaultCore
import CallVaultStore
import Foundation

struct AuditCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "audit", abstract: "The hash-chained audit log.",
                                                    subcommands: [Verify.self, List.self])

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "verify", abstract: "Check the chain; name the first broken event.")
        @OptionGroup var global: GlobalOptions

        func run() throws {
            let vault = try global.openVault()
            let r = try Listing(vault: vault).verifyAudit()
            if global.json {
                printJSON(["ok": r.ok, "events": r.events, "first_bad_seq": orNull(r.firstBad), "reason": orNull(r.reason)])
            } else if r.ok {
                printLine("audit log ok: \(r.events) events, chain intact")
            } else {
                printLine("audit log BROKEN at event \(r.firstBad!): \(r.reason!) (\(r.events) events verified before it)")
            }
            if !r.ok { throw ExitCode(1) }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "Audit events, oldest first.")
        @OptionGroup var global: GlobalOptions
        @Option(help: "Since (date or RFC 3339).") var since: String?
        @Option(help: "Acting user (or the OS user behind --as).") var actor: String?
        @Option(help: "Action, or a prefix such as hold or sweep.") var action: String?
        @Option(help: "At most this many (the most recent).") var limit = 1000

        func run() throws {
            let vault = try global.openVault()
            let rows = try Listing(vault: vault).auditEvents(since: try since.map { try parseInstant($0, option: "--since") },
                                                             actor: actor, action: action, limit: limit)
            if global.json {
                printJSON(["events": rows.map { e -> [String: Any] in
                    ["seq": e.seq, "at": e.at, "actor": e.actor, "principal": orNull(e.principal), "action": e.action,
                     "target": orNull(e.target),
                     "details": (try? JSONSerialization.jsonObject(with: Data(e.details.utf8))) ?? e.details]
                }])
            } else {
                printLine(table(["seq", "at", "actor", "action", "target", "details"], rows.map {
                    [String($0.seq), $0.at, ($0.principal.map { "\($0)→" } ?? "") + $0.actor, $0.action, $0.target ?? "", $0.details]
                }))
            }
        }
    }
}

struct QuarantineCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "quarantine", abstract: "Rejected inputs (admins).",
                                                    subcommands: [List.self, Show.self, Retry.self])

    static func json(_ r: RejectionRow) -> [String: Any] {
        ["id": r.id, "at": r.at, "tenant": orNull(r.tenant), "reason": r.reason, "detail": r.detail, "path": r.quarantinePath]
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "Quarantine entries, newest first.")
        @OptionGroup var global: GlobalOptions
        @Option(help: "At most this many.") var limit = 200

        func run() throws {
            let vault = try global.openVault()
            let rows = try Listing(vault: vault).quarantine(limit: limit)
            if global.json {
                printJSON(["quarantine": rows.map(QuarantineCommand.json)])
            } else {
                printLine(table(["at", "id", "tenant", "reason", "detail"], rows.map { [$0.at, $0.id, $0.tenant ?? "-", $0.reason, $0.detail] }))
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "show", abstract: "One quarantine entry.")
        @OptionGroup var global: GlobalOptions
        @Argument var id: String

        func run() throws {
            let vault = try global.openVault()
            let (row, deleted, files) = try Listing(vault: vault).quarantineEntry(id: id)
            var o = QuarantineCommand.json(row)
            o["deleted_at"] = orNull(deleted)
            o["files"] = files
            if global.json {
                printJSON(o)
            } else {
                for key in o.keys.sorted() { printLine("\(key.padding(toLength: 11, withPad: " ", startingAt: 0)) \(o[key]! is NSNull ? "-" : "\(o[key]!)")") }
            }
        }
    }
}
