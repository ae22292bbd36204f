// GET/POST /login and POST /logout. The password check, the lockout and their audit live in `Accounts`.
import CallVault
import CallVaultCore
import Foundation
import HTTPTypes
import Hummingbird

enum LoginRoutes {
    static func add(to router: Router<WebContext>, env: WebEnvironment) {
        router.get("/login") { request, _ -> Response in
            // Why the user is here, said in words: logged out, or a session that ended on its own.
            let said: (text: String, kind: String)? = request.query("bye") != nil ? ("You are logged out.", "ok")
                : request.query("expired") != nil ? ("Your session ended after \(Self.idle(env)) without activity. Log in again to go on.", "warn") : nil
            return Layout.response(form(next: safeNext(request.query("next")), message: said?.text, kind: said?.kind ?? "bad"))
        }

        router.post("/login") { request, context -> Response in
            var request = request
            let form = Form(try await request.collectBody(upTo: 16 * 1024))
            let next = safeNext(form.first("next"))
            let name = form.first("user") ?? "", password = form.first("password") ?? ""
            let vault = env.vault, peer = context.peer
            let result = try await blocking { try Accounts.login(vault: vault, user: name, password: password, from: peer) }
            switch result {
            case .ok(let principal, let version):
                // A new session id at every login: a cookie planted before the login is worth nothing.
                if let old = request.cookies[WebEnvironment.cookieName]?.value { await env.sessions.end(token: old) }
                let (token, _) = await env.sessions.create(user: principal.name, uptime: vault.clock.uptime(), passwordVersion: version)
                var r = Layout.redirect(next)
                r.headers.append(HTTPField(name: .setCookie, value: env.sessionCookie(token)))
                return r
            case .refused:
                return Layout.response(self.form(next: next, message: "Wrong user name or password."), status: .unauthorized)
            case .lockedOut(let until):
                // `until` is on the wall clock of the check; the lockout's length bounds what is shown, whatever the clock did.
                let left = min(Accounts.lockoutPeriod, max(0, until.timeIntervalSince(vault.clock.now())))
                let minutes = max(1, Int((left / 60).rounded(.up)))
                return Layout.response(self.form(next: next, message: "Too many failed attempts for this user: try again in \(counted(minutes, "minute"))."),
                                       status: .tooManyRequests)
            }
        }

        router.post("/logout") { request, context -> Response in
            await env.sessions.end(token: try context.user().token)
            var r = Layout.redirect("/login?bye=1")
            r.headers.append(HTTPField(name: .setCookie, value: env.clearedCookie()))
            return r
        }
    }

    /// Only a path of this app: never another site (`//evil.example`, `/\\evil`), never a scheme.
    static func safeNext(_ next: String?) -> String {
        // Visible ASCII only: browsers drop tabs and newlines from a URL, so "/<TAB>/evil.example" would become
        // "//evil.example", another site; a backslash is read as a slash.
        guard let next, next.hasPrefix("/"), !next.hasPrefix("//"), next.utf8.count <= 2048,
              next.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f && $0 != UInt8(ascii: "\\") }),
              next != "/login" else { return "/calls" }
        return next
    }

    /// "15 minutes": the configured idle time in words.
    static func idle(_ env: WebEnvironment) -> String {
        let minutes = Int((env.vault.configuration.web.sessionIdle.approximateSeconds / 60).rounded())
        return minutes % 60 == 0 ? counted(minutes / 60, "hour") : counted(minutes, "minute")
    }

    static func form(next: String, message: String?, kind: String = "bad") -> HTML {
        Layout.page(title: "Log in", signedIn: nil, active: "", body: """
            <section class="card login"><h1>Log in to callvault</h1>
            \(message.map { HTML("<div class=\"notice \(kind)\" role=\"alert\" id=\"login-notice\">\($0)</div>") } ?? "")
            <form method="post" action="/login">
            <input type="hidden" name="next" value="\(next)">
            <label>User <input name="user" id="user" autocomplete="username" required autofocus></label>
            <label>Password <input name="password" id="password" type="password" autocomplete="current-password" required></label>
            <button type="submit" id="login">Log in</button></form>
            <p class="muted small">Every login, failed or not, is recorded in the audit log. Five failures within 15 minutes lock the user out for 15 minutes.</p>
            </section>
            """)
    }
}
