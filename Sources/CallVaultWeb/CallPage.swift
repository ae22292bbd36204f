// GET /calls/{id}: the call's facts, the player with its waveform, the announcement, the expiry; holds for officers.
import CallVault
import CallVaultCore
import Foundation

enum CallPage {
    static func announcementBadge(_ verified: AnnouncementVerdict, flag: Bool) -> HTML {
        switch (verified, flag) {
        case (.heard, _): return "<span class=\"badge ok\">heard</span>"
        case (.notHeard, _): return "<span class=\"badge bad\">not heard</span>"
        case (.review, _): return "<span class=\"badge warn\" title=\"the check matched only in part or just under its threshold: an officer listens and decides\">to review</span>"
        // The recorder says the prompt played; the audio was not checked (verification off for the tenant).
        case (_, true): return "<span class=\"badge neutral\" title=\"the recorder says the prompt played; the audio was not checked\">not checked</span>"
        default: return "<span class=\"badge bad\">not flagged</span>"
        }
    }

    /// A new token per page view, in the audio URL: the playback the page starts is audited once, however many
    /// range requests follow, and a second view played is a second event. `preload="none"` keeps the browser
    /// from fetching anything before the user presses play, so opening the page is not a playback.
    static func viewToken() -> String {
        var g = SystemRandomNumberGenerator()
        return (0..<8).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &g)) }.joined()
    }

    static func isOfficer(_ signedIn: SignedIn) -> Bool {
        signedIn.principal.user?.role.isOfficer ?? false
    }

    /// `erasuresPending`: the requests whose erasure of the call waits (officers only).
    static func clock(_ ms: Int64) -> String { Notes.clock(ms) }

    /// The notes beside the player: each a button that plays from its moment, and a form to add one.
    /// A note the server refused: what was typed, and why.
    struct TypedNote: Sendable {
        var at: String
        var text: String
        var shared: Bool
        var message: String
    }

    /// A review decision that was refused, as typed, and why.
    struct TypedReview {
        var decision: String
        var note: String
        var message: String
    }

    /// The card of a call the announcement check sent to review (officers): play from the matched moment, then
    /// decide heard or not heard with a note.
    static func reviewCard(_ r: RecordingView, typed: TypedReview?, signedIn: SignedIn) -> HTML {
        let at = Double(r.announcementOffsetMs ?? 0) / 1000
        let why = AnnouncementReview.reasonWords(r.announcementReviewReason)
        let checked = { (d: String) in typed?.decision == d ? HTML(" checked") : "" }
        return """
            <section class="card" id="review"><h2>Announcement review</h2>
            <p class="small">The check matched \(r.announcementMatch ?? "a prompt")\(r.announcementShare.map { HTML(" (\(Int(($0 * 100).rounded())) % of it)") } ?? "") with score \(String(format: "%.2f", r.announcementScore ?? 0)), but \(why). The call stays hidden from coaches until you decide.</p>
            <p><button type="button" class="secondary" id="review-play" data-seek="\(String(format: "%.3f", at))">Play from \(String(format: "%.1f", at)) s</button></p>
            \(typed.map { HTML("<p class=\"notice bad\" id=\"review-error\" role=\"alert\">\($0.message)</p>") } ?? "")
            <form method="post" action="/calls/\(r.id)/review" id="review-form">\(Layout.csrfField(signedIn))
            <fieldset class="choices"><legend>Did the caller hear the announcement?</legend>
            <label class="inline"><input type="radio" name="decision" value="heard" required\(checked("heard"))> Heard</label>
            <label class="inline"><input type="radio" name="decision" value="not_heard"\(checked("not_heard"))> Not heard</label></fieldset>
            <label>Note <textarea name="note" rows="2" maxlength="2000" required placeholder="What you heard">\(typed?.note ?? "")</textarea></label>
            <div class="actions"><button type="submit">Record decision</button></div></form></section>
            """
    }

    static func notesCard(_ r: RecordingView, notes: [NoteView], typed: TypedNote? = nil, signedIn: SignedIn) -> HTML {
        let items: [HTML] = notes.map { n in
            let delete: HTML = n.deletable ? HTML("""
                <form method="post" action="/notes/\(n.id)/delete" data-confirm="Delete this note?">\(Layout.csrfField(signedIn))<button type="submit" class="link-button">Delete</button></form>
                """) : ""
            return HTML("""
                <li id="note-\(n.id)"><button type="button" class="time" data-seek="\(String(format: "%.3f", Double(n.atMs) / 1000))" title="Play from here">\(clock(n.atMs))</button>
                <span class="text">\(n.text)</span><span class="muted small">\(n.author)\(n.shared ? " · shared" : " · only you")</span>\(delete)</li>
                """)
        }
        return HTML("""
            <section class="card" id="notes"><h2>Notes</h2>
            \(notes.isEmpty ? HTML("<p class=\"muted\">No notes yet. A note marks a moment of the call; click its time to play from there.</p>") : HTML("<ol class=\"notes\" id=\"notes-list\">\(items)</ol>"))
            \(typed.map { HTML("<div class=\"notice bad\" role=\"alert\" id=\"note-error\">\($0.message)</div>") } ?? "")
            <form method="post" action="/calls/\(r.id)/notes" class="note-form" id="add-note">\(Layout.csrfField(signedIn))
            <div class="actions"><label>At (seconds) <input name="at" id="note-at" inputmode="decimal" required value="\(typed?.at ?? "0")"></label>
            <button type="button" class="secondary" id="note-now">Use the player's moment</button></div>
            <label>Note <textarea name="text" id="note-text" maxlength="\(Notes.maximumLength)" required>\(typed?.text ?? "")</textarea></label>
            <label class="inline"><input type="checkbox" name="shared" value="1"\(HTML(stringLiteral: typed?.shared == true ? " checked" : ""))> Share with everyone who may see this call</label>
            <div class="actions"><button type="submit" id="add-note-button">Add note</button></div></form></section>
            """)
    }

    /// The lanes of the waveform, named by who speaks on each channel (`[tenants.X] channels`), or by number
    /// when the tenant does not say.
    static func laneNames(_ r: RecordingView, vault: Vault) -> [String] {
        let parties = vault.configuration.tenants[r.tenant]?.channels ?? []
        let lanes = min(max(r.channels, 1), 16)
        return (0..<lanes).map { i in i < parties.count ? parties[i].prefix(1).uppercased() + parties[i].dropFirst() : "Channel \(i + 1)" }
    }

    /// Per lane of a multi-channel call, mute and solo (the page's script routes each channel through a gain).
    static func laneControls(_ names: [String]) -> HTML {
        guard names.count > 1 else { return "" }
        return HTML("""
            <div class="lane-controls" id="lanes" role="group" aria-label="Lanes">\(HTML(stringLiteral: names.enumerated().map { i, name in
                HTML("""
                    <span class="lane" data-lane="\(i)" data-gain="1"><span class="lane-label">\(name)</span>
                    <button type="button" class="secondary small" data-mute="\(i)" aria-pressed="false" aria-label="Mute \(name)">Mute</button>
                    <button type="button" class="secondary small" data-solo="\(i)" aria-pressed="false" aria-label="Solo \(name)">Solo</button></span>
                    """).text
            }.joined()))</div>
            """)
    }

    static func render(rec r: RecordingView, holds: [HoldView], erasuresPending: [String] = [], notes: [NoteView] = [], typedNote: TypedNote? = nil,
                       typedReview: TypedReview? = nil, signedIn: SignedIn, vault: Vault) -> HTML {
        let now = vault.clock.now()
        let zone = vault.configuration.zone(forTenant: r.tenant)
        let isOfficer = Self.isOfficer(signedIn)
        let mayDownload = isOfficer || vault.configuration.web.coachDownload
        let audioGone = r.audioDeletedAt != nil
        let expires = Layout.expiresIn(r.audioExpiresAt, deleted: r.audioDeletedAt, now: now)
        let announcement: HTML = {
            var parts: [HTML] = [announcementBadge(r.announcementVerified, flag: r.announcementFlag)]
            parts.append(HTML(" <span class=\"muted\">sidecar flag: \(r.announcementFlag ? "played" : "not played")</span>"))
            if let at = r.announcementOffsetMs { parts.append(HTML(" · \(r.announcementVerified == .review ? "matched" : "heard") at \(String(format: "%.1f", Double(at) / 1000)) s")) }
            if let share = r.announcementShare { parts.append(HTML(" · \(Int((share * 100).rounded())) % of the prompt")) }
            if let score = r.announcementScore { parts.append(HTML(" · score \(String(format: "%.2f", score))")) }
            if let d = r.announcementReview {
                parts.append(HTML("<br><span class=\"small\" id=\"review-decision\">Reviewed by \(d.by) on \(localTime(d.at, zone))\(d.note.map { HTML(": “\($0)”") } ?? "")</span>"))
            }
            return HTML(stringLiteral: parts.map(\.text).joined())
        }()
        let lanes = laneNames(r, vault: vault)
        let onHold = r.holdMusic?.segments ?? []
        let holdMusic: HTML = {
            guard let m = r.holdMusic else { return "<span class=\"muted\">not checked</span>" }
            guard !onHold.isEmpty else { return HTML("<span class=\"badge ok\">none heard</span> <span class=\"muted small\">policy \(m.policy)</span>") }
            let stretches = onHold.map { s in
                let span = "\(clock(Int64(s.startS * 1000)))–\(clock(Int64(s.endS * 1000)))"
                // A button only while there is audio to play from it.
                let time: HTML = audioGone ? HTML("<span class=\"mono small\">\(span)</span>")
                    : HTML("<button type=\"button\" class=\"time\" data-seek=\"\(String(format: "%.3f", s.startS))\" title=\"Play from here\">\(span)</button>")
                return HTML("<li>\(time) <span class=\"muted small\">\(s.track)</span></li>").text
            }.joined()
            return HTML("""
                <span class="badge warn">\(String(format: "%.0f", m.seconds)) s on hold</span> \(m.redacted ? HTML("<span class=\"muted small\">silenced before storing</span>") : HTML("<span class=\"muted small\">recorded as received</span>"))
                <ul class="stretches">\(HTML(stringLiteral: stretches))</ul>\(m.receivedSHA256.map { HTML("<span class=\"muted small\">received SHA-256</span> <span class=\"mono small\">\($0)</span>") } ?? "")
                """)
        }()
        let player: HTML = audioGone
            ? "<p class=\"notice warn\">The audio of this call was deleted at the end of its retention (\(r.audioDeletedAt ?? "")). Its metadata is kept until \(Layout.localTimeNamed(r.metadataExpiresAt, zone: zone)).</p>"
            : """
              <div class="player">
              <div class="wave" id="wave" tabindex="0" role="slider" aria-label="Position in the call: click or drag to seek; space plays or pauses, arrows skip 5 s, J and L skip 10 s, [ and ] change the speed"
               aria-valuemin="0" aria-valuemax="\(Int(r.durationS.rounded()))" aria-valuenow="0" data-duration="\(String(format: "%.3f", r.durationS))">
              <img id="waveform" class="waveform" src="/calls/\(r.id)/waveform.svg" alt="Waveform of the call, one lane per channel: \(lanes.joined(separator: ", "))" draggable="false">
              \(lanes.count > 1 ? HTML("<div class=\"lane-names\" aria-hidden=\"true\">\(HTML(stringLiteral: lanes.map { HTML("<span>\($0)</span>").text }.joined()))</div>") : "")
              \(r.announcementOffsetMs.map { HTML("<span class=\"mark announcement\" data-at=\"\(String(format: "%.3f", Double($0) / 1000))\" title=\"announcement heard\"></span>") } ?? "")
              \(HTML(stringLiteral: onHold.map { HTML("<span class=\"band onhold\" data-at=\"\(String(format: "%.3f", $0.startS))\" data-end=\"\(String(format: "%.3f", $0.endS))\" title=\"on hold\"></span>").text }.joined()))
              \(HTML(stringLiteral: notes.map { HTML("<span class=\"mark note\" data-at=\"\(String(format: "%.3f", Double($0.atMs) / 1000))\"></span>").text }.joined()))
              <span class="playhead" id="playhead"></span></div>
              <div class="axis" id="axis">\(HTML(stringLiteral: (0...4).map { k in
                  let t = r.durationS * Double(k) / 4
                  return HTML("<span data-at=\"\(String(format: "%.3f", t))\">\(clock(Int64((t * 1000).rounded())))</span>").text
              }.joined()))</div>
              <p class="small muted legend"><span><i class="swatch announcement"></i>announcement</span><span><i class="swatch note"></i>notes</span>\(onHold.isEmpty ? "" : HTML("<span><i class=\"swatch onhold\"></i>on hold</span>"))<span id="clock">0:00.0 / \(clock(Int64((r.durationS * 1000).rounded())))</span></p>
              <audio id="player" controls preload="none" src="/calls/\(r.id)/audio?view=\(Self.viewToken())"></audio>
              <div class="actions"><button type="button" class="secondary" data-skip="-10" id="back10">−10 s</button>
              <button type="button" class="secondary" data-skip="10" id="fwd10">+10 s</button>
              <label class="inline">Speed <select id="speed">
              <option value="0.75">0.75×</option><option value="1" selected>1×</option><option value="1.25">1.25×</option><option value="1.5">1.5×</option><option value="2">2×</option></select></label>
              \(mayDownload ? HTML("<a class=\"button secondary\" id=\"download\" href=\"/calls/\(r.id)/download\">Download audio</a>") : "")
              </div>\(laneControls(lanes))</div>
              """
        let holdsCard: HTML = isOfficer ? """
            <section class="card" id="holds"><h2>Holds</h2>
            \(HTML(stringLiteral: erasuresPending.map { id in
                HTML("<p id=\"erasure-pending\"><span class=\"badge warn\">erasure pending (request <a href=\"/requests/\(id)\">\(id)</a>)</span> <span class=\"muted small\">erased when its last hold is released</span></p>").text
            }.joined()))
            \(holds.isEmpty ? HTML("<p class=\"muted\">No active hold: normal retention applies.</p>") : HTML(stringLiteral: holds.map { h in
                HTML("<p><span class=\"badge held\">\(h.kind)</span> <a href=\"/holds/\(h.id)\">case \(h.caseRef)</a> <span class=\"muted small\">placed \(localTime(h.placedAt, zone)) by \(h.placedBy)\(h.reviewAt.map { " · review " + localTime($0, zone) } ?? "")</span></p>").text
            }.joined()))
            <form method="post" action="/holds" class="filters" id="place-hold">\(Layout.csrfField(signedIn))
            <input type="hidden" name="recording" value="\(r.id)">
            <label>Kind <select name="kind"><option value="incident">incident</option><option value="legal">legal</option></select></label>
            <label>Case <input name="case" required></label>
            <label>Review at <input type="date" name="review_at"></label>
            <label>Note <input name="note"></label>
            <div class="actions"><button type="submit">Place hold</button></div></form></section>
            """ : ""
        return Layout.page(title: "Call \(r.callID)", signedIn: signedIn, active: "/calls", body: """
            <p><a href="/calls">← Calls</a></p>
            <h1>Call of \(localTime(r.startedAt, zone)) <span class="muted small">\(zone.identifier)</span></h1>
            <div class="grid2"><div>
            <section class="card"><h2>Recording</h2>\(player)</section>
            \(isOfficer && r.announcementVerified == .review && !audioGone
                ? reviewCard(r, typed: typedReview, signedIn: signedIn) : "")
            \(audioGone ? "" : notesCard(r, notes: notes, typed: typedNote, signedIn: signedIn))
            \(holdsCard)
            </div><div>
            <section class="card"><h2>Call</h2><dl class="facts">
            <dt>Recording id</dt><dd class="mono">\(r.id)</dd>
            <dt>Call id</dt><dd class="mono">\(r.callID)</dd>
            <dt>Tenant</dt><dd>\(r.tenant)</dd>
            <dt>Started</dt><dd>\(Layout.localTimeNamed(r.startedAt, zone: zone))</dd>
            <dt>Duration</dt><dd>\(humanDuration(r.durationS))</dd>
            <dt>Direction</dt><dd>\(r.direction)</dd>
            <dt>Agent</dt><dd>\(r.agentID)</dd>
            <dt>Team</dt><dd>\(r.team ?? "—")</dd>
            <dt>Queue</dt><dd>\(r.queue ?? "—")</dd>
            \(r.parties.map { HTML("<dt>Caller</dt><dd>\($0.caller ?? "—")</dd><dt>Callee</dt><dd>\($0.callee ?? "—")</dd>") } ?? "")
            <dt>Announcement</dt><dd id="announcement">\(announcement)</dd>
            <dt>Hold music</dt><dd id="hold-music">\(holdMusic)</dd>
            <dt>Audio expires</dt><dd id="expires">\(expires) <span class="muted small">(\(Layout.localTimeNamed(r.audioExpiresAt, zone: zone)))</span></dd>
            <dt>Metadata expires</dt><dd>\(Layout.localTimeNamed(r.metadataExpiresAt, zone: zone))</dd>
            <dt>Format</dt><dd>\(r.format), \(r.sampleRate) Hz, \(counted(r.channels, "channel"))</dd>
            \(r.sha256.map { HTML("<dt>SHA-256</dt><dd class=\"mono small\">\($0)</dd>") } ?? "")
            \(r.onHold == true ? HTML("<dt>Hold</dt><dd><span class=\"badge held\">held</span></dd>") : "")
            </dl></section></div></div>
            """)
    }
}
