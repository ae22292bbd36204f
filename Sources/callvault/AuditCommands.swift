// `audit verify|head|list` and `quarantine list|show`: the compliance officer's and admin's view (SPEC §8, §11).
import ArgumentParser
import CallVault
import CallVaultCore
import Foundation

struct AuditCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "audit", abstract: "The hash-chained audit log.",
                                                    subcommands: [Verify.self, Head.self, List.self])

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "verify", abstract: "Check the chain; name the first broken event.")
        @OptionGroup var global: GlobalOptions
        @Option(name: .customLong("expect-head"), help: "SEQ:HASH printed earlier by `audit head` and kept outside this host: fail unless the chain still holds that event with that hash.")
        var expectHead: String?

        /// `SEQ:HASH`, as `audit head` prints it.
        var expected: (seq: Int64, hash: String)? {
            get throws {
                guard let text = expectHead else { return nil }
                let parts = text.split(separator: ":", omittingEmptySubsequences: false)
                guard parts.count == 2, let seq = Int64(parts[0]), seq > 0, parts[1].count == 64,
                      parts[1].allSatisfy({ $0.isHexDigit && !$0.isUppercase }) else {
                    throw ValidationError("--expect-head: give SEQ:HASH as printed by `callvault audit head`")
                }
                return (seq, String(parts[1]))
            }
        }

        func validate() throws { _ = try expected }

        func run() throws {
            let vault = try global.openVault()
            let r = try Listing(vault: vault).verifyAudit(expectedHead: try expected)
            if global.json {
                let o: [String: Any] = ["ok": r.ok, "events": r.events, "first_bad_seq": orNull(r.firstBad), "reason": orNull(r.reason)]
                printJSON(o.merging(timeRegressionsJSON(r)) { a, _ in a })
            } else {
                if r.ok {
                    printLine("audit log ok: \(r.events) events, chain intact")
                } else {
                    printLine("audit log BROKEN at event \(r.firstBad!): \(r.reason!) (\(r.events) events verified before it)")
                }
                // Not tampering, but a time filter misses these events: say which, and how to list them.
                for t in r.timeRegressions.prefix(20) {
                    printLine("warning: event \(t.seq) is dated \(t.at), earlier than event \(t.seq - 1) (\(t.previousAt)): the clock went back; `audit list --from-seq \(t.seq - 1) --to-seq \(t.seq)` lists both")
                }
                if r.timeRegressionsTotal > 20 { printLine("warning: \(r.timeRegressionsTotal - 20) more events dated earlier than the one before them (see --json)") }
            }
            if !r.ok { throw ExitCode(1) }
        }
    }

    struct Head: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "head", abstract: "Print the chain's head as SEQ:HASH, to keep outside this host (syslog, a ticket).",
            discussion: "The head printed is the audit.head event this command appends. Later, `audit verify --expect-head SEQ:HASH` fails if that event is gone or altered.")
        @OptionGroup var global: GlobalOptions

        func run() throws {
            let vault = try global.openVault()
            let head = try Listing(vault: vault).auditHead()
            if global.json { printJSON(["seq": head.seq, "hash": head.hash]) } else { printLine("\(head.seq):\(head.hash)") }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "Audit events, oldest first.")
        @OptionGroup var global: GlobalOptions
        @Option(help: "Since, inclusive (RFC 3339, or a date: midnight in the configured time zone).") var since: String?
        @Option(help: "Until, exclusive (RFC 3339, or a date: midnight in the configured time zone).") var until: String?
        @Option(name: .customLong("from-seq"), help: "From this sequence number, inclusive: the log's own order, which a clock set back cannot upset.")
        var fromSeq: Int64?
        @Option(name: .customLong("to-seq"), help: "Up to this sequence number, inclusive.") var toSeq: Int64?
        @Option(help: "Events about this target (a recording, hold or quarantine id).") var target: String?
        @Option(help: "Acting user (or the OS user behind --as).") var actor: String?
        @Option(help: "Action, or a prefix such as hold or sweep.") var action: String?
        @Option(help: "At most this many: the most recent, or with --from-seq the first from there.") var limit = 1000

        func validate() throws {
            if let fromSeq, fromSeq < 1 { throw ValidationError("--from-seq \(fromSeq): sequence numbers start at 1") }
            if let toSeq, toSeq < 1 { throw ValidationError("--to-seq \(toSeq): sequence numbers start at 1") }
            if let fromSeq, let toSeq, toSeq < fromSeq { throw ValidationError("--to-seq \(toSeq) is before --from-seq \(fromSeq)") }
        }

        func run() throws {
            let vault = try global.openVault()
            let zone = vault.configuration.zone(forTenant: nil)
            let rows = try Listing(vault: vault).auditEvents(since: try since.map { try PeriodEnd.moment($0, zone: zone, field: "since") },
                                                             until: try until.map { try PeriodEnd.moment($0, zone: zone, field: "until") },
                                                             fromSeq: fromSeq, toSeq: toSeq, actor: actor, action: action, target: target, limit: limit)
            if global.json {
                printJSON(["events": rows.map { e -> [String: Any] in
                    ["seq": e.seq, "at": e.at, "actor": e.actor, "principal": orNull(e.principal), "action": e.action,
                     "target": orNull(e.target),
                     "details": (try? JSONSerialization.jsonObject(with: Data(e.details.utf8))) ?? e.details]
                }])
            } else {
                printText(table(["seq", "at", "actor", "action", "target", "details"], rows.map {
                    [String($0.seq), $0.at, ($0.principal.map { "\($0)→" } ?? "") + $0.actor, $0.action, $0.target ?? "", $0.details]
                }))
            }
        }
    }
}

struct QuarantineCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "quarantine", abstract: "Rejected inputs (admins).",
                                                    subcommands: [List.self, Show.self, Retry.self])

    static func json(_ r: QuarantineEntry) -> [String: Any] {
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
                printText(table(["at", "id", "tenant", "reason", "detail"], rows.map { [$0.at, $0.id, $0.tenant ?? "-", $0.reason, $0.detail] }))
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
                for key in o.keys.sorted() { printLine("\(key.padding(toLength: 11, withPad: " ", startingAt: 0)) \(o[key]! is NSNull ? "-" : escapedForTerminal("\(o[key]!)"))") }
            }
        }
    }
}
