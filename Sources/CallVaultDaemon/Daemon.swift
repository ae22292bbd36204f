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
    public static func run(vault: Vault, options: WatchOptions, metrics: String?) async throws {
        LoggingSystem.bootstrap { label in
            var h = StreamLogHandler.standardError(label: label)
            h.logLevel = .info
            return h
        }
        let logger = Logger(label: "callvault.watch")
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        let health = DaemonHealth()

        var services: [any Service] = [WatchService(vault: vault, options: options, logger: logger, health: health)]
        if let metrics {
            let (host, port) = try parseAddress(metrics)
            let router = Router()
            router.get("metrics") { _, _ -> String in registry.emitToString() + FixityMetrics.text(vault.catalog) }
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

    static func parseAddress(_ text: String) throws -> (String, Int) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (1...65535).contains(port) else {
            throw VaultError(.usage, "--metrics \(text): give HOST:PORT, e.g. 127.0.0.1:9464")
        }
        return (String(text[..<colon]), port)
    }
}
