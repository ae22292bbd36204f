// What every request passes through: security headers, errors as pages, the login gate and the CSRF check.
import CallVault
import CallVaultCore
import Foundation
import HTTPTypes
import Hummingbird

extension HTTPField.Name {
    static let contentSecurityPolicy = Self("Content-Security-Policy")!
    static let xContentTypeOptions = Self("X-Content-Type-Options")!
    static let referrerPolicy = Self("Referrer-Policy")!
    static let xFrameOptions = Self("X-Frame-Options")!
    static let xCSRFToken = Self("X-CSRF-Token")!
}

/// The headers of SPEC §13 on every answer, errors and redirects included. Pages carry personal data: no caching.
struct SecurityHeadersMiddleware: RouterMiddleware {
    typealias Context = WebContext

    static let policy = "default-src 'self'; img-src 'self' data:; media-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"

    func handle(_ request: Request, context: WebContext, next: (Request, WebContext) async throws -> Response) async throws -> Response {
        var response: Response
        do {
            response = try await next(request, context)
        } catch {
            response = ErrorPage.response(for: error, request: request, context: context)
        }
        response.headers[.contentSecurityPolicy] = Self.policy
        response.headers[.xContentTypeOptions] = "nosniff"
        response.headers[.referrerPolicy] = "no-referrer"
        response.headers[.xFrameOptions] = "DENY"
        if response.headers[.cacheControl] == nil { response.headers[.cacheControl] = "no-store" }
        return response
    }
}

/// Errors as the user sees them: a page (or JSON) with the status of the error's kind. The messages of
/// VaultError are written for users and never carry personal data; any other error is "internal error".
enum ErrorPage {
    static func status(_ error: any Error) -> HTTPResponse.Status {
        if let e = error as? VaultError, e.hidesExistence { return .notFound }
        if let e = error as? VaultError {
            switch e.kind {
            case .usage, .configuration: return .badRequest
            case .accessDenied: return .forbidden
            case .notFound: return .notFound
            case .gone: return .gone
            case .vaultFailure: return .internalServerError
            }
        }
        if let e = error as? any HTTPResponseError { return e.status }
        return .internalServerError
    }

    /// The use cases name what was wrong by the command line's options; a page names it in words.
    static let words = [
        "--caller": "the caller's number", "--subject": "the subject's number", "--review-at": "the review date", "--received": "the date received",
        "--kind": "the kind", "--case": "the case reference", "--note": "the note", "--reference": "the reference", "--tenant": "the tenant",
        "--value": "the value", "--field": "the field", "--by": "the extension", "--reason": "the reason", "--outcome": "the outcome",
        "--ground": "the ground", "--recording": "the recording", "--language": "the language",
        "--from": "the start date", "--to": "the end date", "--min-duration": "the shortest duration", "--max-duration": "the longest duration",
        "--expiring-within": "expiring within", "--since": "since", "--until": "until", "--limit": "the number of rows", "--direction": "the direction",
    ]

    /// A use case's error in words: its field named as the form names it.
    static func inWords(_ error: VaultError) -> String { inWords(error.worded(VaultError.option)) }

    static func inWords(_ message: String) -> String {
        var text = message
        for (flag, name) in words.sorted(by: { $0.key.count > $1.key.count }) { text = text.replacingOccurrences(of: flag, with: name) }
        return text.prefix(1).uppercased() + text.dropFirst()
    }

    static func message(_ error: any Error, status: HTTPResponse.Status) -> String {
        // One answer for a call that does not exist and one the user may not see (the audit keeps which).
        if let e = error as? VaultError, e.hidesExistence { return "There is no such call." }
        if let e = error as? VaultError, e.kind != .vaultFailure { return inWords(e) }
        if let e = error as? WebRefusal { return e.message }
        switch status {
        case .notFound: return "There is no such page."
        case .unauthorized: return "Please log in."
        case .forbidden: return "You may not do this."
        case .methodNotAllowed: return "This page does not take that kind of request."
        case .contentTooLarge: return "The request is too large."
        case .internalServerError:
            if let e = error as? VaultError { return "The vault failed: \(e.message)" }
            return "Internal error."
        default: return status.reasonPhrase
        }
    }

    static func response(for error: any Error, request: Request, context: WebContext) -> Response {
        let status = status(error)
        let text = message(error, status: status)
        if request.wantsJSON {
            let body = (try? JSONSerialization.data(withJSONObject: ["error": text, "status": Int(status.code)], options: [.sortedKeys])) ?? Data()
            var r = Response(status: status, body: .init(byteBuffer: ByteBuffer(bytes: body)))
            r.headers[.contentType] = "application/json"
            return r
        }
        let page = Layout.page(title: "\(status.code) \(status.reasonPhrase)", signedIn: context.signedIn, active: "", body: """
            <section class="card error"><h1>\(status.code) · \(status.reasonPhrase)</h1><p>\(text)</p>
            <p><a href="/calls">Back to the calls</a></p></section>
            """)
        return Layout.response(page, status: status)
    }
}

/// A refusal made by the web layer itself (CSRF, lockout), with the status it answers.
struct WebRefusal: HTTPResponseError {
    let status: HTTPResponse.Status
    let message: String
    func response(from request: Request, context: some RequestContext) throws -> Response {
        Response(status: status, body: .init(byteBuffer: ByteBuffer(string: message)))
    }
}

/// The login gate. Public: `/login`, `/healthz`, `/assets/…`. Any other route needs a session (cookie), or a
/// user named by the trusted header of a trusted proxy. Without one: HTML → 303 to /login, JSON → 401.
/// State-changing requests then need the session's CSRF token.
struct LoginMiddleware: RouterMiddleware {
    typealias Context = WebContext
    let env: WebEnvironment

    static func isPublic(_ path: String) -> Bool {
        path == "/login" || path == "/healthz" || path.hasPrefix("/assets/")
    }

    func handle(_ request: Request, context: WebContext, next: (Request, WebContext) async throws -> Response) async throws -> Response {
        if Self.isPublic(request.uri.path) { return try await next(request, context) }
        var context = context
        guard let signedIn = try await identify(request, context: context) else {
            if request.wantsJSON { throw HTTPError(.unauthorized, message: "login required") }
            var r = Response(status: .seeOther)
            let target = request.method == .get ? request.uri.path + (request.uri.query.map { "?" + $0 } ?? "") : "/calls"
            // A cookie of a session that is no more: the login page says the session ended, not just "log in".
            let ended = request.cookies[WebEnvironment.cookieName] != nil
            r.headers[.location] = "/login" + HTML.query([("next", target)] + (ended ? [("expired", "1")] : []))
            if ended { r.headers.append(HTTPField(name: .setCookie, value: env.clearedCookie())) }
            return r
        }
        context.signedIn = signedIn
        var request = request
        if request.method != .get && request.method != .head {
            try await checkCSRF(&request, expected: signedIn.csrf)
        }
        var response: Response
        do {
            response = try await next(request, context)
        } catch {
            // Rendered here, where the user is known: the error page keeps the top bar and Log out.
            response = ErrorPage.response(for: error, request: request, context: context)
        }
        if let cookie = signedIn.newCookie { response.headers.append(HTTPField(name: .setCookie, value: env.sessionCookie(cookie))) }
        return response
    }

    /// The request's user, if any.
    func identify(_ request: Request, context: WebContext) async throws -> SignedIn? {
        let vault = env.vault
        let now = vault.clock.uptime()
        let cookie = request.cookies[WebEnvironment.cookieName]?.value
        if let header = env.settings.trustedHeader, let name = request.headers[HTTPField.Name(header)!], !name.isEmpty {
            // Believed from a trusted proxy only; from anyone else the header is ignored (and the cookie decides).
            if env.isTrustedProxy(context.peer) {
                // Checked on every request (not only when the session is made): a disabled account is out at once.
                let peer = context.peer
                guard let principal = try await blocking({ try Accounts.principal(vault: vault, trustedUser: name, from: peer) }) else {
                    throw WebRefusal(status: .forbidden, message: "Your single sign-on user is not a user of this vault.")
                }
                if let cookie, let s = await env.sessions.session(token: cookie, uptime: now), s.user == principal.name {
                    return SignedIn(principal: principal, token: cookie, csrf: s.csrf)
                }
                let (token, s) = await env.sessions.create(user: principal.name, uptime: now)
                return SignedIn(principal: principal, token: token, csrf: s.csrf, newCookie: token)
            }
        }
        guard let cookie, let s = await env.sessions.session(token: cookie, uptime: now) else { return nil }
        // The account may have been disabled, its password changed, or the user removed from callvault.toml,
        // since the login.
        let name = s.user
        let version = s.passwordVersion
        guard let user = vault.configuration.users[name], try await blocking({ try Accounts.isActive(vault: vault, user: name, passwordVersion: version) }) else {
            await env.sessions.end(token: cookie)
            return nil
        }
        return SignedIn(principal: Principal(name: name, user: user, onBehalfOf: nil), token: cookie, csrf: s.csrf)
    }

    /// The token from the `X-CSRF-Token` header, or the `csrf` field of a form body; compared in constant time.
    func checkCSRF(_ request: inout Request, expected: String) async throws {
        var given = request.headers[.xCSRFToken]
        if given == nil, request.headers[.contentType]?.hasPrefix("application/x-www-form-urlencoded") == true {
            let body = try await request.collectBody(upTo: 64 * 1024)
            given = Form(body).first("csrf")
        }
        guard let given, constantTimeEqual(given, expected) else {
            throw WebRefusal(status: .forbidden, message: "This form has expired or did not come from callvault (missing or wrong CSRF token). Reload the page and try again.")
        }
    }
}

func constantTimeEqual(_ a: String, _ b: String) -> Bool {
    let x = Array(a.utf8), y = Array(b.utf8)
    guard x.count == y.count else { return false }
    var diff: UInt8 = 0
    for i in 0..<x.count { diff |= x[i] ^ y[i] }
    return diff == 0
}

/// An application/x-www-form-urlencoded body: repeated fields keep every value, in order.
struct Form: Sendable {
    let fields: [(String, String)]

    init(_ buffer: ByteBuffer) {
        let text = String(buffer: buffer)
        fields = text.split(separator: "&").map { pair in
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ s: Substring) -> String {
                String(s).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? ""
            }
            return (decode(kv[0]), kv.count > 1 ? decode(kv[1]) : "")
        }
    }

    func first(_ name: String) -> String? { fields.first { $0.0 == name }?.1 }
    /// A field's value, nil when absent or only blanks.
    func text(_ name: String) -> String? {
        guard let v = first(name)?.trimmingCharacters(in: .whitespacesAndNewlines), !v.isEmpty else { return nil }
        return v
    }
    func all(_ name: String) -> [String] { fields.filter { $0.0 == name }.map(\.1) }
}
