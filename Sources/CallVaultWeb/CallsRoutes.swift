// The coach's pages: the listing (HTML, JSON, CSV) and one call with its player and waveform.
import CallVault
import CallVaultCore
import Foundation
import HTTPTypes
import Hummingbird

enum CallsRoutes {
    static let filterNames = ListFilters.names.filter { $0 != "cursor" }

    static func add(to router: Router<WebContext>, env: WebEnvironment) {
        router.get("/calls") { request, context -> Response in
            let vault = try env.vault(for: context)
            let filters = try self.filters(request, vault: vault)
            let (page, next) = try await blocking { try Listing(vault: vault).list(filters) }
            if request.wantsJSON {
                return Layout.json(["recordings": page.map(listJSON), "next_cursor": orNull(next)])
            }
            let tenants = try await blocking { try Listing(vault: vault).filterTenants() }
            return Layout.response(listPage(request, context: context, vault: vault, page: page, next: next, tenants: tenants))
        }

        router.get("/calls.csv") { request, context -> Response in
            let vault = try env.vault(for: context)
            var filters = try self.filters(request, vault: vault)
            filters.limit = 1000
            // The first page before the status: a refusal or a bad filter is an error page, not a broken CSV.
            let firstPage = filters
            let (first, firstNext) = request.method == .head ? ([], nil) : try await blocking { try Listing(vault: vault).list(firstPage) }
            // The whole filtered set, streamed page after page (each page one audited `list`): memory stays that
            // of one page whatever the set, and nothing is cut.
            let configuration = vault.configuration
            let zone: @Sendable (RecordingView) -> TimeZone = { configuration.zone(forTenant: $0.tenant) }
            let body = ResponseBody { writer in
                try await writer.write(ByteBuffer(string: listCSVHeader + listCSVRows(first, zone: zone)))
                var next = firstNext
                while let cursor = next {
                    var f = firstPage
                    f.cursor = cursor
                    let pageFilters = f
                    let (page, more) = try await blocking { try Listing(vault: vault).list(pageFilters) }
                    try await writer.write(ByteBuffer(string: listCSVRows(page, zone: zone)))
                    next = more
                }
                try await writer.finish(nil)
            }
            var r = Response(status: .ok, body: request.method == .head ? .init() : body)
            r.headers[.contentType] = "text/csv; charset=utf-8"
            r.headers[.contentDisposition] = "attachment; filename=\"calls.csv\""
            return r
        }

        router.get("/calls/:id") { request, context -> Response in
            let vault = try env.vault(for: context)
            let id = try context.parameters.require("id")
            let (rec, holds) = try await blocking { try Listing(vault: vault).show(id: id) }
            if request.wantsJSON {
                return Layout.json(showJSON(rec, holds: holds))
            }
            let signedIn = try context.user()
            // Officers see which requests wait to erase the call (coaches never learn of a request).
            let pending = CallPage.isOfficer(signedIn) ? try await blocking { try vault.catalog.erasuresPending(recordingID: rec.id) } : []
            let notes = rec.audioDeletedAt == nil ? try await blocking { try Notes(vault: vault).list(recordingID: rec.id) } : []
            return Layout.response(CallPage.render(rec: rec, holds: holds, erasuresPending: pending, notes: notes, signedIn: signedIn, vault: vault))
        }

        // A note at a moment of the call (CSRF checked by the login gate); back to the call, at the note.
        router.post("/calls/:id/notes") { request, context -> Response in
            let vault = try env.vault(for: context)
            let id = try context.parameters.require("id")
            var request = request
            let form = Form(try await request.collectBody(upTo: 64 * 1024))
            let text = form.first("text") ?? "", shared = form.first("shared") == "1"
            do {
                guard let at = form.text("at").flatMap({ Double($0.replacingOccurrences(of: ",", with: ".")) }) else {
                    throw VaultError(.usage, "Give the note's moment in seconds (for example 12.5).")
                }
                let note = try await blocking { try Notes(vault: vault).add(recordingID: id, atSeconds: at, text: text, shared: shared) }
                if request.wantsJSON { return Layout.json(notesJSON([note]), status: .created) }
                return Layout.redirect("/calls/\(id)#note-\(note.id)")
            } catch let e as VaultError where !request.wantsJSON && e.kind == .usage {
                // The call page again, the note as typed and why it was refused (a call the user may not see was
                // refused before: not found).
                let typed = CallPage.TypedNote(at: form.first("at") ?? "", text: text, shared: shared, message: ErrorPage.inWords(e))
                let signedIn = try context.user()
                let (rec, holds, pending, notes) = try await blocking { () -> (RecordingView, [HoldView], [String], [NoteView]) in
                    let (rec, holds) = try Listing(vault: vault).show(id: id)
                    return (rec, holds, CallPage.isOfficer(signedIn) ? try vault.catalog.erasuresPending(recordingID: rec.id) : [],
                            try Notes(vault: vault).list(recordingID: rec.id))
                }
                return Layout.response(CallPage.render(rec: rec, holds: holds, erasuresPending: pending, notes: notes, typedNote: typed,
                                                       signedIn: signedIn, vault: vault), status: .badRequest)
            }
        }

        router.post("/notes/:id/delete") { request, context -> Response in
            let vault = try env.vault(for: context)
            let id = try context.parameters.require("id")
            let recording = try await blocking { try Notes(vault: vault).delete(noteID: id) }
            return Layout.redirect("/calls/\(recording)#notes")
        }

        router.get("/calls/:id/waveform.svg") { _, context -> Response in
            let vault = try env.vault(for: context)
            let id = try context.parameters.require("id")
            let peaks = try await blocking { try Playback(vault: vault).waveform(id: id) }
            var r = Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: peaks.svg(width: 1000, height: 160))))
            r.headers[.contentType] = "image/svg+xml"
            // Derived from the audio: after logout, a restriction or an erasure the browser must not keep it.
            r.headers[.cacheControl] = "private, no-store"
            return r
        }

        router.get("/calls/:id/audio") { request, context -> Response in
            try await AudioResponse.serve(request, context: context, env: env, purpose: .play)
        }
        router.get("/calls/:id/download") { request, context -> Response in
            try await AudioResponse.serve(request, context: context, env: env, purpose: .download)
        }
    }

    /// The listing filters from the query string, by the names the CLI's options have (`ListFilters.parse`).
    static func filters(_ request: Request, vault: Vault) throws -> ListFilters {
        try ListFilters.parse({ request.query($0) }, configuration: vault.configuration)
    }

    static func expiringOptions(selected: String) -> [HTML] {
        [("", "any time"), ("P1D", "1 day"), ("P3D", "3 days"), ("P7D", "7 days"), ("P14D", "14 days")].map { value, label in
            HTML("<option value=\"\(value)\"\(value == selected ? HTML(" selected") : "")>\(label)</option>")
        }
    }

    static func listPage(_ request: Request, context: WebContext, vault: Vault, page: [RecordingView], next: String?, tenants: [String]) -> HTML {
        let signedIn = context.signedIn!
        let isCoach = signedIn.principal.user?.role == .coach
        let now = vault.clock.now()
        let q = { (name: String) in request.query(name) ?? "" }
        let tenantOptions: [HTML] = [HTML("<option value=\"\">all</option>")] + tenants.map { t in
            t == q("tenant") ? HTML("<option selected>\(t)</option>") : HTML("<option>\(t)</option>")
        }
        let directionOptions: [HTML] = ([""] + Direction.allCases.map(\.rawValue)).map { d in
            HTML("<option value=\"\(d)\"\(d == q("direction") ? HTML(" selected") : "")>\(d.isEmpty ? "any" : d)</option>")
        }
        let rows: [HTML] = page.map { r in
            let zone = vault.configuration.zone(forTenant: r.tenant)
            let expires = Layout.expiresIn(r.audioExpiresAt, deleted: r.audioDeletedAt, now: now)
            let soon = Timestamp.parse(r.audioExpiresAt).map { $0.timeIntervalSince(now) < 3 * 86_400 } ?? false
            return """
                <tr><td><a href="/calls/\(r.id)">\(localTime(r.startedAt, zone))</a><div class="muted small">\(zone.identifier)</div></td>
                <td>\(r.tenant)</td><td>\(r.agentID)</td><td>\(r.team ?? "—")</td><td>\(r.queue ?? "—")</td>
                <td>\(r.direction)</td><td>\(humanDuration(r.durationS))</td>
                <td>\(CallPage.announcementBadge(r.announcementVerified, flag: r.announcementFlag))</td>
                <td class="\(soon ? "soon" : "")">\(expires)</td>
                \(isCoach ? "" : HTML("<td>\(r.onHold == true ? HTML("<span class=\"badge held\">held</span>") : "")</td>"))
                <td class="mono"><a href="/calls/\(r.id)">\(r.id)</a></td></tr>
                """
        }
        let keep = filterNames.map { ($0, request.query($0)) }
        let nextLink: HTML = next.map { HTML("<a class=\"button secondary\" id=\"next-page\" href=\"/calls\(HTML.query(keep + [("cursor", $0)]))\">Next page →</a>") } ?? ""
        let firstLink: HTML = request.query("cursor") != nil ? HTML("<a href=\"/calls\(HTML.query(keep))\">← First page</a>") : HTML("<span></span>")
        return Layout.page(title: "Calls", signedIn: signedIn, active: "/calls", body: """
            <h1>Calls</h1>
            <section class="card"><form method="get" action="/calls" class="filters" id="filters">
            <label>Tenant <select name="tenant">\(tenantOptions)</select></label>
            <label>Team <input name="team" value="\(q("team"))"></label>
            <label>Agent <input name="agent" value="\(q("agent"))"></label>
            <label>Queue <input name="queue" value="\(q("queue"))"></label>
            <label>From <input type="date" name="from" value="\(q("from"))"></label>
            <label>To (inclusive) <input type="date" name="to" value="\(q("to"))"></label>
            <label>Direction <select name="direction">\(directionOptions)</select></label>
            <label>Min duration (s) <input name="min_duration" inputmode="numeric" value="\(q("min_duration"))"></label>
            <label>Max duration (s) <input name="max_duration" inputmode="numeric" value="\(q("max_duration"))"></label>
            <label>Audio expiring within <select name="expiring_within">\(expiringOptions(selected: q("expiring_within")))</select></label>
            <div class="actions"><button type="submit" id="apply">Apply</button><a href="/calls">Clear</a></div>
            </form></section>
            <section class="card">
            <div class="actions toolbar"><span class="muted">\(counted(page.count, "call")) on this page\(isCoach ? " · calls you may use for coaching: in your scope, announced, not restricted, audio kept" : "")</span>
            <a class="button secondary" id="csv" href="/calls.csv\(HTML.query(keep))">Download CSV</a></div>
            <table id="calls"><thead><tr><th>Started</th><th>Tenant</th><th>Agent</th><th>Team</th><th>Queue</th><th>Direction</th><th>Duration</th><th>Announcement</th><th>Audio expires</th>\(isCoach ? "" : HTML("<th>Hold</th>"))<th>Recording id</th></tr></thead>
            <tbody>\(rows)</tbody></table>
            \(page.isEmpty ? HTML("<p class=\"muted\">No calls match these filters.</p>") : "")
            <div class="pager">\(firstLink)\(nextLink)</div></section>
            """)
    }
}

