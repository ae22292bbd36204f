// The compliance officer's read-only pages: the report with its charts, the audit log, the quarantine.
import CallVault
import CallVaultCore
import Foundation
import Hummingbird

enum OfficerRoutes {
    static func add(to router: Router<WebContext>, env: WebEnvironment) {
        router.get("/report") { request, context -> Response in
            let vault = try env.vault(for: context)
            let period = try ReportRange(from: request.query("from"), to: request.query("to"), configuration: vault.configuration, now: vault.clock.now())
            let (zone, from, to) = (period.zone, period.from, period.to)
            let (report, buckets, size) = try await blocking { try Listing(vault: vault).reportSeries(from: from, to: to) }
            if request.wantsJSON { return Layout.json(reportJSON(report)) }
            return Layout.response(reportPage(report, buckets: buckets, size: size, zone: zone, signedIn: try context.user()))
        }

        router.get("/audit") { request, context -> Response in
            let vault = try env.vault(for: context)
            let zone = vault.configuration.zone(forTenant: nil)
            let since = try request.query("since").map { try PeriodEnd.moment($0, zone: zone, field: "since") }
            let until = try request.query("until").map { try PeriodEnd.moment($0, zone: zone, field: "until") }
            let actor = request.query("actor"), action = request.query("action"), target = request.query("target")
            let limit = min(max(Int(request.query("limit") ?? "") ?? 200, 1), 1000)
            let verify = request.query("verify") != nil
            let (rows, verified) = try await blocking { () -> ([AuditEntry], AuditVerification?) in
                let listing = Listing(vault: vault)
                let v = verify ? try listing.verifyAudit() : nil
                return (try listing.auditEvents(since: since, until: until, actor: actor, action: action, target: target, limit: limit), v)
            }
            if request.wantsJSON {
                var o: [String: Any] = ["events": rows.map { ["seq": $0.seq, "at": $0.at, "actor": $0.actor, "principal": orNull($0.principal),
                                                              "action": $0.action, "target": orNull($0.target), "details": $0.details] }]
                if let verified {
                    let v: [String: Any] = ["ok": verified.ok, "events": verified.events, "first_bad_seq": orNull(verified.firstBad)]
                    o["verify"] = v.merging(timeRegressionsJSON(verified)) { a, _ in a }
                }
                return Layout.json(o)
            }
            return Layout.response(auditPage(request, rows: rows, verified: verified, signedIn: try context.user(), zone: vault.configuration.timeZone))
        }

        router.get("/quarantine") { request, context -> Response in
            let vault = try env.vault(for: context)
            let rows = try await blocking { try Listing(vault: vault).quarantine(limit: 500) }
            if request.wantsJSON {
                return Layout.json(["entries": rows.map { ["id": $0.id, "at": $0.at, "tenant": orNull($0.tenant), "reason": $0.reason, "detail": $0.detail] }])
            }
            let signedIn = try context.user()
            let notice = await env.sessions.takeNotice(token: signedIn.token)
            return Layout.response(quarantinePage(rows, message: notice, signedIn: signedIn, zone: vault.configuration.timeZone))
        }

        router.post("/quarantine/:id/retry") { request, context -> Response in
            let vault = try env.vault(for: context)
            let id = try context.parameters.require("id")
            let outcome = try await blocking { try QuarantineRetry(vault: vault).retry(ids: [id]) }
            let text = outcome.map { describe($0.outcome) }.joined(separator: ", ")
            if request.wantsJSON { return Layout.json(["id": id, "outcome": text]) }
            await env.sessions.setNotice(token: try context.user().token, text)
            return Layout.redirect("/quarantine")
        }
    }

    /// An event's details (a JSON object of ids, counts and codes) as a small definition list.
    static func details(_ json: String) -> HTML {
        guard let data = json.data(using: .utf8), let o = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any], !o.isEmpty else {
            return HTML("<span class=\"mono\">\(json == "{}" ? "" : json)</span>")
        }
        let items: [HTML] = o.keys.sorted().map { k in HTML("<dt>\(k.replacingOccurrences(of: "_", with: " "))</dt><dd class=\"mono\">\("\(o[k]!)")</dd>") }
        return HTML("<dl class=\"details\">\(items)</dl>")
    }

    static func describe(_ o: QuarantineRetry.Outcome) -> String {
        switch o {
        case .stored(let id): return "stored as \(id)"
        case .duplicate(let id): return "a duplicate of \(id)"
        case .rejected(let code, let detail): return "rejected again: \(code.rawValue) (\(detail))"
        case .incomplete(let why): return "not retried: \(why)"
        case .unreadable(let why): return "unreadable: \(why)"
        case .erased(let request): return "not stored: erased at a data subject's request\(request.isEmpty ? "" : " (request \(request))"); its copies are deleted"
        }
    }

    static func pct(_ v: Double?) -> String { v.map { String(format: "%.1f %%", $0 * 100) } ?? "—" }

    static func reportPage(_ report: ComplianceReport, buckets: [ReportPeriod], size: ReportBucketSize, zone: TimeZone, signedIn: SignedIn) -> HTML {
        let total = report.tenants, from = report.from, to = report.to
        let due = report.holdsDueForReview, requests = report.requests
        let dueList: [HTML] = due.map { h in
            HTML("<li><a href=\"/holds/\(h.holdID)\">case \(h.caseRef)</a> — review was due \(Layout.localTimeNamed(h.reviewAt, zone: zone))</li>")
        }
        // A label names the bucket's first day as far as it tells buckets apart: weeks over a year need the year.
        let labels = buckets.map { b -> String in
            let day = localTime(Timestamp.utc(b.from), zone).prefix(10)
            switch size.unit {
            case .day: return String(day.dropFirst(5))
            case .week: return String(day)
            case .month: return String(day.prefix(7))
            case .year: return String(day.prefix(4))
            }
        }
        let tenants = total.map(\.tenant)
        // A bucket without a call to judge gives nil, a gap in the line rather than a 0 % dip: the catalog leaves
        // both rates nil when nothing was checked or nothing stored nor rejected for its announcement. A bucket
        // holding only announcement rejections stays 0 %: every call of it failed, which is what the line is for.
        let rate: [(name: String, values: [Double?])] = tenants.map { t in
            (t, buckets.map { b in b.tenants.first { $0.tenant == t }.flatMap { $0.announcementVerified ?? $0.announcementCompliance } })
        }
        let sum = { (f: (TenantReport) -> Int) in buckets.map { $0.tenants.map(f).reduce(0, +) } }
        let flows: [(name: String, values: [Int])] = [("stored", sum(\.stored)), ("audio deleted", sum(\.audioDeleted)),
                                                      ("metadata deleted", sum(\.metadataDeleted)), ("rejected", sum { $0.rejected.values.reduce(0, +) })]
        let queues = total.flatMap { t in t.queues.map { (label: "\(t.tenant) · \($0.queue.isEmpty ? "(no queue)" : $0.queue)", value: $0.verifiedRate, note: "of \($0.checked)") } }
        let stat = { (label: String, value: String, id: String) -> HTML in "<div class=\"stat\" id=\"\(id)\"><b>\(value)</b><span>\(label)</span></div>" }
        let rows: [HTML] = total.map { t in
            """
            <tr><td>\(t.tenant)</td><td>\(t.stored)</td><td>\(t.rejected.values.reduce(0, +))</td><td>\(pct(t.announcementCompliance))</td>
            <td>\(pct(t.announcementVerified))</td><td>\(t.audioDeleted)</td><td>\(t.metadataDeleted)</td>
            <td>\(t.overdue > 0 ? HTML("<span class=\"badge bad\">\(t.overdue)</span>") : "0")</td><td>\(t.activeHolds)</td></tr>
            """
        }
        // Callers recorded while on hold (SPEC §17): per tenant that checks, and per queue with any.
        let onHold: [HTML] = total.compactMap { t in
            guard let h = t.onHold else { return nil }
            let byQueue = t.onHoldByQueue.filter { $0.figures.calls > 0 }.map { q in
                HTML("<tr><td></td><td>\(q.queue.isEmpty ? "(no queue)" : q.queue)</td><td>\(q.figures.checked)</td><td>\(q.figures.calls)</td><td>\(String(format: "%.0f", q.figures.seconds))</td></tr>").text
            }.joined()
            return HTML("<tr><td>\(t.tenant)</td><td class=\"muted\">all</td><td>\(h.checked)</td><td>\(h.calls > 0 ? HTML("<span class=\"badge warn\">\(h.calls)</span>") : "0")</td><td>\(String(format: "%.0f", h.seconds))</td></tr>\(HTML(stringLiteral: byQueue))")
        }
        let rejected = total.flatMap { t in t.rejected.sorted { $0.key < $1.key }.map { HTML("<li>\(t.tenant): \($0.key) × \($0.value)</li>") } }
        return Layout.page(title: "Compliance report", signedIn: signedIn, active: "/report", body: """
            <h1>Compliance report</h1>
            <section class="card"><form method="get" action="/report" class="filters" id="report-period">
            <label>From <input type="date" name="from" value="\(localTime(Timestamp.utc(from), zone).prefix(10))"></label>
            <label>To (inclusive) <input type="date" name="to" value="\(localTime(Timestamp.utc(to.addingTimeInterval(-1)), zone).prefix(10))"></label>
            <div class="actions"><button type="submit">Show</button></div></form>
            <p class="muted small">\(Layout.localTimeNamed(Timestamp.utc(from), zone: zone)) to \(Layout.localTimeNamed(Timestamp.utc(to), zone: zone)), per \(size.name).</p></section>
            <div class="stats">
            \(stat("calls stored", String(total.map(\.stored).reduce(0, +)), "stat-stored"))
            \(stat("rejected to quarantine", String(total.map { $0.rejected.values.reduce(0, +) }.reduce(0, +)), "stat-rejected"))
            \(stat("audio deleted at expiry", String(total.map(\.audioDeleted).reduce(0, +)), "stat-deleted"))
            \(stat("overdue for deletion", String(total.map(\.overdue).reduce(0, +)), "stat-overdue"))
            \(stat("active holds", String(total.map(\.activeHolds).reduce(0, +)), "stat-holds"))
            \(stat("holds due for review", String(due.count), "stat-review"))
            \(stat("requests overdue", String(requests.overdue), "stat-requests-overdue"))
            \(stat("requests due within 7 days", String(requests.dueSoon), "stat-requests-soon"))
            </div>
            \(due.isEmpty ? "" : HTML("<section class=\"card\" id=\"holds-due\"><h2>Holds due for review</h2><ul>\(dueList)</ul></section>"))
            <section class="card"><h2>Announcement heard, per tenant</h2>\(Charts.lines(title: "Share of calls whose announcement was heard (or flagged, where the audio is not checked)", labels: labels, series: rate, id: "chart-announcement"))</section>
            <section class="card"><h2>Stored, deleted and rejected</h2>\(Charts.bars(title: "Calls stored, deleted and rejected per \(size.name)", labels: labels, series: flows, id: "chart-flows"))
            <p class="muted small">On days of \(zone.identifier): a stored call counts on the day it started, a rejection on the day it was quarantined, a deletion on the day the sweeper made it.</p></section>
            \(queues.isEmpty ? "" : HTML("<section class=\"card\"><h2>Announcement heard, per queue</h2><p class=\"muted small\">A queue far below the others is the sign of a misconfigured IVR.</p>\(Charts.shares(title: "Announcement heard per queue", items: queues, id: "chart-queues"))</section>"))
            <section class="card"><h2>Per tenant</h2><table id="report-table"><thead><tr><th>Tenant</th><th>Stored</th><th>Rejected</th><th>Announced</th><th>Heard</th><th>Audio deleted</th><th>Metadata deleted</th><th>Overdue</th><th>Active holds</th></tr></thead>
            <tbody>\(rows)</tbody></table>
            \(rejected.isEmpty ? "" : HTML("<h2 class=\"mt\">Rejections by reason</h2><ul>\(rejected)</ul>"))</section>
            \(onHold.isEmpty ? "" : HTML("""
                <section class="card" id="on-hold"><h2>Recorded while on hold</h2>
                <p class="muted small">Calls where a tenant's registered hold music was heard: the caller was recorded while waiting. Under the redact policy those stretches were silenced before storing.</p>
                <table><thead><tr><th>Tenant</th><th>Queue</th><th>Checked</th><th>On hold</th><th>Seconds on hold</th></tr></thead><tbody>\(HTML(stringLiteral: onHold.map(\.text).joined()))</tbody></table></section>
                """))
            """)
    }

    /// What each audit action means, in words a DPO reads; the code stays beside it (and alone in JSON).
    /// Each audited action in words (exhaustive: a new action does not compile until it has them).
    static func inWords(_ action: AuditAction) -> String {
        switch action {
        case .accessDenied: "was refused"
        case .announcementReviewListed: "listed the calls to review"
        case .announcementReviewed: "decided a call under review"
        case .auditHead: "read the chain head"
        case .auditList: "read the audit log"
        case .auditVerify: "verified the audit chain"
        case .authFailed: "failed to log in"
        case .authLocked: "was locked out"
        case .authLogin: "logged in"
        case .catalogMigrated: "migrated the catalog"
        case .evidenceExported: "exported an evidence bag"
        case .fixityChecked: "checked fixity"
        case .holdList: "listed holds"
        case .holdPlaced: "placed a hold"
        case .holdReleased: "released a hold"
        case .holdShow: "viewed a hold"
        case .ingestClaimsTakenOver: "took over another worker's claims"
        case .ingestDuplicate: "received a duplicate"
        case .ingestErasedRefused: "refused an erased call"
        case .ingestIncomplete: "found an incomplete pair"
        case .ingestLeftInPlace: "left unreadable inputs"
        case .ingestRejected: "quarantined a pair"
        case .ingestStored: "stored a call"
        case .noteAdded: "added a note"
        case .noteDeleted: "deleted a note"
        case .policyChanged: "changed the retention policy"
        case .policyRecorded: "recorded the retention policy"
        case .quarantineList: "listed the quarantine"
        case .quarantineRetried: "retried a quarantined pair"
        case .quarantineShow: "viewed a quarantine entry"
        case .export: "exported a recording"
        case .list: "listed calls"
        case .report: "read the report"
        case .show: "viewed a call"
        case .recordingExportRefused: "refused altered audio"
        case .recordingHoldRedacted: "silenced the hold music in"
        case .recordingPlayed: "played a call"
        case .requestClosed: "closed a request"
        case .requestErase: "erased a subject's calls"
        case .requestErasePlanned: "planned an erasure"
        case .requestErased: "erased a call"
        case .requestExported: "exported an access bundle"
        case .requestExtended: "extended a request's deadline"
        case .requestFind: "searched a subject's calls"
        case .requestList: "listed requests"
        case .requestOpened: "opened a request"
        case .requestQuarantineErased: "erased a quarantined copy"
        case .requestRectified: "rectified a number"
        case .requestRefreshed: "refreshed a request"
        case .requestRestricted: "restricted calls"
        case .requestRestrictionLifted: "lifted a restriction"
        case .requestShow: "viewed a request"
        case .retentionReapplied: "reapplied retention"
        case .storeInit: "created the store"
        case .sweepAudioDeleted: "deleted audio at expiry"
        case .sweepFinished: "finished a sweep"
        case .sweepMetadataDeleted: "deleted metadata at expiry"
        case .sweepQuarantineDeleted: "deleted a quarantine entry at expiry"
        case .userDisabled: "disabled an account"
        case .userPasswordSet: "set a password"
        }
    }

    static func auditPage(_ request: Request, rows: [AuditEntry], verified: AuditVerification?, signedIn: SignedIn, zone: TimeZone) -> HTML {
        let q = { (n: String) in request.query(n) ?? "" }
        let head = rows.max { $0.seq < $1.seq }
        let verifyBox: HTML = verified.map { v in
            v.ok ? HTML("<div class=\"notice ok\" id=\"verify-result\">The chain verifies: \(v.events) events, unbroken.</div>")
                : HTML("<div class=\"notice bad\" id=\"verify-result\">The chain is BROKEN at event \(v.firstBad.map(String.init) ?? "?"): \(v.reason ?? "").</div>")
        }.map { box in
            guard let v = verified, let first = v.timeRegressions.first else { return box }
            return HTML("\(box)<div class=\"notice warn\" id=\"time-regressions\">\(v.timeRegressionsTotal == 1 ? "1 event is" : "\(v.timeRegressionsTotal) events are") dated earlier than the event before them (first: event \(first.seq), \(first.at) after \(first.previousAt)): the clock went back. Not tampering, but a time filter misses them.</div>")
        } ?? HTML("<p><a class=\"button secondary\" id=\"verify\" href=\"/audit\(HTML.query([("verify", "1"), ("actor", q("actor")), ("action", q("action")), ("target", q("target"))]))\">Verify the whole chain</a></p>")
        // Newest first: an officer looks for what just happened.
        let lines: [HTML] = rows.reversed().map { r in
            "<tr><td class=\"mono small\">\(r.seq)</td><td class=\"small\" title=\"\(r.at)\">\(localTime(r.at, zone))</td><td>\(r.actor)\(r.principal.map { HTML(" <span class=\"muted small\">via \($0)</span>") } ?? "")</td><td>\(AuditAction(rawValue: r.action).map(inWords) ?? r.action) <span class=\"muted small mono\">\(r.action)</span></td><td class=\"mono small\">\(r.target ?? "")</td><td class=\"small\">\(details(r.details))</td></tr>"
        }
        return Layout.page(title: "Audit log", signedIn: signedIn, active: "/audit", body: """
            <h1>Audit log</h1>
            <section class="card">\(verifyBox)
            <p class="muted small">Chain head (newest event shown): \(head.map { "#\($0.seq)" } ?? "—") · anchor it outside this host with <code>callvault audit head</code>.</p>
            <form method="get" action="/audit" class="filters" id="audit-filters">
            <label>Since <input type="date" name="since" value="\(q("since"))"></label><label>Until <input type="date" name="until" value="\(q("until"))"></label>
            <label>Actor <input name="actor" value="\(q("actor"))"></label><label>Action <input name="action" value="\(q("action"))" placeholder="recording.played"></label>
            <label>Target <input name="target" value="\(q("target"))"></label>
            <div class="actions"><button type="submit">Filter</button><a href="/audit">Clear</a></div></form></section>
            <section class="card"><p class="muted small">Newest first, at most \(rows.count) events.</p><table id="audit-table"><thead><tr><th>#</th><th>When (\(zone.identifier))</th><th>Actor</th><th>Action</th><th>Target</th><th>Details</th></tr></thead>
            <tbody>\(lines)</tbody></table>\(rows.isEmpty ? HTML("<p class=\"muted\">No events match.</p>") : "")</section>
            """)
    }

    static func quarantinePage(_ rows: [QuarantineEntry], message: String?, signedIn: SignedIn, zone: TimeZone) -> HTML {
        // Newest first: an officer looks for what just happened.
        let lines: [HTML] = rows.map { r in
            """
            <tr><td class="small" title="\(r.at)">\(localTime(r.at, zone))</td><td>\(r.tenant ?? "(unknown)")</td><td><span class="badge bad">\(r.reason)</span></td><td class="small">\(r.detail)</td>
            <td class="mono small">\(r.id)</td><td><form method="post" action="/quarantine/\(r.id)/retry">\(Layout.csrfField(signedIn))<button type="submit" class="secondary">Retry</button></form></td></tr>
            """
        }
        return Layout.page(title: "Quarantine", signedIn: signedIn, active: "/quarantine", body: """
            <h1>Quarantine</h1>
            \(message.map { HTML("<div class=\"notice ok\" id=\"retry-result\">Retried: \($0)</div>") } ?? "")
            <section class="card"><p class="muted small">Pairs rejected at ingest, with their reason. Retry checks an entry again (after a configuration fix, say); it is stored or stays here with its new reason.</p>
            <table id="quarantine-table"><thead><tr><th>When (\(zone.identifier))</th><th>Tenant</th><th>Reason</th><th>Detail</th><th>Entry id</th><th></th></tr></thead>
            <tbody>\(lines)</tbody></table>\(rows.isEmpty ? HTML("<p class=\"muted\">The quarantine is empty.</p>") : "")</section>
            """)
    }
}
