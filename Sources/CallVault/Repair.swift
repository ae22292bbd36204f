// Start-up repair (SPEC §3): finish or undo what a crash left, before any new work.
import CallVaultCore
import CallVaultStore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Undoes placements whose catalog row never committed and completes interrupted quarantine moves.
/// Runs under the ingest lock. Cost is proportional to what was in flight, not to the store's size.
public struct Repair: Sendable {
    public let vault: Vault

    public init(vault: Vault) { self.vault = vault }

    public struct Outcome: Sendable, Equatable {
        public var orphansRemoved = 0
        public var quarantineCompleted = 0
    }

    @discardableResult
    public func run() throws -> Outcome {
        var outcome = Outcome()
        let pending = try vault.catalog.pendingPlacements()
        for p in pending {
            // No recording row exists for a pending placement (the row's transaction clears it), so both
            // names are orphans; the inputs are still in the inbox and will be ingested again.
            let a = try vault.files.remove(p.tempPath)
            let b = try vault.files.remove(p.audioPath)
            if a || b { outcome.orphansRemoved += 1 }
        }
        if !pending.isEmpty {
            try vault.files.syncFileSystem()
            try vault.catalog.clearPending(pending.map(\.recordingID))
        }
        outcome.quarantineCompleted = try completeQuarantine()
        return outcome
    }

    /// Quarantine folders that a crash left unregistered: move in any input still at its original place,
    /// then register the rejection as the interrupted run would have.
    func completeQuarantine() throws -> Int {
        let files = vault.files
        var completed = 0
        var rows: [RejectionRow] = []
        var events: [AuditEvent] = []
        for day in files.list(Vault.quarantineDirectory) where files.isDirectory("\(Vault.quarantineDirectory)/\(day)") {
            for id in files.list("\(Vault.quarantineDirectory)/\(day)") {
                let dir = "\(Vault.quarantineDirectory)/\(day)/\(id)"
                guard RecordingID.isWellFormed(id), files.isDirectory(dir), try !vault.catalog.hasRejection(id: id) else { continue }
                guard let data = FileManager.default.contents(atPath: files.absolute(dir + "/reason.json")),
                      let reason = try? JSONDecoder().decode(QuarantineReason.self, from: data) else {
                    // reason.json is written before any input is moved: without it the folder holds nothing.
                    if files.list(dir).allSatisfy({ $0.hasSuffix(".tmp") }) {
                        for f in files.list(dir) { try files.remove(dir + "/" + f) }
                        rmdir(files.absolute(dir))
                    }
                    continue
                }
                for input in reason.inputs where !files.exists(dir + "/" + input.name) {
                    if FileManager.default.fileExists(atPath: input.from) {
                        try files.moveIn(source: input.from, to: dir + "/" + input.name)
                    }
                }
                rows.append(RejectionRow(id: id, at: reason.at, tenant: reason.tenant, reason: reason.reason,
                                         detail: reason.detail, quarantinePath: dir))
                events.append(AuditEvent(at: vault.clock.now(), actor: vault.actor, action: "ingest.rejected", target: id,
                                         details: ["reason": reason.reason, "repaired": "true"]))
                completed += 1
            }
        }
        if !rows.isEmpty {
            try files.syncFileSystem()
            try vault.catalog.commitRejections(rows, events: events)
        }
        return completed
    }
}
