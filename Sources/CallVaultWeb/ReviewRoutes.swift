// The announcement review list (SPEC §17): calls the check sent to review, for officers to listen to from the
// matched moment and decide. The list is /review; each call's page carries the decision form.
import CallVault
import CallVaultAudio
import CallVaultCore
import Foundation
import Hummingbird

enum ReviewRoutes {
    static func add(to router: Router<WebContext>, env: WebEnvironment) {
        router.get("/review") { request, context -> Response in
            let vault = try env.vault(for: context)
            let tenant = request.uri.queryParameters["tenant"].map(String.init).flatMap { $0.isEmpty ? nil : $0 }
            let (items, more) = try await blocking { try AnnouncementReview(vault: vault).list(tenant: tenant) }
            if request.wantsJSON {
                return Layout.json(["calls": items.map(reviewItemJSON), "more": more])
            }
            let signedIn = try context.user()
            let notice = await env.sessions.takeNotice(token: signedIn.token)
            return Layout.response(listPage(items, more: more, notice: notice, signedIn: signedIn, vault: vault))
        }

        router.post("/calls/:id/review") { request, context -> Response in
            let vault = try env.vault(for: context)
            let id = try context.parameters.require("id")
            var request = request
            let form = Form(try await request.collectBody(upTo: 64 * 1024))
            let decision = form.first("decision") ?? "", note = form.first("note") ?? ""
            do {
                guard let outcome = AnnouncementOutcome(rawValue: decision), outcome != .review else {
                    throw VaultError(.usage, "Choose heard or not heard.")
                }
                try await blocking { _ = try AnnouncementReview(vault: vault).decide(id: id, outcome: outcome, note: note) }
                if request.wantsJSON { return Layout.json(["recording_id": id, "verdict": outcome.rawValue]) }
                await env.sessions.setNotice(token: try context.user().token,
                                             "\(id): \(outcome == .heard ? "heard — coaches may now use it" : "not heard — it stays hidden from coaches")")
                return Layout.redirect("/review")
            } catch let e as VaultError where !request.wantsJSON && e.kind == .usage {
                // The call page again, the decision as typed and why it was refused.
                let typed = CallPage.TypedReview(decision: decision, note: note, message: ErrorPage.inWords(e))
                let signedIn = try context.user()
                let (rec, holds, pending, notes) = try await blocking { () -> (RecordingView, [HoldView], [String], [NoteView]) in
                    let (rec, holds) = try Listing(vault: vault).show(id: id)
                    // As the call page: erasures pending for officers only, notes while the audio is there.
                    return (rec, holds, CallPage.isOfficer(signedIn) ? try vault.catalog.erasuresPending(recordingID: rec.id) : [],
                            rec.audioDeletedAt == nil ? try Notes(vault: vault).list(recordingID: rec.id) : [])
                }
                return Layout.response(CallPage.render(rec: rec, holds: holds, erasuresPending: pending, notes: notes, typedReview: typed,
                                                       signedIn: signedIn, vault: vault), status: .badRequest)
            }
        }
    }

    static func listPage(_ items: [ReviewItem], more: Bool = false, notice: String?, signedIn: SignedIn, vault: Vault) -> HTML {
        let rows: [HTML] = items.map { i in
            let zone = vault.configuration.zone(forTenant: i.tenant)
            let at = Double(i.offsetMs ?? 0) / 1000
            return """
                <tr><td><a href="/calls/\(i.id)#review">\(localTime(i.startedAt, zone))</a></td><td>\(i.tenant)</td><td>\(i.queue ?? "—")</td>
                <td>\(humanDuration(i.durationS))</td><td>\(i.prompt ?? "—")</td><td class="num">\(String(format: "%.1f s", at))</td>
                <td class="num">\(i.score.map { String(format: "%.2f", $0) } ?? "—")</td><td class="num">\(i.matchedShare.map { "\(Int(($0 * 100).rounded())) %" } ?? "—")</td>
                <td><span class="badge warn" title="\(AnnouncementReview.reasonWords(i.reason))">\(["partial": "stops in mid-call", "mismatch": "part does not match"][i.reason] ?? "just under threshold")</span></td></tr>
                """
        }
        return Layout.page(title: "Announcement review", signedIn: signedIn, active: "/review", body: """
            <h1>Announcement review</h1>
            \(notice.map { HTML("<div class=\"notice ok\" id=\"review-result\" role=\"status\">\($0)</div>") } ?? "")
            <section class="card"><p class="muted small">Calls the announcement check could not decide alone: the prompt matched only in part and stops in mid-call (a barge-in, or another sentence sharing its first words), a part of it does not match (another sentence sharing most of its words, or another voice), or it scored just under the threshold. They are stored, hidden from coaches, until you listen from the matched moment and decide. Oldest first.</p>
            <table id="review-table"><thead><tr><th>Call</th><th>Tenant</th><th>Queue</th><th>Duration</th><th>Prompt</th><th>Listen from</th><th>Score</th><th>Matched</th><th>Why</th></tr></thead>
            <tbody>\(rows)</tbody></table>\(more ? HTML("<p class=\"notice warn\" id=\"review-more\">More calls await review than are listed here: the oldest \(items.count) first. Decide them and the next ones show.</p>") : "")\(items.isEmpty ? HTML("<p class=\"muted\" id=\"review-empty\">No call awaits review.</p>") : "")</section>
            """)
    }
}
