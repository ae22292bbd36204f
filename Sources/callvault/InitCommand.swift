// `callvault init`: create a store with a default configuration.
import ArgumentParser
import CallVault
import Foundation

struct InitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "init", abstract: "Create a store with a default configuration.")

    @OptionGroup var global: GlobalOptions

    @Flag(help: "Allow a simulated clock (--now) on this store: demos and tests only.")
    var simulation = false

    @Option(name: .customLong("tenant"), help: "A tenant to configure (repeatable).")
    var tenants: [String] = []

    func run() throws {
        let vault = try Vault.create(at: global.storePath, tenants: tenants, simulation: simulation, actor: Vault.osUser())
        if global.json {
            printJSON(["store": vault.root, "simulation": simulation, "tenants": tenants])
        } else {
            printLine("created store \(vault.root)\(simulation ? " (simulation)" : "") with \(tenants.count) tenant(s); admin: \(vault.actor)")
        }
    }
}
