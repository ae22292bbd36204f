// `callvault watch`: the ingest daemon (SPEC §2, §10).
import ArgumentParser
import CallVault
import CallVaultCore
import CallVaultDaemon
import Foundation

struct WatchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch", abstract: "Run the ingest daemon over inbox folders until SIGTERM/SIGINT; SIGHUP reloads the configuration.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "Inbox folders (default: inbox.paths of the configuration).")
    var inboxes: [String] = []

    @Flag(help: "Poll instead of inotify (network shares): settled when size and mtime stay unchanged for `settle`.")
    var poll = false

    @Option(help: "Serve Prometheus metrics at /metrics and a health check at /healthz on HOST:PORT (e.g. 127.0.0.1:9464).")
    var metrics: String?

    func run() async throws {
        // A SIGHUP (systemctl reload) while starting must not end the daemon (the default action); from
        // `watching` on it reloads. One lost here is harmless: the configuration is read just below.
        signal(SIGHUP, SIG_IGN)
        let vault = try global.openVault()
        try vault.require(Role.administrators, to: "watch")
        let paths = inboxes.isEmpty ? vault.configuration.inboxPaths : inboxes
        guard !paths.isEmpty else {
            throw VaultError(.usage, "no inbox: give folders or set inbox.paths in \(Configuration.fileName)")
        }
        for p in paths {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: p, isDirectory: &isDir), isDir.boolValue else {
                throw VaultError(.usage, "inbox \(p): no such folder")
            }
        }
        var options = WatchOptions(inboxes: paths.map { $0.count > 1 && $0.hasSuffix("/") ? String($0.dropLast()) : $0 }, poll: poll,
                                   settle: vault.configuration.settle.approximateSeconds,
                                   pairTimeout: vault.configuration.pairTimeout.approximateSeconds)
        options.inboxesFromConfiguration = inboxes.isEmpty
        // SIGHUP opens the store again as it was opened now: same store, same user, same `--as`.
        let store = global.storePath, asUser = global.asUser
        try await Daemon.run(vault: vault, options: options, metrics: metrics) {
            try Vault.open(at: store, actor: Vault.osUser(), asUser: asUser)
        }
    }
}
