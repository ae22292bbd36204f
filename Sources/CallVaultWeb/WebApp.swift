// `callvault serve`: the web app over one opened store (issue 10). Routes are thin: every role check and
// every audit event lives in the CallVault use cases, as for the CLI.
import CallVault
import CallVaultCore
import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import NIOSSL
import HummingbirdTLS
import ServiceLifecycle

public enum WebApp {
    /// The router of the app (the store opened as the service user; each request acts for its own user).
    public static func router(env: WebEnvironment) -> Router<WebContext> {
        // HEAD answers like GET without a body on every GET route; routes whose GET has an effect (an audit
        // event, a bundle written) check the method and do without it.
        let router = Router(context: WebContext.self, options: .autoGenerateHeadEndpoints)
        router.add(middleware: SecurityHeadersMiddleware())
        router.add(middleware: LoginMiddleware(env: env))
        router.get("/healthz") { _, _ -> Response in
            // The catalog must answer: a store that cannot be read is not healthy, whatever the process does.
            let vault = env.vault
            do {
                _ = try await blocking { try vault.catalog.meta("created_at") }
                return Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: "ok\n")))
            } catch {
                return Response(status: .serviceUnavailable, body: .init(byteBuffer: ByteBuffer(string: "catalog unavailable\n")))
            }
        }
        router.get("/assets/:name") { _, context -> Response in
            guard let r = Assets.route(try context.parameters.require("name")) else { throw HTTPError(.notFound) }
            return r
        }
        router.get("/") { _, _ in Layout.redirect("/calls") }
        LoginRoutes.add(to: router, env: env)
        CallsRoutes.add(to: router, env: env)
        HoldsRoutes.add(to: router, env: env)
        OfficerRoutes.add(to: router, env: env)
        ReviewRoutes.add(to: router, env: env)
        RequestsRoutes.add(to: router, env: env)
        return router
    }

    /// Serves until SIGTERM or SIGINT, then finishes the requests in flight and returns. SIGHUP, or any change
    /// of callvault.toml, applies the new users, roles and scopes; `[web]` keys need a restart.
    public static func serve(vault: Vault, listen: String, logger: Logger) async throws {
        guard let (host, port) = WebSettings.splitListen(listen) else {
            throw VaultError(.usage, "--listen \(listen): give HOST:PORT, e.g. 127.0.0.1:8080")
        }
        let settings = vault.configuration.web
        let tls = try settings.tlsCertificate.map { cert in try tlsConfiguration(certificate: cert, key: settings.tlsKey!) }
        let env = WebEnvironment(vault: vault, secure: tls != nil || settings.cookieSecure, logger: logger)
        if tls == nil, !settings.cookieSecure, !WebSettings.isLoopback(host) {
            logger.warning("callvault serve: listening on \(listen) without TLS and without [web] cookie_secure: sessions cross the network in clear; put a TLS proxy in front and set cookie_secure = true, or set tls_certificate and tls_key")
        }
        // SIGHUP reads callvault.toml again (as it does for `watch`) instead of ending the server.
        signal(SIGHUP, SIG_IGN)
        let hangup = DispatchSource.makeSignalSource(signal: SIGHUP, queue: .global())
        hangup.setEventHandler { env.reloadConfiguration() }
        hangup.resume()
        defer { hangup.cancel() }
        FolderDownload.removeLeftovers(root: vault.root)
        let router = router(env: env)
        let configuration = ApplicationConfiguration(address: .hostname(host, port: port), serverName: nil)
        let counts = ConnectionCounts()
        let limits = ConnectionLimits(perClient: settings.maxConnectionsPerClient)
        let http1 = HTTPServerBuilder.http1(configuration: .init(additionalChannelHandlers: [ConnectionGuard(limits: limits, counts: counts)]))
        let server: HTTPServerBuilder = try tls.map { try .tls(http1, tlsConfiguration: $0) } ?? http1
        let app = Application(router: router, server: server, configuration: configuration, onServerRunning: { _ in
            logger.info("callvault serve: listening on \(tls == nil ? "http" : "https")://\(listen)")
        }, logger: logger)
        let group = ServiceGroup(configuration: .init(
            services: [.init(service: app, successTerminationBehavior: .gracefullyShutdownGroup)],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))
        try await group.run()
    }

    static func tlsConfiguration(certificate: String, key: String) throws -> TLSConfiguration {
        do {
            let chain = try NIOSSLCertificate.fromPEMFile(certificate).map { NIOSSLCertificateSource.certificate($0) }
            let privateKey = try NIOSSLPrivateKey(file: key, format: .pem)
            return TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(privateKey))
        } catch {
            throw VaultError.configuration("web.tls_certificate / web.tls_key: cannot load \(certificate) and \(key): \(error)")
        }
    }
}
