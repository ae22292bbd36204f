// `callvault request …`: the register of data-subject requests (SPEC §14). Parsing and printing only.
import ArgumentParser
import CallVault
import CallVaultCore
import Foundation

struct RequestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "request", abstract: "Data-subject requests: access, erasure, restriction, rectification, objection.",
        subcommands: [Open.self, List.self, Show.self, Find.self, Export.self, Erase.self, Restrict.self, Rectify.self,
                      Extend.self, Close.self])

    static func json(_ s: RequestSummary) -> [String: Any] {
        let r = s.request
        return ["request_id": r.id, "kind": r.kind, "tenant": orNull(r.tenant), "reference": r.reference, "note": orNull(r.note),
                "received_at": r.receivedAt, "first_due_at": r.firstDueAt, "due_at": r.dueAt, "extended_by": orNull(r.extendedBy),
                "extension_reason": orNull(r.extensionReason), "opened_by": r.openedBy, "opened_at": r.openedAt,
                "closed_at": orNull(r.closedAt), "closed_by": orNull(r.closedBy), "outcome": orNull(r.outcome),
                "restriction_ground": orNull(r.restrictionGround), "restricted_at": orNull(r.restrictedAt),
                "restriction_lifted_at": orNull(r.restrictionLiftedAt), "restriction_active": r.restrictionActive,
                "received_day": r.receivedDay, "due_day": r.dueDay, "zone": r.zone,
                "subjects": s.subjects, "calls": s.calls, "overdue": s.overdue, "due_soon": s.dueSoon]
    }

    static func state(_ s: RequestSummary) -> String {
        if let c = s.request.closedAt { return "closed \(c)" }
        return s.overdue ? "OVERDUE" : s.dueSoon ? "due soon" : "open"
    }

    static func line(_ s: RequestSummary) -> [String] {
        [s.request.id, s.request.kind, s.request.reference, s.request.tenant ?? "(all)", s.request.receivedDay,
         s.request.dueDay + (s.request.extendedBy.map { " (+\($0))" } ?? ""),
         String(s.calls), state(s)]
    }

    /// Days in the tenant's zone; a request is due until the end of its due day.
    static let header = ["request_id", "kind", "reference", "tenant", "received", "due (end of day)", "calls", "state"]

    /// The `find` object of a present call (SPEC §14).
    static func callJSON(_ c: RequestCallView) -> [String: Any]? {
        guard let row = c.recording else { return nil }
        return ["recording_id": c.recordingID, "tenant": c.tenant, "started_at": row.startedAt, "audio_present": row.audioDeletedAt == nil,
                "held": c.held, "restricted": row.restricted, "metadata_expires_at": row.metadataExpiresAt,
                "erasure_pending": c.erasurePending]
    }

    static func goneJSON(_ c: RequestCallView) -> [String: Any]? {
        guard c.recording == nil else { return nil }
        return ["recording_id": c.recordingID, "tenant": c.tenant, "erased_at": orNull(c.erasedAt)]
    }

    static func printCalls(_ calls: [RequestCallView]) {
        let present = calls.filter { $0.recording != nil }
        if present.isEmpty { printLine("no calls of this subject are stored") }
        printText(table(["recording_id", "tenant", "started_at", "audio", "held", "restricted", "metadata_expires_at"], present.map { c in
            let r = c.recording!
            return [c.recordingID, c.tenant, r.startedAt, r.audioDeletedAt == nil ? "present" : "deleted",
                    c.held ? "yes" + (c.erasurePending ? " (erasure pending)" : "") : "no", r.restricted ? "yes" : "no", r.metadataExpiresAt]
        }))
        for c in calls where c.recording == nil {
            printLine("  \(c.recordingID) (\(c.tenant)): gone\(c.erasedAt.map { ", erased \($0)" } ?? " (expired)")")
        }
    }

    /// The quarantine's copies naming the subject (refused at ingest, still theirs until the quarantine ends).
    static func printQuarantine(_ copies: [QuarantineCopy]) {
        guard !copies.isEmpty else { return }
        printLine("\(copies.count) quarantine copy(ies) name the subject (erased with the calls, listed in an access answer):")
        for q in copies { printLine("  \(q.id)  quarantined \(q.at)  \(q.reason)  \(q.files) file(s), \(q.bytes) bytes") }
    }

    static func quarantineJSON(_ q: QuarantineCopy) -> [String: Any] {
        ["quarantine_id": q.id, "quarantined_at": q.at, "reason": q.reason, "files": q.files, "bytes": q.bytes]
    }

    struct Open: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "open", abstract: "Register a request; its deadline is one month after receipt in the tenant's zone.")
        @OptionGroup var global: GlobalOptions
        @Option(help: "access, erasure, restriction, rectification or objection.") var kind: String
        @Option(name: .customLong("subject"), help: "The subject's phone number: E.164, or national form with the tenant's country (repeatable).")
        var subjects: [String] = []
        @Option(help: "The tenant (the controller) the request is addressed to; required when the store has several.") var tenant: String?
        @Option(help: "When the request was received (a date: midnight in the tenant's zone, or RFC 3339).") var received: String
        @Option(help: "Your reference for the request (A-Z a-z 0-9 . _ -; names the export folder).") var reference: String
        @Option(help: "Free-text note (not audited).") var note: String?

        func validate() throws {
            guard RequestKind(rawValue: kind) != nil else { throw ValidationError("--kind: access, erasure, restriction, rectification or objection") }
        }

        func run() throws {
            let vault = try global.openVault()
            let when = try PeriodEnd.moment(received, zone: vault.configuration.zone(forTenant: tenant), field: "received")
            let s = try Requests(vault: vault).open(kind: RequestKind(rawValue: kind)!, subjects: subjects, tenant: tenant,
                                                    received: when, reference: reference, note: note)
            if global.json { printJSON(RequestCommand.json(s)) } else {
                printLine("opened \(s.request.kind) request \(s.request.id) (\(s.request.reference)): \(s.calls) call(s) found, due by the end of \(s.request.dueDay) (\(s.request.zone))")
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "The register, oldest deadline first.")
        @OptionGroup var global: GlobalOptions
        @Flag(help: "Only open requests.") var open = false
        @Flag(help: "Only open requests past their deadline.") var overdue = false

        func run() throws {
            let vault = try global.openVault()
            let requests = Requests(vault: vault)
            let all = try requests.list(openOnly: open, overdueOnly: overdue)
            // The register's deadline counts, whatever the filter: what monitoring watches.
            let d = try requests.deadlines()
            if global.json {
                printJSON(["requests": all.map(RequestCommand.json), "open": d.open, "due_soon": d.dueSoon, "overdue": d.overdue])
            } else {
                if all.isEmpty { printLine("no requests") } else { printText(table(RequestCommand.header, all.map(RequestCommand.line))) }
                printLine("\(d.open) open: \(d.dueSoon) due within \(Requests.dueSoonDays) days, \(d.overdue) overdue")
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "show", abstract: "One request, its deadlines and its calls.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The request id.") var request: String

        func run() throws {
            let vault = try global.openVault()
            let requests = Requests(vault: vault)
            let (s, calls) = try requests.show(id: request)
            let quarantine = try requests.quarantine(id: request)
            if global.json {
                var o = RequestCommand.json(s)
                o["calls"] = calls.compactMap(RequestCommand.callJSON)
                o["gone"] = calls.compactMap(RequestCommand.goneJSON)
                o["quarantine"] = quarantine.map(RequestCommand.quarantineJSON)
                printJSON(o)
            } else {
                printText(table(RequestCommand.header, [RequestCommand.line(s)]))
                if let r = s.request.extensionReason { printLine("extended by \(s.request.extendedBy ?? "?"): \(r)") }
                if let g = s.request.restrictionGround {
                    printLine("restriction (\(g)): \(s.request.restrictionActive ? "in force since \(s.request.restrictedAt ?? "?")" : "lifted \(s.request.restrictionLiftedAt ?? "?")")")
                }
                if let o = s.request.outcome { printLine("outcome: \(o)") }
                if let n = s.request.note { printLine("note: \(n)") }
                RequestCommand.printCalls(calls)
                RequestCommand.printQuarantine(quarantine)
            }
        }
    }

    struct Find: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "find", abstract: "Every call of the subject, as caller or callee, with audio or metadata only, held or not.",
            discussion: "Give the request's numbers again with --subject to add calls stored since it was opened.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The request id.") var request: String
        @Option(name: .customLong("subject"), help: "One of the request's numbers (repeatable): also look for calls stored since.")
        var subjects: [String] = []

        func run() throws {
            let vault = try global.openVault()
            let requests = Requests(vault: vault)
            let calls = try requests.find(id: request, subjects: subjects)
            let quarantine = try requests.quarantine(id: request)
            if global.json {
                printJSON(["calls": calls.compactMap(RequestCommand.callJSON), "gone": calls.compactMap(RequestCommand.goneJSON),
                           "quarantine": quarantine.map(RequestCommand.quarantineJSON)])
            } else {
                RequestCommand.printCalls(calls)
                RequestCommand.printQuarantine(quarantine)
            }
        }
    }

    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "export", abstract: "Answer an access request: DIR/REF/ with calls.json, calls.csv, audio/, manifest.json, README.txt.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The request id.") var request: String
        @Option(help: "The folder to write the bundle into (DIR/REF/ must not exist).") var to: String
        @Option(help: "The language of the letter (README.txt) for the subject: nl, fr or en (default: the tenant's).") var language: String?

        func run() throws {
            let vault = try global.openVault()
            let b = try RequestExport(vault: vault).write(id: request, into: to, language: language)
            if global.json {
                printJSON(["folder": b.folder, "calls": b.calls, "audio_files": b.audioFiles,
                           "files": b.files.map { ["path": $0.path, "sha256": $0.sha256, "bytes": $0.bytes] }])
            } else {
                printLine("wrote \(b.folder): \(b.calls) call(s), \(b.audioFiles) audio file(s), \(b.files.count) file(s) in manifest.json")
            }
        }
    }

    struct Erase: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "erase", abstract: "Erase the subject's calls now (held calls, and calls another request restricts for a legal claim: kept, erased when released).")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The request id.") var request: String
        @Flag(name: .customLong("dry-run"), help: "Show the plan; change nothing.") var dryRun = false

        func run() throws {
            let vault = try global.openVault()
            let erasure = try Requests(vault: vault).erase(id: request, dryRun: dryRun)
            let steps = erasure.calls
            func describe(_ o: ErasureOutcome) -> (String, [String], String?) {
                switch o {
                case .deleted: return (dryRun ? "delete" : "deleted", [], nil)
                case .keptUnderHold(let h): return ("kept_under_hold", h, nil)
                case .keptForLegalClaims(let r): return ("kept_for_legal_claims", [], "restricted for legal claims by request " + r.joined(separator: ", "))
                case .alreadyGone: return ("already_gone", [], nil)
                case .failed(let d): return ("failed", [], d)
                }
            }
            if global.json {
                printJSON(["dry_run": dryRun, "calls": steps.map { s -> [String: Any] in
                    let (a, h, d) = describe(s.outcome)
                    var claimedBy: [String] = []
                    if case .keptForLegalClaims(let r) = s.outcome { claimedBy = r }
                    return ["recording_id": s.recordingID, "action": a, "holds": h, "restricted_by": claimedBy, "detail": orNull(d)]
                }, "quarantine": erasure.quarantine.map { q -> [String: Any] in
                    var o = RequestCommand.quarantineJSON(q)
                    o["action"] = dryRun ? "delete" : "deleted"
                    return o
                }])
            } else {
                if steps.isEmpty { printLine("the request has no calls") }
                for q in erasure.quarantine {
                    printLine("\(q.id)  quarantine copy (\(q.reason)) \(dryRun ? "delete" : "deleted")")
                }
                for s in steps {
                    let (a, h, d) = describe(s.outcome)
                    switch a {
                    case "kept_under_hold": printLine("\(s.recordingID)  kept under hold \(h.joined(separator: ", ")) (art. 17(3)(e)): erasure pending")
                    case "already_gone": printLine("\(s.recordingID)  already gone (expired or erased)")
                    default: printLine("\(s.recordingID)  \(a)\(d.map { ": \($0)" } ?? "")")
                    }
                }
            }
            if steps.contains(where: { if case .failed = $0.outcome { true } else { false } }) { throw ExitCode(1) }
        }
    }

    struct Restrict: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "restrict", abstract: "Restrict the subject's calls (hidden from coaches), or lift the restriction.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The request id.") var request: String
        @Option(help: "accuracy, unlawful, legal-claims or objection (art. 18(1)(a)-(d)); unlawful and legal-claims also keep the calls past expiry.")
        var ground: String?
        @Flag(help: "End the restriction.") var lift = false
        @Flag(name: .customLong("subject-informed"), help: "With --lift: the subject was told before the lifting (art. 18(3)).")
        var subjectInformed = false

        func validate() throws {
            if let g = ground, RestrictionGround(rawValue: g) == nil { throw ValidationError("--ground: accuracy, unlawful, legal-claims or objection") }
        }

        func run() throws {
            let vault = try global.openVault()
            let n = try Requests(vault: vault).restrict(id: request, ground: ground.flatMap { RestrictionGround(rawValue: $0) }, lift: lift,
                                                        subjectInformed: subjectInformed)
            if global.json { printJSON(["request_id": request, "restricted": !lift, "calls": n]) } else {
                printLine(lift ? "lifted the restriction of request \(request) (\(n) call(s))" : "restricted \(n) call(s) of request \(request) (\(ground ?? ""))")
            }
        }
    }

    struct Rectify: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "rectify", abstract: "Correct one metadata field of one of the request's calls.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The request id.") var request: String
        @Option(name: .customLong("recording"), help: "The recording id.") var recording: String
        @Option(help: "agent, team, queue, caller or callee.") var field: String
        @Option(help: "The correct value.") var value: String

        func validate() throws {
            guard RectifiableField(rawValue: field) != nil else { throw ValidationError("--field: agent, team, queue, caller or callee") }
        }

        func run() throws {
            let vault = try global.openVault()
            try Requests(vault: vault).rectify(id: request, recordingID: recording, field: RectifiableField(rawValue: field)!, value: value)
            if global.json { printJSON(["request_id": request, "recording_id": recording, "field": field, "rectified": true]) } else {
                printLine("rectified \(field) of \(recording)")
            }
        }
    }

    struct Extend: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "extend", abstract: "Extend the deadline once, before it passes (art. 12(3)).")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The request id.") var request: String
        @Option(help: "P1M or P2M.") var by: String
        @Option(help: "Why (told to the subject).") var reason: String

        func run() throws {
            let vault = try global.openVault()
            let s = try Requests(vault: vault).extend(id: request, by: by, reason: reason)
            if global.json { printJSON(RequestCommand.json(s)) } else { printLine("request \(request) now due by the end of \(s.request.dueDay) (\(s.request.zone))") }
        }
    }

    struct Close: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "close", abstract: "Close a request with its outcome.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The request id.") var request: String
        @Option(help: "How it was answered.") var outcome: String

        func run() throws {
            let vault = try global.openVault()
            try Requests(vault: vault).close(id: request, outcome: outcome)
            if global.json { printJSON(["request_id": request, "closed": true]) } else { printLine("closed request \(request)") }
        }
    }
}
