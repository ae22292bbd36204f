// Start-up repair (SPEC §3): finish or undo what a crash left, before any new work.
import CallVaultCore
import CallVaultStore

/// Undoes placements whose catalog row never committed, empties staging, and completes or removes interrupted
/// quarantines. Runs under the ingest lock. Cost is proportional to what was in flight, not to the store's size.
public struct Repair: Sendable {
    public let vault: Vault

    public init(vault: Vault) { self.vault = vault }

    public struct Outcome: Sendable, Equatable {
        public var orphansRemoved = 0
        public var quarantineCompleted = 0
    }

    @discardableResult
    public func run() throws -> Outcome {
        let r = try Ingestor(vault: vault).repair()
        return Outcome(orphansRemoved: r.orphansRemoved, quarantineCompleted: r.quarantineCompleted)
    }
}
