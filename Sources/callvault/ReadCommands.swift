// `list`, `show`, `export`, `report`: what coaches and compliance officers read (SPEC §8, §9, §11).
import ArgumentParser
import CallVault
import CallVaultCore
import Foundation

struct ListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "List recordings you may use (coaches: your scope, compliant, with audio).",
        discussion: """
            Dates without a time (2026-11-21) are days in the time zone of --tenant, or the zone all \
            configured tenants share, else the configured time_zone: the zone the table shows. A period \
            includes its days whole: --from 2026-11-21 --to 2026-11-21 lists the 21st.
            """)

    enum Format: String, ExpressibleByArgument { case table, json, csv }

    @OptionGroup var global: GlobalOptions
    @Option var tenant: String?
    @Option var team: String?
    @Option var agent: String?
    @Option(help: "The call's queue, as in its sidecar.") var queue: String?
    @Option(help: "Started at or after (RFC 3339, or a date: midnight in the tenant's time zone).") var from: String?
    @Option(help: "Started before (RFC 3339), or on or before a date (the whole day, in the tenant's time zone).") var to: String?
    @Option(help: "\(Direction.choices).") var direction: Direction?
    @Option(name: .customLong("min-duration"), help: "Seconds or ISO 8601 (PT1M).") var minDuration: String?
    @Option(name: .customLong("max-duration"), help: "Seconds or ISO 8601 (PT10M).") var maxDuration: String?
    @Option(name: .customLong("expiring-within"), help: "Audio expiring within this ISO 8601 duration (P3D).") var expiringWithin: String?
    @Option(help: "Rows per page (1-1000).") var limit = 50
    @Option(help: "The next_cursor of the previous page (with --format csv it is printed on stderr: `next page: --cursor C`).") var cursor: String?
    @Option(help: "table, json or csv (--json is json).") var format: Format = .table

    func run() throws {
        let vault = try global.openVault()
        let given: [String: String?] = [
            "tenant": tenant, "team": team, "agent": agent, "queue": queue, "from": from, "to": to, "direction": direction?.rawValue,
            "min_duration": minDuration, "max_duration": maxDuration, "expiring_within": expiringWithin, "limit": String(limit), "cursor": cursor,
        ]
        let f = try ListFilters.parse({ given[$0] ?? nil }, configuration: vault.configuration)
        let (page, next) = try Listing(vault: vault).list(f)
        switch global.json ? .json : format {
        case .json:
            printJSON(["recordings": page.map(listJSON), "next_cursor": orNull(next)])
        case .csv:
            FileHandle.standardOutput.write(Data(listCSV(page).utf8))
            // The cursor goes to stderr, so the CSV on stdout stays one clean table a script can append to.
            if let next { FileHandle.standardError.write(Data("next page: --cursor \(next)\n".utf8)) }
        case .table:
            let now = vault.clock.now()
            let rows = page.map { r -> [String] in
                let zone = vault.configuration.zone(forTenant: r.tenant)
                let expires = r.audioDeletedAt != nil ? "deleted" :
                    (Timestamp.parse(r.audioExpiresAt).map { $0 > now ? humanDuration($0.timeIntervalSince(now)) : "expired" } ?? "?")
                return [localTime(r.startedAt, zone), r.agentID, r.team ?? "", humanDuration(r.durationS), expires, r.onHold == true ? "held" : ""]
            }
            printText(table(["started", "agent", "team", "duration", "expires in", "hold"], rows))
            if let next { printLine("more: --cursor \(next)") }
        }
    }
}

struct ShowCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "Show one recording (audited).")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "The recording id.") var id: String

    func run() throws {
        let vault = try global.openVault()
        let (r, holds) = try Listing(vault: vault).show(id: id)
        let o = showJSON(r, holds: holds)
        if global.json {
            printJSON(o)
        } else {
            for key in o.keys.sorted() where key != "holds" && key != "hold_music" && key != "announcement_review" {
                let v = o[key]!
                printLine("\(key.padding(toLength: 22, withPad: " ", startingAt: 0)) \(v is NSNull ? "-" : escapedForTerminal("\(v)"))")
            }
            // Empty for coaches: the use case tells them nothing about holds.
            for h in holds { printLine("hold                   \(h.id) \(h.kind) case \(escapedForTerminal(h.caseRef))") }
            if let d = r.announcementReview {
                printLine("announcement_review    decided by \(escapedForTerminal(d.by)) at \(d.at)" + (d.note.map { ": " + escapedForTerminal($0) } ?? ""))
            }
            if let m = r.holdMusic {
                printLine("hold_music             " + (m.segments.isEmpty ? "none heard (policy \(m.policy))"
                    : String(format: "%.0f s on hold (policy %@%@)", m.seconds, m.policy, m.redacted ? ": silenced before storing" : "")))
                for s in m.segments {
                    printLine(String(format: "  on hold              %.1f s – %.1f s  %@", s.startS, s.endS, escapedForTerminal(s.track)))
                }
                if let received = m.receivedSHA256 { printLine("received_sha256        \(received)") }
            } else {
                printLine("hold_music             not checked")
            }
        }
    }
}

struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "export", abstract: "Copy a recording's audio and a JSON of its metadata into a folder (audited).")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "The recording id.") var id: String
    @Option(help: "Folder to write RECORDING-ID.EXT and RECORDING-ID.json into (created if missing).") var to: String

    func run() throws {
        let vault = try global.openVault()
        // Altered evidence is refused, never copied: the stored file before, and the copy after (SPEC §12).
        try Fixity(vault: vault).checkBeforeExport(id: id)
        let paths = try Listing(vault: vault).export(id: id, to: to) { rec, holds in
            var o = listJSON(rec)
            if let sha = rec.sha256 { o["sha256"] = sha }
            o["format"] = rec.format
            o["sample_rate"] = rec.sampleRate
            o["channels"] = rec.channels
            o["ended_at"] = orNull(rec.endedAt)
            o["site"] = orNull(rec.site)
            o["announcement_flag"] = rec.announcementFlag
            o["announcement_prompt"] = orNull(rec.announcementPrompt)
            o["holds"] = holds.map(\.id)
            if let parties = rec.parties {
                // Evidence for officers; coaches' views carry no numbers.
                o["caller"] = orNull(parties.caller)
                o["callee"] = orNull(parties.callee)
            }
            return (try? JSONSerialization.data(withJSONObject: o, options: [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes])) ?? Data()
        }
        try Fixity(vault: vault).checkExportedCopy(id: id, audio: paths.audio, metadata: paths.metadata)
        if global.json { printJSON(["audio": paths.audio, "metadata": paths.metadata]) } else { printLine("exported \(paths.audio) and \(paths.metadata)") }
    }
}

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "report", abstract: "Compliance report per tenant (default: the last month).")
    @OptionGroup var global: GlobalOptions
    @Option(help: "From (RFC 3339, or a date: from its start, in the zone the tenants share, else the configured one; default a month before --to).") var from: String?
    @Option(help: "To (RFC 3339, exclusive; or a date, included whole; default now).") var to: String?

    func run() throws {
        let vault = try global.openVault()
        let now = vault.clock.now()
        let period = try ReportRange(from: from, to: to, configuration: vault.configuration, now: now)
        let (start, end) = (period.from, period.to)
        let report = try Listing(vault: vault).complianceReport(from: start, to: end)
        let tenants = report.tenants
        if global.json {
            printJSON(reportJSON(report))
        } else {
            printLine("compliance report \(Timestamp.utc(start)) .. \(Timestamp.utc(end))")
            let pct: (Double?) -> String = { $0.map { String(format: "%.1f %%", $0 * 100) } ?? "-" }
            printText(table(["tenant", "stored", "rejected", "announced", "verified", "audio del", "meta del", "overdue", "holds"], tenants.map { t in
                [t.tenant, String(t.stored), String(t.rejected.values.reduce(0, +)), pct(t.announcementCompliance), pct(t.announcementVerified),
                 String(t.audioDeleted), String(t.metadataDeleted), String(t.overdue), String(t.activeHolds)]
            }))
            for t in tenants where t.verdicts != AnnouncementVerdictCounts(notChecked: t.stored) {
                let v = t.verdicts
                printLine("\(t.tenant) announcement check: \(v.heard) heard, \(v.review) awaiting review, \(v.notHeard) not heard (stored), \(v.notChecked) not checked")
            }
            for t in tenants where !t.queues.isEmpty {
                printLine("\(t.tenant) announcement heard, by queue: " + t.queues.map { "\($0.queue.isEmpty ? "(none)" : escapedForTerminal($0.queue)) \(pct($0.verifiedRate)) of \($0.checked)" + ($0.verdicts.review > 0 ? " (\($0.verdicts.review) to review)" : "") }.joined(separator: ", "))
            }
            for t in tenants {
                guard let h = t.onHold else { continue }
                printLine(String(format: "%@ recorded on hold: %d of %d calls checked, %.0f s", t.tenant, h.calls, h.checked, h.seconds)
                          + (t.onHoldByQueue.count > 1 ? "; by queue: " + t.onHoldByQueue.filter { $0.figures.calls > 0 }.map {
                              String(format: "%@ %d calls, %.0f s", $0.queue.isEmpty ? "(none)" : escapedForTerminal($0.queue), $0.figures.calls, $0.figures.seconds)
                          }.joined(separator: ", ") : ""))
            }
            for t in tenants where !t.rejected.isEmpty {
                printLine("\(t.tenant) rejected: " + t.rejected.sorted { $0.key < $1.key }.map { "\(escapedForTerminal($0.key)) \($0.value)" }.joined(separator: ", "))
            }
            let r = report.requests
            printLine("data-subject requests: \(r.open) open, \(r.dueSoon) due within 7 days, \(r.overdue) overdue")
            for h in report.holdsDueForReview {
                printLine("hold due for review: \(h.holdID)  case \(escapedForTerminal(h.caseRef))  review at \(h.reviewAt)")
            }
        }
    }
}
