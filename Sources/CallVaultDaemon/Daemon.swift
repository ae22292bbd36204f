// Assembles the daemon: the watch service, and optionally the metrics endpoint, in one ServiceGroup.
import CallVault
import CallVaultCore
import Foundation
import Hummingbird
import Logging
import Metrics
import Prometheus
import ServiceLifecycle

public enum Daemon {
    /// Runs until SIGTERM or SIGINT, then lets the pair in hand finish and returns.
    /// `metrics` is `HOST:PORT` for Prometheus text at `/metrics` and a health check at `/healthz`.
    /// `reopen` opens the store again on SIGHUP (a new configuration); without it SIGHUP changes nothing.
    public static func run(vault: Vault, options: WatchOptions, metrics: String?,
                           reopen: (@Sendable () throws -> Vault)? = nil) async throws {
        // The address is checked before anything is announced: a busy port is one clear line and exit 1, not a
        // server error after "watching" (exit 1, not 2: another instance still stopping frees it, so a
        // restart may well succeed).
        let address = try metrics.map(parseAddress)
        if let (host, port) = address { try checkCanListen(host: host, port: port) }
        LoggingSystem.bootstrap { label in
            var h = StreamLogHandler.standardError(label: label)
            h.logLevel = .info
            return h
        }
        let logger = Logger(label: "callvault.watch")
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        let health = DaemonHealth()

        var services: [any Service] = [WatchService(vault: vault, options: options, logger: logger, health: health, reopen: reopen)]
        if let (host, port) = address {
            let router = Router()
            router.get("metrics") { _, _ -> String in registry.emitToString() + FixityMetrics.text(vault.catalog) + RequestMetrics.text(vault) }
            router.get("healthz") { _, _ -> Response in
                if let failure = health.failure {
                    return Response(status: .serviceUnavailable, body: .init(byteBuffer: ByteBuffer(string: "vault failure: \(failure)\n")))
                }
                return Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: "ok\n")))
            }
            services.append(Application(router: router, configuration: .init(address: .hostname(host, port: port)), logger: logger))
        }
        let group = ServiceGroup(configuration: .init(
            services: services.map { .init(service: $0, successTerminationBehavior: .gracefullyShutdownGroup) },
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))
        try await group.run()
    }

    /// Binds HOST:PORT once, as the server will (SO_REUSEADDR), and lets go: a taken or impossible address is
    /// reported as one line before the daemon starts.
    public static func checkCanListen(host: String, port: Int, option: String = "--metrics") throws {
        var hints = addrinfo()
        hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &list) == 0, let first = list else {
            throw VaultError(.usage, "\(option) \(host):\(port): unknown host \(host)")
        }
        defer { freeaddrinfo(list) }
        let fd = socket(first.pointee.ai_family, first.pointee.ai_socktype, first.pointee.ai_protocol)
        guard fd >= 0 else { throw VaultError.failure("cannot listen on \(host):\(port): \(String(cString: strerror(errno)).lowercased())") }
        defer { close(fd) }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        if bind(fd, first.pointee.ai_addr, first.pointee.ai_addrlen) != 0 || listen(fd, 1) != 0 {
            throw VaultError.failure("cannot listen on \(host):\(port): \(String(cString: strerror(errno)).lowercased())")
        }
    }

    static func parseAddress(_ text: String) throws -> (String, Int) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (1...65535).contains(port) else {
            throw VaultError(.usage, "--metrics \(text): give HOST:PORT, e.g. 127.0.0.1:9464")
        }
        return (String(text[..<colon]), port)
    }
}
