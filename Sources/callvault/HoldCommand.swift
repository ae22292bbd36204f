// `callvault hold place|release|list|show`: legal and incident holds (SPEC §7, §11).
import ArgumentParser
import CallVault
import CallVaultCore
import Foundation

struct HoldCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "hold", abstract: "Legal and incident holds.",
                                                    subcommands: [Place.self, Release.self, List.self, Show.self])

    static func json(_ h: HoldView, recordings: Int) -> [String: Any] { holdJSON(h, recordings: recordings) }

    /// One hold on one line; its texts escaped, so a newline in a case reference cannot forge another hold.
    static func line(_ h: HoldView, recordings: Int) -> String {
        let e = { (s: String) in escapedForTerminal(s) }
        let state = h.releasedAt.map { "released \($0) by \(e(h.releasedBy ?? "?"))" } ?? "active"
        return "\(h.id)  \(h.kind.rawValue)  case \(e(h.caseRef))  \(recordings) recording(s)  placed \(h.placedAt) by \(e(h.placedBy))  \(state)"
    }

    struct Place: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "place", abstract: "Hold recordings beyond retention.")
        @OptionGroup var global: GlobalOptions
        @Option(help: "\(HoldKind.choices).") var kind: HoldKind
        @Option(name: .customLong("case"), help: "Case reference (required).") var caseRef: String
        @Option(help: "Free-text note.") var note: String?
        @Option(name: .customLong("review-at"), help: "When to review the hold (RFC 3339, or a date: midnight in the tenant's time zone).") var reviewAt: String?
        @Option(name: .customLong("recording"), help: "A recording id (repeatable).") var recordings: [String] = []
        @Option(name: .customLong("call-id"), help: "A call_id (repeatable).") var callIDs: [String] = []
        @Option(help: "Query: tenant.") var tenant: String?
        @Option(help: "Query: caller or callee number.") var caller: String?
        @Option(help: "Query: agent id.") var agent: String?
        @Option(help: "Query: queue.") var queue: String?
        @Option(help: "Query: started at or after (RFC 3339, or a date: midnight in the tenant's time zone).") var from: String?
        @Option(help: "Query: started before (RFC 3339), or on or before a date (the whole day, in the tenant's time zone).") var to: String?

        func run() throws {
            let vault = try global.openVault()
            var s = HoldSelection()
            s.recordingIDs = recordings
            s.callIDs = callIDs
            s.tenant = tenant
            s.caller = caller
            s.agent = agent
            s.queue = queue
            let zone = vault.configuration.zone(forTenant: tenant)
            s.from = try from.map { try PeriodEnd.from.read($0, zone: zone) }
            s.to = try to.map { try PeriodEnd.to.read($0, zone: zone) }
            let review = try reviewAt.map { try PeriodEnd.moment($0, zone: zone, field: "review_at") }
            let r = try Holds(vault: vault).place(kind: kind, caseRef: caseRef, note: note, reviewAt: review, selection: s)
            if global.json {
                printJSON(["hold_id": r.holdID, "recordings": r.recordings, "metadata_only": r.metadataOnly])
            } else {
                printLine("placed \(kind) hold \(r.holdID) on \(r.recordings) recording(s)")
                if r.metadataOnly > 0 { printLine("\(r.metadataOnly) of them have no audio left: their metadata is held") }
            }
        }
    }

    struct Release: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "release", abstract: "Release a hold; normal retention applies again.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The hold id.") var hold: String
        @Option(help: "Why it is released (required).") var note: String
        @Flag(name: .customLong("confirm-erasure"), help: "Release it although calls waiting for an erasure request are then erased at once.")
        var confirmErasure = false

        func run() throws {
            let vault = try global.openVault()
            try Holds(vault: vault).release(id: hold, note: note, confirmErasure: confirmErasure)
            if global.json { printJSON(["hold_id": hold, "released": true]) } else { printLine("released hold \(hold)") }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List holds.")
        @OptionGroup var global: GlobalOptions
        @Flag(help: "Only active holds.") var active = false
        @Flag(name: .customLong("due-for-review"), help: "Only active holds whose review date has passed.") var dueForReview = false

        func run() throws {
            let vault = try global.openVault()
            let holds = try Holds(vault: vault).list(activeOnly: active, dueForReview: dueForReview)
            if global.json {
                printJSON(["holds": holds.map { HoldCommand.json($0.0, recordings: $0.1) }])
            } else {
                if holds.isEmpty { printLine(dueForReview ? "no holds due for review" : "no holds") }
                for (h, n) in holds {
                    printLine(HoldCommand.line(h, recordings: n) + (dueForReview ? "  review due \(h.reviewAt ?? "?")" : ""))
                }
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "show", abstract: "Show one hold and its recordings.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The hold id.") var hold: String

        func run() throws {
            let vault = try global.openVault()
            let holds = Holds(vault: vault)
            let (h, items) = try holds.show(id: hold)
            let waiting = h.releasedAt == nil ? try holds.erasuresWaiting(onHold: hold) : []
            if global.json {
                var o = HoldCommand.json(h, recordings: items.count)
                o["items"] = items.map { ["recording_id": $0.recordingID, "metadata_only": $0.metadataOnly] }
                o["erasure_pending"] = erasuresWaitingJSON(waiting)
                printJSON(o)
            } else {
                printLine(HoldCommand.line(h, recordings: items.count))
                for w in waiting {
                    printLine("erasure pending (request \(w.request)): \(w.calls) call(s), erased when this hold is released (--confirm-erasure)")
                }
                if let n = h.note { printLine("note: \(escapedForTerminal(n))") }
                if let r = h.reviewAt { printLine("review at: \(r)") }
                for i in items { printLine("  \(i.recordingID)\(i.metadataOnly ? "  (metadata only: audio already deleted)" : "")") }
            }
        }
    }
}
