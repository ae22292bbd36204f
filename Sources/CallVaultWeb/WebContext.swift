// The request context of the web app: who is asking (after the login middleware) and from where.
import CallVault
import CallVaultCore
import Foundation
import Hummingbird
import Logging
import NIOCore

/// The user of a request, once the login middleware has found its session.
public struct SignedIn: Sendable {
    public let principal: Principal
    /// The session cookie's value (its id) and the session's CSRF token.
    public let token: String
    public let csrf: String
    /// A cookie to set on the response (a session created for a single-sign-on user).
    public var newCookie: String?
}

public struct WebContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: SocketAddress?
    public var signedIn: SignedIn?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }

    /// The peer's IP address as text ("-" when unknown, as in the in-process tests).
    public var peer: String { remoteAddress?.ipAddress ?? "-" }

    /// The signed-in user; the login middleware guarantees one on every route behind it.
    public func user() throws -> SignedIn {
        guard let signedIn else { throw HTTPError(.unauthorized) }
        return signedIn
    }
}

/// What the routes share: the store opened as the service user, the sessions and the settings.
public final class WebEnvironment: Sendable {
    let current: CurrentVault
    /// The store as the service user, with the configuration as it is now (users, roles and scopes follow
    /// callvault.toml; `[web]` keys are read once, at start).
    public var vault: Vault { current.vault }
    public let sessions: SessionStore
    public let settings: WebSettings
    /// Whether the app is served over TLS (cookies are then Secure).
    public let secure: Bool
    let trustedProxies: [CIDR]

    public init(vault: Vault, secure: Bool = false, logger: Logger? = nil) {
        current = CurrentVault(vault, logger: logger)
        settings = vault.configuration.web
        sessions = SessionStore(idle: settings.sessionIdle.approximateSeconds)
        self.secure = secure
        trustedProxies = settings.trustedProxies.compactMap(CIDR.init)
    }

    /// The vault acting for the request's user.
    func vault(for context: WebContext) throws -> Vault {
        vault.acting(as: try context.user().principal)
    }

    /// Reads callvault.toml again now (SIGHUP).
    public func reloadConfiguration() { current.reload() }

    func isTrustedProxy(_ address: String) -> Bool { trustedProxies.contains { $0.contains(address) } }

    static let cookieName = "callvault_session"

    func sessionCookie(_ token: String) -> String {
        "\(Self.cookieName)=\(token); Path=/; HttpOnly; SameSite=Strict" + (secure ? "; Secure" : "")
    }

    func clearedCookie() -> String {
        "\(Self.cookieName)=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0" + (secure ? "; Secure" : "")
    }
}

/// Runs blocking catalog and file work off the server's threads.
func blocking<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        DispatchQueue.global().async {
            continuation.resume(with: Result { try body() })
        }
    }
}

extension Request {
    /// JSON when the client asks for it (`Accept: application/json`), else HTML.
    var wantsJSON: Bool {
        guard let accept = headers[.accept] else { return false }
        return accept.contains("application/json") && !accept.contains("text/html")
    }

    /// A query parameter, nil when absent or empty. Read as a browser sends a GET form
    /// (application/x-www-form-urlencoded: `+` is a space, `%2B` a plus), so "+32 470…" typed in a field
    /// arrives as typed.
    func query(_ name: String) -> String? {
        guard let raw = uri.query, let v = Form(ByteBuffer(string: raw)).first(name), !v.isEmpty else { return nil }
        return v
    }
}
