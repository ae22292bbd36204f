// Holds, for compliance officers and admins: list (reviews due highlighted), place, show, release.
import CallVault
import CallVaultCore
import Foundation
import Hummingbird

enum HoldsRoutes {
    static func add(to router: Router<WebContext>, env: WebEnvironment) {
        router.get("/holds") { request, context -> Response in
            let vault = try env.vault(for: context)
            let activeOnly = request.query("all") == nil
            let holds = try await blocking { try Holds(vault: vault).list(activeOnly: activeOnly) }
            if request.wantsJSON {
                return Layout.json(["holds": holds.map { json($0.0, recordings: $0.1) }])
            }
            return Layout.response(listPage(holds, activeOnly: activeOnly, signedIn: try context.user(), now: vault.clock.now(), zone: vault.configuration.timeZone))
        }

        // Placing a hold as the CLI does: by caller, agent, queue and time range, the matching calls shown first.
        router.get("/holds/new") { request, context -> Response in
            let vault = try env.vault(for: context)
            let values = Dictionary(uniqueKeysWithValues: selectionFields.map { ($0, request.query($0) ?? "") })
            let selection = try self.selection(values, vault: vault)
            let found = try await blocking { try Holds(vault: vault).preview(selection) }
            return Layout.response(newPage(values, found: selection.isEmpty ? nil : found, message: nil, signedIn: try context.user(), vault: vault))
        }

        router.post("/holds") { request, context -> Response in
            let vault = try env.vault(for: context)
            var request = request
            let form = Form(try await request.collectBody(upTo: 64 * 1024))
            let values = Dictionary(uniqueKeysWithValues: (selectionFields + ["kind", "case", "review_at", "note"]).map { ($0, form.first($0) ?? "") })
            let fromSelection = form.first("via") == "selection"
            do {
                // One or more `recording` fields, each of which may hold several ids (a pasted list).
                let ids = form.all("recording").flatMap { $0.split(whereSeparator: { $0 == "," || $0.isWhitespace }).map(String.init) }
                for id in ids where !RecordingID.isWellFormed(id) { throw vault.refuseInvalidID(action: "hold place", what: "recording") }
                var selection = try self.selection(values, vault: vault)
                selection.recordingIDs = ids
                let review = try form.text("review_at").map { try PeriodEnd.moment($0, zone: vault.configuration.zone(forTenant: selection.tenant), field: "review_at") }
                // A review date already past would make the hold due at once: a typing mistake, not a decision.
                if let review, review <= vault.clock.now() { throw VaultError(.usage, "The review date is in the past: give a date after today.") }
                let chosen = selection
                guard let kind = form.text("kind").flatMap(HoldKind.init(rawValue:)) else { throw VaultError(.usage, HoldKind.choices, field: "kind") }
                let caseRef = form.text("case") ?? "", note = form.text("note")
                guard !caseRef.isEmpty else { throw VaultError(.usage, "Give the case reference the hold is for.") }
                let placed = try await blocking {
                    try Holds(vault: vault).place(kind: kind, caseRef: caseRef, note: note, reviewAt: review, selection: chosen)
                }
                if request.wantsJSON {
                    return Layout.json(["hold_id": placed.holdID, "recordings": placed.recordings, "metadata_only": placed.metadataOnly], status: .created)
                }
                let extra = placed.metadataOnly > 0 ? " (\(placed.metadataOnly) of them metadata only: their audio was already deleted)" : ""
                await env.sessions.setNotice(token: try context.user().token, "Placed \(kind.withArticle) hold for case \(caseRef) on \(counted(placed.recordings, "call"))\(extra).")
                return Layout.redirect("/holds/\(placed.holdID)")
            } catch let e as VaultError where !fromSelection && !request.wantsJSON && (e.kind == .usage || e.kind == .notFound) {
                // The ids form (of the holds page or of a call's page) again, with what was typed.
                var typed = values
                typed["recording"] = form.all("recording").joined(separator: "\n")
                return Layout.response(idsPage(typed, message: ErrorPage.inWords(e), signedIn: try context.user()), status: .badRequest)
            } catch let e as VaultError where fromSelection && !request.wantsJSON && (e.kind == .usage || e.kind == .notFound) {
                // The form again, with what was typed and why it was refused, in the user's words.
                let selection = (try? self.selection(values, vault: vault)) ?? HoldSelection()
                let found = selection.isEmpty ? nil : try? await blocking { try Holds(vault: vault).preview(selection) }
                return Layout.response(newPage(values, found: found, message: ErrorPage.inWords(e), signedIn: try context.user(), vault: vault), status: .badRequest)
            }
        }

        router.get("/holds/:id") { request, context -> Response in
            let vault = try env.vault(for: context)
            let id = try context.parameters.require("id")
            let (hold, items, waiting) = try await blocking { () -> (HoldView, [(recordingID: String, metadataOnly: Bool)], [(request: String, calls: Int)]) in
                let holds = Holds(vault: vault)
                let (h, i) = try holds.show(id: id)
                return (h, i, h.releasedAt == nil ? try holds.erasuresWaiting(onHold: id) : [])
            }
            if request.wantsJSON {
                var o = json(hold, recordings: items.count)
                o["items"] = items.map { ["recording_id": $0.recordingID, "metadata_only": $0.metadataOnly] }
                o["erasure_pending"] = erasuresWaitingJSON(waiting)
                return Layout.json(o)
            }
            let calls = try await blocking { try Holds(vault: vault).calls(ofHold: id) }
            let signedIn = try context.user()
            let notice = await env.sessions.takeNotice(token: signedIn.token)
            return Layout.response(showPage(hold, items: items, calls: calls, waiting: waiting, notice: notice, signedIn: signedIn, now: vault.clock.now(),
                                            vault: vault))
        }

        // The hold's calls as one signed BagIt bag (issue 21), zipped; the use case checks role and bytes.
        router.get("/holds/:id/evidence.zip") { request, context -> Response in
            let vault = try env.vault(for: context)
            let id = try context.parameters.require("id")
            if request.method == .head {
                // The rights and the hold, as GET would check them; no bag is written, nothing audited.
                try await blocking { try EvidenceExport(vault: vault).check(hold: id) }
                return FolderDownload.headResponse()
            }
            return try await FolderDownload.zip(root: vault.root, temporary: "evidence") { folder in try EvidenceExport(vault: vault).write(hold: id, into: folder).folder }
        }

        router.post("/holds/:id/release") { request, context -> Response in
            let vault = try env.vault(for: context)
            let id = try context.parameters.require("id")
            var request = request
            let form = Form(try await request.collectBody(upTo: 64 * 1024))
            let note = form.text("note") ?? ""
            let confirmed = form.first("confirm_erasure") == "yes"
            try await blocking { try Holds(vault: vault).release(id: id, note: note, confirmErasure: confirmed) }
            if request.wantsJSON { return Layout.json(["hold_id": id, "released": true]) }
            return Layout.redirect("/holds/\(id)")
        }
    }

    static func json(_ h: HoldView, recordings: Int) -> [String: Any] { holdJSON(h, recordings: recordings) }

    /// The query a hold may be placed by, with the CLI's names.
    static let selectionFields = ["tenant", "caller", "agent", "queue", "from", "to"]

    /// The selection of the form's fields; dates are midnight in the tenant's zone (the configured one without a
    /// tenant), and "to" is inclusive, as on the calls page (`PeriodEnd`).
    static func selection(_ v: [String: String], vault: Vault) throws -> HoldSelection {
        var s = HoldSelection()
        func given(_ k: String) -> String? { v[k].map { $0.trimmingCharacters(in: .whitespaces) }.flatMap { $0.isEmpty ? nil : $0 } }
        s.tenant = given("tenant"); s.caller = given("caller"); s.agent = given("agent"); s.queue = given("queue")
        if let t = s.tenant, vault.configuration.tenants[t] == nil { throw VaultError(.usage, "There is no tenant \(t).") }
        let zone = vault.configuration.zone(forTenant: s.tenant)
        s.from = try given("from").map { try PeriodEnd.from.read($0, zone: zone) }
        s.to = try given("to").map { try PeriodEnd.to.read($0, zone: zone) }
        return s
    }

    /// The calls of a selection or a hold: when (on the tenant's clock), whose, which queue.
    static func callsTable(_ calls: [HoldCandidate], id: String, vault: Vault) -> HTML {
        let rows: [HTML] = calls.map { c in
            let zone = vault.configuration.zone(forTenant: c.tenant)
            return """
                <tr><td><a href="/calls/\(c.recordingID)">\(localTime(c.startedAt, zone))</a></td><td>\(c.tenant)</td><td>\(c.agentID)</td><td>\(c.queue ?? "—")</td>
                <td>\(c.audioDeleted ? HTML("<span class=\"badge neutral\">metadata only</span>") : "")</td><td class="mono small">\(c.recordingID)</td></tr>
                """
        }
        return """
            <table id="\(id)"><thead><tr><th>Started</th><th>Tenant</th><th>Agent</th><th>Queue</th><th></th><th>Recording id</th></tr></thead>
            <tbody>\(rows)</tbody></table>
            """
    }

    static func newPage(_ v: [String: String], found: (calls: [HoldCandidate], total: Int)?, message: String?, signedIn: SignedIn, vault: Vault) -> HTML {
        let q = { (k: String) in v[k] ?? "" }
        let tenants: [HTML] = [HTML("<option value=\"\">any</option>")] + vault.configuration.tenants.keys.sorted().map { t in
            t == q("tenant") ? HTML("<option selected>\(t)</option>") : HTML("<option>\(t)</option>")
        }
        let hidden: [HTML] = selectionFields.map { k in HTML("<input type=\"hidden\" name=\"\(k)\" value=\"\(q(k))\">") }
        let kinds: [HTML] = HoldKind.allCases.map(\.rawValue).map { k in HTML("<option value=\"\(k)\"\(q("kind") == k ? HTML(" selected") : "")>\(k)</option>") }
        let preview: HTML = found.map { f in
            f.total == 0 ? HTML("<section class=\"card\" id=\"matches\"><p class=\"muted\">No call matches: nothing to hold.</p></section>") : """
                <section class="card" id="matches"><h2>\(f.total == 1 ? "1 call matches" : "\(f.total) calls match")</h2>
                \(f.total > f.calls.count ? HTML("<p class=\"muted small\">The newest \(f.calls.count) are shown; the hold takes all \(f.total).</p>") : "")
                \(callsTable(f.calls, id: "match-table", vault: vault))
                <h2 class="mt">Hold them</h2>
                <form method="post" action="/holds" class="filters" id="place-hold">\(Layout.csrfField(signedIn))<input type="hidden" name="via" value="selection">\(hidden)
                <label>Kind <select name="kind">\(kinds)</select></label>
                <label>Case reference <input name="case" required value="\(q("case"))"></label>
                <label>Review at <input type="date" name="review_at" value="\(q("review_at"))" min="\(localTime(Timestamp.utc(vault.clock.now().addingTimeInterval(86_400)), vault.configuration.timeZone).prefix(10))"></label>
                <label>Note <input name="note" value="\(q("note"))"></label>
                <div class="actions"><button type="submit" id="place">Place the hold on \(counted(f.total, "call"))</button></div></form></section>
                """
        } ?? ""
        return Layout.page(title: "Place a hold", signedIn: signedIn, active: "/holds", body: """
            <p><a href="/holds">← Holds</a></p><h1>Place a hold</h1>
            \(message.map { HTML("<div class=\"notice bad\" role=\"alert\" id=\"hold-error\">\($0)</div>") } ?? "")
            <section class="card"><p class="muted small">Choose the calls as the command line does: by the caller's number (or the callee's), the agent, the queue and a time range. The matching calls are shown before anything is held.</p>
            <form method="get" action="/holds/new" class="filters" id="hold-selection">
            <label>Tenant <select name="tenant">\(tenants)</select></label>
            <label>Caller or callee <input name="caller" value="\(q("caller"))" inputmode="tel" autocomplete="off"></label>
            <label>Agent <input name="agent" value="\(q("agent"))"></label>
            <label>Queue <input name="queue" value="\(q("queue"))"></label>
            <label>From <input type="date" name="from" value="\(q("from"))"></label>
            <label>To (inclusive) <input type="date" name="to" value="\(q("to"))"></label>
            <div class="actions"><button type="submit" id="show-matches">Show matching calls</button></div></form></section>
            \(preview)
            """)
    }

    /// A hold by recording ids that was refused: the form with what was typed and why, in the user's words.
    static func idsPage(_ typed: [String: String], message: String, signedIn: SignedIn) -> HTML {
        let q = { (k: String) in typed[k] ?? "" }
        let kinds: [HTML] = HoldKind.allCases.map(\.rawValue).map { k in HTML("<option value=\"\(k)\"\(q("kind") == k ? HTML(" selected") : "")>\(k)</option>") }
        return Layout.page(title: "Place a hold", signedIn: signedIn, active: "/holds", body: """
            <p><a href="/holds">← Holds</a></p><h1>Place a hold</h1>
            <div class="notice bad" role="alert" id="hold-error">\(message)</div>
            <section class="card"><form method="post" action="/holds" class="filters" id="place-hold-ids">\(Layout.csrfField(signedIn))
            <label>Kind <select name="kind">\(kinds)</select></label>
            <label>Case reference <input name="case" required value="\(q("case"))"></label>
            <label>Review at <input type="date" name="review_at" value="\(q("review_at"))"></label>
            <label>Note <input name="note" value="\(q("note"))"></label>
            <label class="span-all">Recording ids (one per line) <textarea name="recording" required>\(q("recording"))</textarea></label>
            <div class="actions"><button type="submit">Place hold</button></div></form></section>
            """)
    }

    static func isDue(_ h: HoldView, now: Date) -> Bool {
        h.releasedAt == nil && (h.reviewAt.flatMap(Timestamp.parse).map { $0 <= now } ?? false)
    }

    static func listPage(_ holds: [(HoldView, Int)], activeOnly: Bool, signedIn: SignedIn, now: Date, zone: TimeZone) -> HTML {
        let t = { (utc: String?) in utc.map { localTime($0, zone) } ?? "—" }
        let due = holds.filter { isDue($0.0, now: now) }.count
        let rows: [HTML] = holds.map { h, n in
            let state: HTML = h.releasedAt == nil ? "<span class=\"badge held\">active</span>" : "<span class=\"badge neutral\">released</span>"
            return """
                <tr class="\(isDue(h, now: now) ? "due" : "")"><td><a href="/holds/\(h.id)">\(h.caseRef)</a></td><td>\(h.kind)</td><td>\(state)</td>
                <td>\(n)</td><td>\(t(h.placedAt)) <span class="muted small">by \(h.placedBy)</span></td>
                <td>\(t(h.reviewAt))\(isDue(h, now: now) ? HTML(" <span class=\"badge warn\">review due</span>") : "")</td>
                <td class="mono small">\(h.id)</td></tr>
                """
        }
        return Layout.page(title: "Holds", signedIn: signedIn, active: "/holds", body: """
            <h1>Holds</h1>
            \(due > 0 ? HTML("<div class=\"notice warn\" id=\"reviews-due\">\(due == 1 ? "1 hold is" : "\(due) holds are") due for review.</div>") : "")
            <section class="card"><div class="actions toolbar">
            <span class="muted">\(activeOnly ? "Active holds" : "All holds, released included")</span>
            <a href="\(activeOnly ? "/holds?all=1" : "/holds")">\(activeOnly ? "Show released holds too" : "Only active holds")</a></div>
            <table id="holds-table"><thead><tr><th>Case</th><th>Kind</th><th>State</th><th>Recordings</th><th>Placed (\(zone.identifier))</th><th>Review</th><th>Hold id</th></tr></thead>
            <tbody>\(rows)</tbody></table>\(holds.isEmpty ? HTML("<p class=\"muted\">No holds.</p>") : "")</section>
            <section class="card"><h2>Place a hold</h2>
            <p><a class="button" href="/holds/new" id="new-hold">Place a hold by caller, agent, queue or time…</a></p>
            <details><summary class="muted small">…or by recording ids</summary>
            <form method="post" action="/holds" class="filters" id="place-hold-ids">\(Layout.csrfField(signedIn))
            <label>Kind <select name="kind"><option value="incident">incident</option><option value="legal">legal</option></select></label>
            <label>Case reference <input name="case" required></label>
            <label>Review at <input type="date" name="review_at"></label>
            <label>Note <input name="note"></label>
            <label class="span-all">Recording ids (one per line) <textarea name="recording" required></textarea></label>
            <div class="actions"><button type="submit">Place hold</button></div></form></details></section>
            """)
    }

    static func showPage(_ h: HoldView, items: [(recordingID: String, metadataOnly: Bool)], calls: [HoldCandidate], waiting: [(request: String, calls: Int)] = [],
                         notice: String?, signedIn: SignedIn, now: Date, vault: Vault) -> HTML {
        let zone = vault.configuration.timeZone
        let pendingCalls = waiting.map(\.calls).reduce(0, +)
        let links: [HTML] = waiting.map { w in "<a class=\"mono\" href=\"/requests/\(w.request)\">\(w.request)</a> (\(w.calls)) " }
        let pending: HTML = waiting.isEmpty ? "" : """
            <div class="notice warn" id="erasure-pending">Erasure pending: \(pendingCalls == 1 ? "1 call of this hold waits" : "\(pendingCalls) calls of this hold wait") for an erasure request: \(links). Releasing the hold erases them at once.</div>
            """
        let confirm: HTML = waiting.isEmpty ? "" : """
            <label class="mt"><input type="checkbox" name="confirm_erasure" value="yes" required> Erase the \(counted(pendingCalls, "call")) waiting for an erasure when the hold is released</label>
            """
        let t = { (utc: String?) in utc.map { Layout.localTimeNamed($0, zone: zone) } ?? "—" }
        let release: HTML = h.releasedAt == nil ? """
            <section class="card"><h2>Release</h2><form method="post" action="/holds/\(h.id)/release" id="release-hold" data-confirm="Release this hold? Normal retention applies again, and calls past their expiry are deleted at the next sweep.">
            \(Layout.csrfField(signedIn))<label>Why is it released? <input name="note" required></label>\(confirm)
            <div class="actions mt"><button type="submit" class="danger">Release hold</button></div></form></section>
            """ : ""
        return Layout.page(title: "Hold \(h.caseRef)", signedIn: signedIn, active: "/holds", body: """
            <p><a href="/holds">← Holds</a></p><h1>\(h.kind.rawValue.capitalized) hold · case \(h.caseRef)</h1>
            \(notice.map { HTML("<div class=\"notice ok\" id=\"placed\">\($0)</div>") } ?? "")
            \(isDue(h, now: now) ? HTML("<div class=\"notice warn\">This hold is due for review.</div>") : "")\(pending)
            <section class="card"><dl class="facts">
            <dt>Hold id</dt><dd class="mono">\(h.id)</dd><dt>State</dt><dd id="hold-state">\(h.releasedAt == nil ? "active" : "released")</dd>
            <dt>Placed</dt><dd>\(t(h.placedAt)) by \(h.placedBy)</dd><dt>Review at</dt><dd>\(t(h.reviewAt))</dd>
            <dt>Note</dt><dd>\(h.note ?? "—")</dd>
            \(h.releasedAt.map { HTML("<dt>Released</dt><dd>\(t($0)) by \(h.releasedBy ?? "?"): \(h.releaseNote ?? "")</dd>") } ?? "")
            </dl></section>
            <section class="card"><h2>\(counted(items.count, "call"))</h2><p class="muted small">By start time, on each tenant's clock; "metadata only": the audio was already deleted when the hold was placed.</p>\(callsTable(calls, id: "hold-calls", vault: vault))</section>
            <section class="card"><h2>Evidence</h2><p class="muted small">One BagIt bag of these calls as they were recorded: the original bytes (checked against their ingest hashes), their records, the chain of custody and this hold, signed with the store's evidence key. Anyone can check it with <code>callvault evidence verify</code>, bagit-python and openssl. The export is audited.</p>
            <a class="button secondary" id="export-evidence" href="/holds/\(h.id)/evidence.zip">Export evidence</a></section>
            \(release)
            """)
    }
}
