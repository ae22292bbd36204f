// `callvault quarantine retry`: puts quarantined pairs back through ingest — a valid call quarantined by a
// configuration mistake (a tenant not yet configured, a prompt missing) is not lost when its quarantine expires.
import CallVaultCore
import CallVaultStore
import Foundation

public struct QuarantineRetry: Sendable {
    public let vault: Vault

    public init(vault: Vault) { self.vault = vault }

    /// What became of one quarantine entry.
    public enum Outcome: Sendable, Equatable {
        case stored(recordingID: String)
        case duplicate(recordingID: String)
        /// Checked again and rejected again (it stays in quarantine, with its first reason).
        case rejected(ReasonCode, String)
        /// One half of the pair is missing, or the entry's files are gone: nothing to ingest.
        case incomplete(String)
        case unreadable(String)
        /// The call was erased at a data subject's request (`request`, empty when none is named): not stored,
        /// and the entry's copies are deleted, as the erasure would have deleted them.
        case erased(request: String)
    }

    /// Retries the given entries (admins). Runs under the ingest lock, after repair, like any ingest.
    public func retry(ids: [String]) throws -> [(id: String, outcome: Outcome)] {
        try vault.require(Role.administrators, to: "quarantine retry")
        for id in ids where !RecordingID.isWellFormed(id) {
            throw VaultError(.usage, "quarantine retry: not a quarantine id (give the ID shown by `quarantine list`)")
        }
        return try vault.withIngestLock {
            let ingestor = Ingestor(vault: vault)
            try ingestor.repair()
            var results: [(String, Outcome)] = []
            for id in ids {
                guard let (row, deletedAt) = try vault.catalog.rejection(id: id) else {
                    throw VaultError(.notFound, "quarantine \(id): no such entry")
                }
                guard deletedAt == nil else {
                    results.append((id, .incomplete("already deleted or retried")))
                    continue
                }
                let outcome = try retry(row, ingestor: ingestor)
                results.append((id, outcome))
            }
            return results
        }
    }

    /// Retries every entry still in quarantine with this reason code.
    public func retry(reason: ReasonCode) throws -> [(id: String, outcome: Outcome)] {
        try vault.require(Role.administrators, to: "quarantine retry")
        return try retry(ids: vault.catalog.openRejections(reason: reason.rawValue))
    }

    func retry(_ row: RejectionRow, ingestor: Ingestor) throws -> Outcome {
        let quarantine = Quarantine(vault: vault)
        let files = vault.files
        let dir = row.quarantinePath
        guard let data = FileManager.default.contents(atPath: files.absolute(dir + "/reason.json")),
              let reason = try? JSONDecoder().decode(QuarantineReason.self, from: data) else {
            return try finish(row, .incomplete("reason.json is missing or unreadable"))
        }
        var pair = InputPair(directory: files.absolute(dir), baseName: row.id, audio: nil, sidecar: nil,
                             defaultTenant: reason.defaultTenant ?? reason.tenant)
        for input in reason.inputs {
            let path = quarantine.inputPath(dir, input.name)
            guard files.exists(path) else { continue }
            if InboxScan.split(input.name).1.lowercased() == "json" { pair.sidecar = files.absolute(path) } else { pair.audio = files.absolute(path) }
        }
        let outcome: Outcome
        if pair.audio != nil, pair.sidecar != nil {
            // Checked and placed like any pair, but never re-quarantined: rejected again, the entry stays as is.
            switch try ingestor.check.check(pair, inBatch: [:]) {
            case .store(let prepared):
                // The entry keeps its copies until it is resolved: a retry killed after the commit finds them
                // again, as a duplicate, and resolves the entry then.
                let stored = try ingestor.store([prepared], removingInputs: false)
                outcome = .stored(recordingID: stored[0].recordingID)
            case .duplicate(let id, _): outcome = .duplicate(recordingID: id)
            case .reject(let r, _, _): outcome = .rejected(r.reason, r.detail)
            case .unreadable(let detail): outcome = .unreadable(detail)
            case .vanished: outcome = .unreadable("vanished before it could be read")
            case .erased(let request, _): outcome = .erased(request: request)
            }
        } else if pair.audio == nil, let path = pair.sidecar,
                  case .valid(let sidecar, let digest, _, _) = try ingestor.check.readSidecar(path, defaultTenant: pair.defaultTenant),
                  let stored = try vault.catalog.existing(tenant: sidecar.tenant, callID: sidecar.callID) {
            // A lone sidecar of a stored call: decided here, never quarantined a second time.
            outcome = stored.sidecarSHA256 == digest
                ? .duplicate(recordingID: stored.id)
                : .rejected(.duplicateConflict, "call_id already stored for this tenant with another sidecar (recording \(stored.id))")
        } else {
            outcome = .incomplete(pair.audio == nil ? "no audio file in this entry" : "no sidecar in this entry")
        }
        return try finish(row, outcome)
    }

    /// Records the retry; an entry whose call is now stored is removed from quarantine.
    func finish(_ row: RejectionRow, _ outcome: Outcome) throws -> Outcome {
        var details: [String: String] = [:]
        switch outcome {
        case .stored(let id): details = ["outcome": "stored", "recording_id": id]
        case .duplicate(let id): details = ["outcome": "duplicate", "recording_id": id]
        case .rejected(let code, _): details = ["outcome": "rejected", "reason": code.rawValue]
        case .incomplete: details = ["outcome": "incomplete"]
        case .unreadable: details = ["outcome": "unreadable"]
        case .erased(let request): details = ["outcome": "erased", "request": request.isEmpty ? "-" : request]
        }
        let event = vault.event(.quarantineRetried, target: row.id, details: details)
        switch outcome {
        case .stored, .duplicate, .erased:
            // Resolved first, then removed: a crash in between leaves a folder whose entry is resolved, which
            // repair removes; never an open entry without its files.
            try vault.catalog.resolveRejection(id: row.id, at: vault.clock.now(), event: event)
            CrashPoint.reached("retry.after-resolve")
            try vault.files.removeTree(row.quarantinePath)
            try vault.files.syncFileSystem()
        default:
            try vault.catalog.appendAudit([event])
        }
        return outcome
    }
}
