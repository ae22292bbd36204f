// The frame of every page: the top bar with the sections the user's role may open, and the signed-in user.
import CallVault
import CallVaultCore
import Foundation
import Hummingbird

enum Layout {
    /// The sections of the bar, with the roles that may open them (the routes check again; this only hides links).
    static let sections: [(path: String, label: String, roles: Set<Role>)] = [
        ("/calls", "Calls", Role.readers),
        ("/holds", "Holds", Role.officers),
        ("/requests", "Requests", Role.officers),
        ("/review", "Review", Role.officers),
        ("/report", "Report", Role.officers),
        ("/audit", "Audit", Role.officers),
        ("/quarantine", "Quarantine", Role.administrators),
    ]

    static func page(title: String, signedIn: SignedIn?, active: String, body: HTML) -> HTML {
        var nav: [HTML] = []
        var userBox: HTML = ""
        if let s = signedIn, let role = s.principal.user?.role {
            nav = sections.filter { $0.roles.contains(role) }.map { section in
                section.path == active ? "<a class=\"active\" href=\"\(section.path)\" aria-current=\"page\">\(section.label)</a>"
                    : "<a href=\"\(section.path)\">\(section.label)</a>"
            }
            userBox = """
                <div class="user"><span class="who">\(s.principal.name)</span><span class="role">\(role.rawValue)</span>
                <form method="post" action="/logout"><input type="hidden" name="csrf" value="\(s.csrf)"><button class="link" type="submit">Log out</button></form></div>
                """
        }
        return """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(title) · callvault</title><link rel="stylesheet" href="/assets/app.css"><link rel="icon" href="/assets/icon.svg" type="image/svg+xml">
            <script src="/assets/app.js" defer></script></head>
            <body><header class="bar"><a class="brand" href="/calls"><img src="/assets/icon.svg" alt="" width="22" height="22">callvault</a>
            <nav>\(nav)</nav>\(userBox)</header>
            <main>\(body)</main>
            <footer>callvault \(CallVaultVersion.current) · recordings are personal data: every view is recorded in the audit log</footer>
            </body></html>
            """
    }

    static func response(_ html: HTML, status: HTTPResponse.Status = .ok) -> Response {
        var r = Response(status: status, body: .init(byteBuffer: ByteBuffer(string: html.text)))
        r.headers[.contentType] = "text/html; charset=utf-8"
        return r
    }

    static func redirect(_ location: String) -> Response {
        var r = Response(status: .seeOther)
        r.headers[.location] = location
        return r
    }

    static func json(_ object: Any, status: HTTPResponse.Status = .ok) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
        var r = Response(status: status, body: .init(byteBuffer: ByteBuffer(bytes: data)))
        r.headers[.contentType] = "application/json"
        return r
    }

    /// A hidden CSRF field for a form.
    static func csrfField(_ s: SignedIn) -> HTML { "<input type=\"hidden\" name=\"csrf\" value=\"\(s.csrf)\">" }

    /// "2026-11-20 10:14 Europe/Brussels": a stored instant on the tenant's wall clock, the zone named.
    static func localTimeNamed(_ utc: String?, zone: TimeZone) -> String {
        guard let utc else { return "—" }
        return localTime(utc, zone) + " " + zone.identifier
    }

    /// "in 29 d 3 h", "expired", "deleted".
    static func expiresIn(_ utc: String, deleted: String?, now: Date) -> String {
        if deleted != nil { return "deleted" }
        guard let d = Timestamp.parse(utc) else { return "?" }
        return d > now ? "in " + humanDuration(d.timeIntervalSince(now)) : "expired"
    }
}
