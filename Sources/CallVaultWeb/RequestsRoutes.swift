// The DPO's register of data-subject requests (issue 11): open, find, export download, erase with a
// confirmation, restrict, extend, rectify and close — each step the `Requests` use case, with its audit.
import CallVault
import CallVaultCore
import Foundation
import Hummingbird
import ZIPFoundation
#if canImport(Glibc)
import Glibc
#endif

enum RequestsRoutes {
    static func add(to router: Router<WebContext>, env: WebEnvironment) {
        router.get("/requests") { request, context -> Response in
            let vault = try env.vault(for: context)
            let all = request.query("all") != nil
            let (list, counts) = try await blocking { () -> ([RequestSummary], RequestDeadlineCounts) in
                let r = Requests(vault: vault)
                return (try r.list(openOnly: !all, overdueOnly: false), try r.deadlines())
            }
            return Layout.response(listPage(list, counts: counts, all: all, signedIn: try context.user(), vault: vault))
        }

        router.post("/requests") { request, context -> Response in
            let vault = try env.vault(for: context)
            var request = request
            let form = Form(try await request.collectBody(upTo: 64 * 1024))
            do {
                guard let kind = form.text("kind").flatMap(RequestKind.init(rawValue:)) else {
                    throw VaultError(.usage, "Choose the kind of request: access, erasure, restriction, rectification or objection.")
                }
                let subjects = (form.first("subjects") ?? "").split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
                let tenant = form.text("tenant")
                let zone = Self.zone(tenant, vault)
                guard let receivedText = form.text("received") else { throw VaultError(.usage, "Give the date the request was received.") }
                let received = try PeriodEnd.moment(receivedText, zone: zone, field: "received")
                let reference = form.text("reference") ?? "", note = form.text("note")
                let opened = try await blocking {
                    try Requests(vault: vault).open(kind: kind, subjects: subjects, tenant: tenant, received: received, reference: reference, note: note)
                }
                return Layout.redirect("/requests/\(opened.request.id)")
            } catch let e as VaultError where !request.wantsJSON && e.kind == .usage {
                // The form again, with what was typed (the numbers only in this answer's body: never in a URL or a
                // log) and why it was refused, in the user's words.
                let typed = Dictionary(uniqueKeysWithValues: openFields.map { ($0, form.first($0) ?? "") })
                let (list, counts) = try await blocking { () -> ([RequestSummary], RequestDeadlineCounts) in
                    let r = Requests(vault: vault)
                    return (try r.list(openOnly: true, overdueOnly: false), try r.deadlines())
                }
                return Layout.response(listPage(list, counts: counts, all: false, typed: typed, message: ErrorPage.inWords(e),
                                                signedIn: try context.user(), vault: vault), status: .badRequest)
            }
        }

        router.get("/requests/:id") { request, context -> Response in
            let vault = try env.vault(for: context)
            let id = try context.parameters.require("id")
            let plan = request.query("plan") != nil
            let (summary, calls, quarantine, steps) = try await blocking { () -> (RequestSummary, [RequestCallView], [QuarantineCopy], Erasure?) in
                let r = Requests(vault: vault)
                let (s, c) = try r.show(id: id)
                return (s, c, try r.quarantine(id: id), plan ? try r.erase(id: id, dryRun: true) : nil)
            }
            let signedIn = try context.user()
            let notice = await env.sessions.takeNotice(token: signedIn.token)
            return Layout.response(showPage(summary, calls: calls, quarantine: quarantine, plan: steps, message: notice, signedIn: signedIn, vault: vault))
        }

        router.post("/requests/:id/:action") { request, context -> Response in
            let vault = try env.vault(for: context)
            let id = try context.parameters.require("id"), action = try context.parameters.require("action")
            var request = request
            let form = Form(try await request.collectBody(upTo: 64 * 1024))
            let requests = Requests(vault: vault)
            let done: String
            switch action {
            case "erase":
                guard form.first("confirm") == "yes" else { throw VaultError(.usage, "erase: tick the confirmation first") }
                let erasure = try await blocking { try requests.erase(id: id, dryRun: false) }
                let steps = erasure.calls
                let deleted = steps.filter { $0.outcome == .deleted }.count
                let kept = steps.filter { if case .keptUnderHold = $0.outcome { return true } else { return false } }.count
                let claimed = steps.filter { if case .keptForLegalClaims = $0.outcome { return true } else { return false } }.count
                done = "Erased \(counted(deleted, "call")); \(kept) kept under a hold and marked erasure pending."
                    + (claimed == 0 ? "" : " \(claimed) kept because another request restricts them for a legal claim, erasure pending.")
                    + (erasure.quarantine.isEmpty ? "" : " \(erasure.quarantine.count) quarantine copy(ies) deleted.")
            case "restrict":
                let ground = try form.text("ground").map { text -> RestrictionGround in
                    guard let g = RestrictionGround(rawValue: text) else { throw VaultError(.usage, "ground: accuracy, unlawful, legal-claims or objection") }
                    return g
                }
                let n = try await blocking { try requests.restrict(id: id, ground: ground, lift: false, subjectInformed: false) }
                done = "Restricted \(counted(n, "call")): coaches no longer see \(n == 1 ? "it" : "them")."
            case "lift":
                let informed = form.first("informed") == "yes"
                let n = try await blocking { try requests.restrict(id: id, ground: nil, lift: true, subjectInformed: informed) }
                done = "Lifted the restriction of \(counted(n, "call"))."
            case "extend":
                let by = form.text("by") ?? "", reason = form.text("reason") ?? ""
                _ = try await blocking { try requests.extend(id: id, by: by, reason: reason) }
                done = "Deadline extended by \(by)."
            case "rectify":
                guard let field = form.text("field").flatMap(RectifiableField.init(rawValue:)) else {
                    throw VaultError(.usage, "field: agent, team, queue, caller or callee")
                }
                let recording = form.text("recording") ?? "", value = form.text("value") ?? ""
                try await blocking { try requests.rectify(id: id, recordingID: recording, field: field, value: value) }
                done = "Corrected \(field.rawValue) of \(recording)."
            case "find":
                // `request find --subject`: calls stored since the request was opened, found by the subject's own
                // numbers (typed again: the register keeps only their hashes).
                let subjects = (form.first("subjects") ?? "").split(whereSeparator: \.isNewline)
                    .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
                guard !subjects.isEmpty else { throw VaultError(.usage, "subjects: type the subject's number again") }
                let calls = try await blocking { try requests.find(id: id, subjects: subjects) }
                done = "Looked again: \(counted(calls.count, "call")) of the subject listed."
            case "close":
                let outcome = form.text("outcome") ?? ""
                try await blocking { try requests.close(id: id, outcome: outcome) }
                done = "Closed."
            default:
                throw HTTPError(.notFound)
            }
            await env.sessions.setNotice(token: try context.user().token, done)
            return Layout.redirect("/requests/\(id)")
        }

        // The access bundle as one zip: written into a private temporary folder, zipped, streamed, removed.
        router.get("/requests/:id/export.zip") { request, context -> Response in
            let vault = try env.vault(for: context)
            let id = try context.parameters.require("id")
            if request.method == .head {
                try await blocking { try RequestExport(vault: vault).check(id: id) }
                return FolderDownload.headResponse()
            }
            return try await FolderDownload.zip(root: vault.root, temporary: "access") { folder in try RequestExport(vault: vault).write(id: id, into: folder).folder }
        }
    }

    /// Deadlines are calendar days on the tenant's wall clock.
    static func zone(_ tenant: String?, _ vault: Vault) -> TimeZone {
        vault.configuration.zone(forTenant: tenant)
    }

    static func deadline(_ s: RequestSummary) -> HTML {
        if s.request.closedAt != nil { return "<span class=\"badge neutral\">closed</span>" }
        if s.overdue { return "<span class=\"badge bad\">overdue</span>" }
        if s.dueSoon { return "<span class=\"badge warn\">due within 7 days</span>" }
        return "<span class=\"badge ok\">open</span>"
    }

    /// The fields of the form that registers a request: a refused form comes back with what was typed.
    static let openFields = ["kind", "tenant", "received", "reference", "subjects", "note"]

    static func listPage(_ list: [RequestSummary], counts: RequestDeadlineCounts, all: Bool, typed: [String: String] = [:], message: String? = nil,
                         signedIn: SignedIn, vault: Vault) -> HTML {
        let v = { (name: String) in typed[name] ?? "" }
        let rows: [HTML] = list.map { s in
            """
            <tr class="\(s.overdue ? "due" : "")"><td><a href="/requests/\(s.request.id)">\(s.request.reference)</a></td><td>\(s.request.kind)</td><td>\(s.request.tenant ?? "all")</td>
            <td>\(s.request.receivedDay)</td><td>\(s.request.dueDay)\(s.request.extendedBy.map { HTML(" <span class=\"muted small\">extended \($0)</span>") } ?? "")</td>
            <td>\(deadline(s))</td><td>\(s.calls)</td></tr>
            """
        }
        // One controller per request: with several tenants, one must be chosen.
        let names = vault.configuration.tenants.keys.sorted()
        let tenants: [HTML] = (names.count > 1 ? [HTML("<option value=\"\">choose the controller…</option>")] : [])
            + names.map { HTML("<option\(HTML(stringLiteral: v("tenant") == $0 ? " selected" : ""))>\($0)</option>") }
        let kinds: [HTML] = RequestKind.allCases.map { HTML("<option\(HTML(stringLiteral: v("kind") == $0.rawValue ? " selected" : ""))>\($0.rawValue)</option>") }
        return Layout.page(title: "Data-subject requests", signedIn: signedIn, active: "/requests", body: """
            <h1>Data-subject requests</h1>
            <div class="stats"><div class="stat" id="stat-open"><b>\(counts.open)</b><span>open</span></div>
            <div class="stat" id="stat-soon"><b>\(counts.dueSoon)</b><span>due within 7 days</span></div>
            <div class="stat" id="stat-overdue"><b>\(counts.overdue)</b><span>overdue</span></div></div>
            <section class="card"><div class="actions toolbar"><span class="muted">\(all ? "All requests" : "Open requests"), oldest deadline first. The answer is due by the end of the day one month after receipt, in the tenant's time zone (extendable once, by up to two months, before that).</span>
            <a href="\(all ? "/requests" : "/requests?all=1")">\(all ? "Only open requests" : "Show closed requests too")</a></div>
            <table id="requests-table"><thead><tr><th>Reference</th><th>Kind</th><th>Tenant</th><th>Received</th><th>Due</th><th>State</th><th>Calls</th></tr></thead>
            <tbody>\(rows)</tbody></table>\(list.isEmpty ? HTML("<p class=\"muted\">No requests.</p>") : "")</section>
            <section class="card" id="register"><h2>Register a request</h2>
            \(message.map { HTML("<div class=\"notice bad\" role=\"alert\" id=\"request-error\">\($0)</div>") } ?? "")
            <form method="post" action="/requests" class="filters" id="open-request">\(Layout.csrfField(signedIn))
            <label>Kind <select name="kind">\(kinds)</select></label>
            <label>Tenant (the controller) <select name="tenant" required>\(tenants)</select></label>
            <label>Received <input type="date" name="received" required value="\(v("received"))"></label>
            <label>Reference <input name="reference" required pattern="[A-Za-z0-9._\\-]{1,64}" title="letters, digits, . _ -" value="\(v("reference"))"></label>
            <label class="span-all">Subject's phone numbers (one per line; E.164 or the tenant's national form) <textarea name="subjects" required autocomplete="off">\(v("subjects"))</textarea></label>
            <label class="span-all">Note <input name="note" value="\(v("note"))"></label>
            <div class="actions"><button type="submit">Register</button></div></form>
            <p class="muted small">Numbers are never stored or logged: the register keeps a keyed hash of each.</p></section>
            """)
    }

    static func showPage(_ s: RequestSummary, calls: [RequestCallView], quarantine: [QuarantineCopy], plan: Erasure?, message: String?, signedIn: SignedIn, vault: Vault) -> HTML {
        let r = s.request
        let open = r.closedAt == nil
        let kind = RequestKind(rawValue: r.kind)
        let rows: [HTML] = calls.map { c in
            let zone = Self.zone(c.tenant, vault)
            // An erased call has no page: its row says when it was erased instead of linking to a 404.
            let state: HTML
            if let erased = c.erasedAt {
                state = HTML("<span class=\"badge neutral\">erased \(localTime(erased, zone))</span>")
            } else if c.erasurePending {
                state = HTML("<span class=\"badge warn\">erasure pending (held)</span>")
            } else if c.recording == nil {
                state = HTML("<span class=\"badge neutral\">gone</span>")
            } else if c.recording?.audioDeletedAt != nil {
                state = HTML("<span class=\"badge neutral\">metadata only</span>")
            } else {
                state = HTML("<span class=\"badge ok\">audio present</span>")
            }
            let id: HTML = c.recording == nil ? HTML("\(c.recordingID)") : HTML("<a href=\"/calls/\(c.recordingID)\">\(c.recordingID)</a>")
            return """
                <tr><td class="mono small">\(id)</td><td>\(c.tenant)</td>
                <td>\(c.recording.map { localTime($0.startedAt, zone) } ?? "—")</td><td>\(state)</td>
                <td>\(c.held ? HTML("<span class=\"badge held\">held</span>") : "")\(c.recording?.restricted == true ? HTML(" <span class=\"badge warn\">restricted</span>") : "")</td>
                <td class="small">\(c.recording.map { String($0.metadataExpiresAt.prefix(10)) } ?? "—")</td></tr>
                """
        }
        var actions: [HTML] = []
        if open, kind == .access {
            actions.append("<section class=\"card\"><h2>Give the subject their data</h2><p>A zip with calls.json, calls.csv, the audio (a playable copy beside any other format), a manifest of SHA-256 hashes and a README in the tenant's language (GDPR art. 15). Agents' data is left out. The export is audited.</p><a class=\"button\" id=\"export\" href=\"/requests/\(r.id)/export.zip\">Download the bundle</a></section>")
        }
        if open, kind == .erasure || kind == .objection {
            let planHTML: HTML = plan.map { erasure in
                var lines: [HTML] = erasure.calls.map { step in
                    let what: String
                    switch step.outcome {
                    case .deleted: what = "delete now"
                    case .keptUnderHold(let holds): what = "kept under hold \(holds.joined(separator: ", ")) — erasure pending"
                    case .keptForLegalClaims(let requests): what = "kept: restricted for a legal claim by request \(requests.joined(separator: ", ")) — erasure pending"
                    case .alreadyGone: what = "already expired or erased"
                    case .failed(let why): what = "cannot: \(why)"
                    }
                    return HTML("<li><span class=\"mono small\">\(step.recordingID)</span>: \(what)</li>")
                }
                lines += erasure.quarantine.map { HTML("<li><span class=\"mono small\">\($0.id)</span>: quarantine copy (\($0.reason)) — delete now</li>") }
                return HTML("""
                    <h3>Plan</h3><ul id="erase-plan">\(lines)</ul>
                    <form method="post" action="/requests/\(r.id)/erase" id="erase" data-confirm="Erase these calls now? This cannot be undone.">\(Layout.csrfField(signedIn))
                    <label class="inline"><input type="checkbox" name="confirm" value="yes" required> I have checked the plan: erase now</label>
                    <div class="actions mt"><button type="submit" class="danger">Erase</button></div></form>
                    """)
            } ?? HTML("<a class=\"button secondary\" id=\"plan\" href=\"/requests/\(r.id)?plan=1\">Show what erasure would do</a>")
            actions.append("<section class=\"card\"><h2>Erase</h2><p class=\"muted small\">Calls under a hold are kept for the case (GDPR art. 17(3)(e)) and erased when their last hold is released.</p>\(planHTML)</section>")
        }
        if open, kind == .restriction {
            actions.append("""
                <section class="card"><h2>Restrict</h2>
                <form method="post" action="/requests/\(r.id)/restrict" class="filters" id="restrict">\(Layout.csrfField(signedIn))
                <label>Ground <select name="ground"><option value="accuracy">accuracy contested</option><option value="unlawful">unlawful processing</option>
                <option value="legal-claims">needed for legal claims</option><option value="objection">objection pending</option></select></label>
                <div class="actions"><button type="submit">Restrict the calls</button></div></form>
                <form method="post" action="/requests/\(r.id)/lift" class="filters mt" id="lift">\(Layout.csrfField(signedIn))
                <label class="inline"><input type="checkbox" name="informed" value="yes" required> The subject was told before lifting</label>
                <div class="actions"><button type="submit" class="secondary">Lift the restriction</button></div></form></section>
                """)
        }
        if open, kind == .rectification {
            let fields: [HTML] = RectifiableField.allCases.map { HTML("<option>\($0.rawValue)</option>") }
            actions.append("""
                <section class="card"><h2>Correct a field</h2><form method="post" action="/requests/\(r.id)/rectify" class="filters" id="rectify">\(Layout.csrfField(signedIn))
                <label>Recording id <input name="recording" required></label><label>Field <select name="field">\(fields)</select></label>
                <label>New value <input name="value" required autocomplete="off"></label><div class="actions"><button type="submit">Correct</button></div></form></section>
                """)
        }
        if open {
            actions.append("""
                <section class="card"><h2>Look again for the subject's calls</h2>
                <p class="muted small">Calls stored after the request was opened are added when the subject's number is typed again (the register keeps only a keyed hash of it).</p>
                <form method="post" action="/requests/\(r.id)/find" class="filters" id="find-again">\(Layout.csrfField(signedIn))
                <label class="span-all">Subject's phone numbers (one per line) <textarea name="subjects" required autocomplete="off"></textarea></label>
                <div class="actions"><button type="submit" class="secondary">Look again</button></div></form></section>
                """)
            actions.append("""
                <section class="card"><h2>Deadline and closing</h2>
                \(r.extendedBy == nil ? HTML("""
                <form method="post" action="/requests/\(r.id)/extend" class="filters" id="extend">\(Layout.csrfField(signedIn))
                <label>Extend by <select name="by"><option value="P1M">1 month</option><option value="P2M">2 months</option></select></label><label>Reason (told to the subject) <input name="reason" required></label>
                <div class="actions"><button type="submit" class="secondary">Extend once</button></div></form>
                """) : HTML("<p class=\"muted\">Extended by \(r.extendedBy ?? "") (\(r.extensionReason ?? "")).</p>"))
                <form method="post" action="/requests/\(r.id)/close" class="filters mt" id="close">\(Layout.csrfField(signedIn))
                <label class="span-all">Outcome (what the subject was told) <input name="outcome" required></label>
                <div class="actions"><button type="submit">Close the request</button></div></form></section>
                """)
        }
        return Layout.page(title: "Request \(r.reference)", signedIn: signedIn, active: "/requests", body: """
            <p><a href="/requests">← Requests</a></p><h1>\(r.kind.capitalized) request \(r.reference) \(deadline(s))</h1>
            \(message.map { HTML("<div class=\"notice ok\" id=\"done\">\($0)</div>") } ?? "")
            <div class="grid2"><div>
            <section class="card"><h2>\(counted(calls.count, "call")) of the subject</h2>
            <table id="request-calls"><thead><tr><th>Recording</th><th>Tenant</th><th>Started</th><th>State</th><th></th><th>Metadata until</th></tr></thead><tbody>\(rows)</tbody></table></section>
            \(quarantineSection(quarantine, vault: vault))
            \(actions)
            </div><div><section class="card"><h2>Request</h2><dl class="facts">
            <dt>Id</dt><dd class="mono small">\(r.id)</dd><dt>Tenant</dt><dd>\(r.tenant ?? "all")</dd>
            <dt>Received</dt><dd>\(r.receivedDay)</dd><dt>Answer due</dt><dd id="due">\(r.dueDay), end of day <span class="muted small">(\(r.zone))</span></dd>
            <dt>Opened</dt><dd>\(localTime(r.openedAt, Self.zone(r.tenant, vault))) by \(r.openedBy)</dd><dt>Subjects</dt><dd>\(counted(s.subjects, "number")) (kept as keyed hashes)</dd>
            <dt>Note</dt><dd>\(r.note ?? "—")</dd>
            \(r.restrictionGround.map { HTML("<dt>Restriction</dt><dd>\($0)\(r.restrictionLiftedAt.map { " (lifted \($0))" } ?? "")</dd>") } ?? "")
            \(r.closedAt.map { HTML("<dt>Closed</dt><dd>\(localTime($0, Self.zone(r.tenant, vault))) by \(r.closedBy ?? "?"): \(r.outcome ?? "")</dd>") } ?? "")
            </dl></section></div></div>
            """)
    }

    /// The quarantine's copies naming the subject: refused at ingest, still the subject's data.
    static func quarantineSection(_ copies: [QuarantineCopy], vault: Vault) -> HTML {
        guard !copies.isEmpty else { return "" }
        let rows: [HTML] = copies.map { c in
            HTML("<tr><td class=\"mono small\">\(c.id)</td><td>\(localTime(c.at, vault.configuration.timeZone))</td><td><code>\(c.reason)</code></td><td class=\"small\">\(counted(c.files, "file")), \(c.bytes) bytes</td></tr>")
        }
        return HTML("""
            <section class="card"><h2>\(copies.count) quarantine copy(ies) naming the subject</h2>
            <p class="muted small">Inputs refused at ingest whose sidecar names the subject. They are the subject's data until the quarantine period ends: an access answer lists them, an erasure deletes them.</p>
            <table id="request-quarantine"><thead><tr><th>Quarantine id</th><th>Quarantined</th><th>Reason</th><th>Files</th></tr></thead><tbody>\(rows)</tbody></table></section>
            """)
    }
}
