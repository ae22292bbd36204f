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

        router.post("/holds") { request, context -> Response in
            let vault = try env.vault(for: context)
            var request = request
            let form = Form(try await request.collectBody(upTo: 64 * 1024))
            // One or more `recording` fields, each of which may hold several ids (a pasted list).
            let ids = form.all("recording").flatMap { $0.split(whereSeparator: { $0 == "," || $0.isWhitespace }).map(String.init) }
            for id in ids where !RecordingID.isWellFormed(id) { throw vault.refuseInvalidID(action: "hold place", what: "recording") }
            var selection = HoldSelection()
            selection.recordingIDs = ids
            let review = try form.text("review_at").map { try CallsRoutes.instant($0, name: "review_at", zone: vault.configuration.timeZone) }
            let chosen = selection
            let kind = form.text("kind") ?? "", caseRef = form.text("case") ?? "", note = form.text("note")
            let placed = try await blocking {
                try Holds(vault: vault).place(kind: kind, caseRef: caseRef, note: note, reviewAt: review, selection: chosen)
            }
            if request.wantsJSON {
                return Layout.json(["hold_id": placed.holdID, "recordings": placed.recordings, "metadata_only": placed.metadataOnly], status: .created)
            }
            return Layout.redirect("/holds/\(placed.holdID)")
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
            return Layout.response(showPage(hold, items: items, waiting: waiting, signedIn: try context.user(), now: vault.clock.now(),
                                            zone: vault.configuration.timeZone))
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
            <form method="post" action="/holds" class="filters" id="place-hold">\(Layout.csrfField(signedIn))
            <label>Kind <select name="kind"><option value="incident">incident</option><option value="legal">legal</option></select></label>
            <label>Case reference <input name="case" required></label>
            <label>Review at <input type="date" name="review_at"></label>
            <label>Note <input name="note"></label>
            <label class="span-all">Recording ids (one per line) <textarea name="recording" required></textarea></label>
            <div class="actions"><button type="submit">Place hold</button></div></form></section>
            """)
    }

    static func showPage(_ h: HoldView, items: [(recordingID: String, metadataOnly: Bool)], waiting: [(request: String, calls: Int)] = [],
                         signedIn: SignedIn, now: Date, zone: TimeZone) -> HTML {
        let pendingCalls = waiting.map(\.calls).reduce(0, +)
        let links: [HTML] = waiting.map { w in "<a class=\"mono\" href=\"/requests/\(w.request)\">\(w.request)</a> (\(w.calls)) " }
        let pending: HTML = waiting.isEmpty ? "" : """
            <div class="notice warn" id="erasure-pending">Erasure pending: \(pendingCalls == 1 ? "1 call of this hold waits" : "\(pendingCalls) calls of this hold wait") for an erasure request: \(links). Releasing the hold erases them at once.</div>
            """
        let confirm: HTML = waiting.isEmpty ? "" : """
            <label class="mt"><input type="checkbox" name="confirm_erasure" value="yes" required> Erase the \(counted(pendingCalls, "call")) waiting for an erasure when the hold is released</label>
            """
        let t = { (utc: String?) in utc.map { Layout.localTimeNamed($0, zone: zone) } ?? "—" }
        let list: [HTML] = items.map { i in
            "<li><a class=\"mono\" href=\"/calls/\(i.recordingID)\">\(i.recordingID)</a>\(i.metadataOnly ? HTML(" <span class=\"muted small\">metadata only: the audio was already deleted</span>") : "")</li>"
        }
        let release: HTML = h.releasedAt == nil ? """
            <section class="card"><h2>Release</h2><form method="post" action="/holds/\(h.id)/release" id="release-hold" data-confirm="Release this hold? Normal retention applies again, and calls past their expiry are deleted at the next sweep.">
            \(Layout.csrfField(signedIn))<label>Why is it released? <input name="note" required></label>\(confirm)
            <div class="actions mt"><button type="submit" class="danger">Release hold</button></div></form></section>
            """ : ""
        return Layout.page(title: "Hold \(h.caseRef)", signedIn: signedIn, active: "/holds", body: """
            <p><a href="/holds">← Holds</a></p><h1>\(h.kind.capitalized) hold · case \(h.caseRef)</h1>
            \(isDue(h, now: now) ? HTML("<div class=\"notice warn\">This hold is due for review.</div>") : "")\(pending)
            <section class="card"><dl class="facts">
            <dt>Hold id</dt><dd class="mono">\(h.id)</dd><dt>State</dt><dd id="hold-state">\(h.releasedAt == nil ? "active" : "released")</dd>
            <dt>Placed</dt><dd>\(t(h.placedAt)) by \(h.placedBy)</dd><dt>Review at</dt><dd>\(t(h.reviewAt))</dd>
            <dt>Note</dt><dd>\(h.note ?? "—")</dd>
            \(h.releasedAt.map { HTML("<dt>Released</dt><dd>\(t($0)) by \(h.releasedBy ?? "?"): \(h.releaseNote ?? "")</dd>") } ?? "")
            </dl></section>
            <section class="card"><h2>\(counted(items.count, "recording"))</h2><ul>\(list)</ul></section>
            <section class="card"><h2>Evidence</h2><p class="muted small">One BagIt bag of these calls as they were recorded: the original bytes (checked against their ingest hashes), their records, the chain of custody and this hold, signed with the store's evidence key. Anyone can check it with <code>callvault evidence verify</code>, bagit-python and openssl. The export is audited.</p>
            <a class="button secondary" id="export-evidence" href="/holds/\(h.id)/evidence.zip">Export evidence</a></section>
            \(release)
            """)
    }
}
