// `callvault serve`: the web app for coaches and compliance officers (README: The web app).
import ArgumentParser
import CallVault
import CallVaultCore
import CallVaultDaemon
import CallVaultWeb
import Foundation
import Logging

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the web app (login, calls and playback, holds, report, audit) until SIGTERM/SIGINT.",
        discussion: """
            Run it as the vault's service user, beside `watch` and the sweeper. Users log in with a password set by \
            `callvault user password NAME`, or through a single-sign-on proxy ([web] trusted_header). Roles and \
            scopes are those of callvault.toml, as on the command line.
            """)

    @OptionGroup var global: GlobalOptions

    @Option(help: "HOST:PORT to listen on (default: [web] listen of the configuration, else 127.0.0.1:8080).")
    var listen: String?

    func run() async throws {
        let vault = try global.openVault()
        try vault.require(Role.administrators, to: "serve")
        let address = listen ?? vault.configuration.web.listen
        guard let (host, port) = WebSettings.splitListen(address) else {
            throw VaultError(.usage, "--listen \(address): give HOST:PORT, e.g. 127.0.0.1:8080")
        }
        // A taken port is one clear line before anything starts (exit 1: another instance stopping may free it).
        try Daemon.checkCanListen(host: host, port: port, option: "--listen")
        LoggingSystem.bootstrap { label in
            var h = StreamLogHandler.standardError(label: label)
            h.logLevel = .info
            return h
        }
        try await WebApp.serve(vault: vault, listen: address, logger: Logger(label: "callvault.serve"))
    }
}
