// Ingest (SPEC §3): validate, probe, hash, place durably, commit, and only then remove the inbox files.
import CallVaultAudio
import CallVaultCore
import CallVaultStore
import Dispatch
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// What happened to each input of an ingest run.
public struct IngestReport: Sendable {
    public struct Stored: Sendable {
        public var input: String
        public var recordingID: String
        public var callID: String
        public var tenant: String
        public var audioExpiresAt: String
        public var metadataExpiresAt: String
        /// A backfill already past its audio expiry: stored, and deleted by the next sweep.
        public var alreadyExpired: Bool
        /// Seconds recorded on hold (0 when none, or not checked), and whether they were silenced before storing.
        public var secondsOnHold: Double = 0
        public var redacted = false
    }
    public struct Duplicate: Sendable {
        public var input: String
        public var recordingID: String
    }
    public struct Rejected: Sendable {
        public var input: String
        public var reason: ReasonCode
        public var detail: String
        /// Where the pair now lies, relative to the store; nil when it was left in place (missing half).
        public var quarantinePath: String?
    }
    /// An input the vault user cannot open or read (a recorder's umask, a file owned by another user): not a
    /// rejection (the file is not known to be bad) and not a vault failure (the other pairs go on). It is left
    /// in place, reported, and tried again later.
    public struct Unreadable: Sendable {
        public var input: String
        public var detail: String
        public init(input: String, detail: String) { self.input = input; self.detail = detail }
    }
    /// A re-delivered call that was erased at a subject's request: refused, its inputs removed.
    public struct Erased: Sendable {
        public var input: String
        /// The request that erased it (empty when the erasure named none).
        public var request: String
    }
    public var stored: [Stored] = []
    public var duplicates: [Duplicate] = []
    public var erased: [Erased] = []
    public var rejected: [Rejected] = []
    public var unreadable: [Unreadable] = []

    public init() {}

    public mutating func merge(_ other: IngestReport) {
        stored += other.stored
        duplicates += other.duplicates
        erased += other.erased
        rejected += other.rejected
        unreadable += other.unreadable
    }
}

/// Removes the inputs of committed batches on a second thread while the next batch is checked: with
/// independent copies, removing an input frees its blocks (~0.6 ms per file on ext4), which a one-shot ingest of a
/// backlog need not wait for. Removal comes after the commit either way; a crash before it leaves inputs whose
/// calls are stored, which the next run removes as duplicates. `finish()` waits and reports the first failure.
final class InputRemover: @unchecked Sendable {
    private let queue = DispatchQueue(label: "callvault.input-remover")
    private let lock = NSLock()
    private var failure: Error?

    func remove(_ work: @escaping @Sendable () throws -> Void) {
        queue.async {
            do { try work() } catch {
                self.lock.withLock { if self.failure == nil { self.failure = error } }
            }
        }
    }

    func finish() throws {
        queue.sync {}
        if let failure = lock.withLock({ failure }) { throw failure }
    }
}

/// Ingests input pairs into a vault. Pairs are processed in batches: all placements of a batch become durable
/// with one file-system sync and one catalog transaction (group commit); nothing is reported stored or removed
/// from the inbox before its row is committed. The steps live apart: `PairCheck` decides, `Placement` (in the
/// store) places, `Quarantine` keeps what is rejected.
public struct Ingestor: Sendable {
    public let vault: Vault
    public var batchSize = 128

    public init(vault: Vault) { self.vault = vault }

    var check: PairCheck { get throws { try PairCheck(vault: vault) } }
    var placement: Placement { Placement(files: vault.files, catalog: vault.catalog) }

    /// The placement of this process's worker: on a shared catalog, tagged with the worker, whose repair keeps to
    /// what dead workers left (registering the worker first: never repair as if alone).
    func workerPlacement() throws -> Placement {
        guard vault.isShared else { return placement }
        return Placement(files: vault.files, catalog: vault.catalog, scope: try IngestWorker.of(vault).scope)
    }

    /// Finishes or undoes what a crash left (SPEC §3): orphan placements and staged copies, interrupted
    /// quarantines. Callers hold the ingest lock.
    @discardableResult
    public func repair() throws -> (orphansRemoved: Int, quarantineCompleted: Int) {
        if vault.isShared { try IngestWorker.of(vault).expireDeadLocalWorkers() }
        let orphans = try workerPlacement().repair()
        if vault.isShared { try vault.catalog.pruneDeadWorkers() }
        return (orphans, try Quarantine(vault: vault).repair())
    }

    /// What a one-shot ingest of `paths` will take: the pairs and what was found that cannot be taken.
    public func scan(paths: [String]) throws -> InboxScan.Found {
        try InboxScan.scan(paths) { vault.configuration.tenants[$0] != nil }
    }

    /// One-shot ingest of files and folders: repair first, then every pair; a half without its partner is
    /// reported (`sidecar_missing` / `audio_missing`) and left in place, as are names that are not UTF-8 and
    /// inputs or folders the vault user cannot read.
    /// `scanned` is told what was found before any work; `progress` after each batch (pairs and audio bytes
    /// done) — a terminal's progress line.
    public func ingest(paths: [String], scanned: (InboxScan.Found) -> Void = { _ in },
                       progress: (_ pairs: Int, _ bytes: Int64) -> Void = { _, _ in }) throws -> IngestReport {
        try vault.require(Role.administrators, to: "ingest")
        return try vault.withIngestLock {
            try repair()
            let found = try scan(paths: paths)
            scanned(found)
            CrashPoint.reached("ingest.after-scan")
            return try ingest(found, progress: progress)
        }
    }

    /// Ingests what a scan found. Callers hold the ingest lock and have repaired.
    public func ingest(_ found: InboxScan.Found, progress: (_ pairs: Int, _ bytes: Int64) -> Void = { _, _ in }) throws -> IngestReport {
        var report = IngestReport()
        for u in found.unreadableFolders { report.unreadable.append(.init(input: u.path, detail: u.detail)) }
        for name in found.undecodableNames {
            report.rejected.append(.init(input: name, reason: .unsafeName, detail: "file name is not valid UTF-8 (left in place: rename it)", quarantinePath: nil))
        }
        if !report.unreadable.isEmpty || !found.undecodableNames.isEmpty {
            try vault.catalog.appendAudit([vault.event(.ingestLeftInPlace, target: nil, details: [
                "unreadable": String(report.unreadable.count), "unsafe_names": String(found.undecodableNames.count)])])
        }
        let complete = found.pairs.filter { $0.audio != nil && $0.sidecar != nil }
        var lone = found.pairs.filter { $0.audio == nil || $0.sidecar == nil }
        let remover = InputRemover()
        defer { try? remover.finish() }
        var start = 0
        var done = 0
        var bytes: Int64 = 0
        while start < complete.count || !lone.isEmpty {
            let batch = Array(complete[start..<min(start + batchSize, complete.count)])
            report.merge(try process(batch, lone: lone, halves: .leaveInPlace, remover: remover))
            lone = []
            start += batchSize
            done += batch.count
            bytes += batch.reduce(0) { $0 + $1.audioSize }
            progress(done, bytes)
        }
        try remover.finish()
        return report
    }

    /// What becomes of a half whose partner is absent.
    public enum LoneHalves: Sendable {
        /// One-shot ingest: reported (`sidecar_missing` / `audio_missing`) and left in place — the partner may
        /// still be on its way.
        case leaveInPlace
        /// The daemon, once `pair_timeout` has passed: quarantined with that reason.
        case quarantine
    }

    /// One batch: the body that the one-shot ingest and the daemon both run, under the ingest lock and after
    /// repair. Lone halves first (a lone sidecar of a stored call is resolved as a duplicate or a conflict),
    /// then the complete pairs, checked, placed and committed together.
    public func process(_ pairs: [InputPair], lone: [InputPair], halves: LoneHalves) throws -> IngestReport {
        try process(pairs, lone: lone, halves: halves, remover: nil)
    }

    func process(_ pairs: [InputPair], lone: [InputPair], halves: LoneHalves, remover: InputRemover?) throws -> IngestReport {
        guard vault.isShared else { return try processClaimed(pairs, lone: lone, halves: halves, remover: remover) }
        // Several workers may see the same pairs (a shared inbox): each pair is worked on by the one worker that
        // claimed it; the others leave it. Claims go when the batch is done, whatever its outcome: a pair that
        // failed waits in the inbox for whichever worker comes next.
        let worker = try IngestWorker.of(vault)
        try worker.expireDeadLocalWorkers()
        let keys = (pairs + lone).map(IngestWorker.key)
        let (held, takenOver) = try vault.catalog.claim(keys, worker: worker.id)
        defer { try? vault.catalog.releaseClaims(Array(held), worker: worker.id) }
        if takenOver > 0 {
            try vault.catalog.appendAudit([vault.event(.ingestClaimsTakenOver, target: nil, details: ["pairs": String(takenOver)])])
        }
        // Inputs are removed before the claims go (no background remover): another worker must not see a stored
        // pair's files as a new pair.
        return try processClaimed(pairs.filter { held.contains(IngestWorker.key($0)) }, lone: lone.filter { held.contains(IngestWorker.key($0)) },
                                  halves: halves, remover: nil)
    }

    func processClaimed(_ pairs: [InputPair], lone: [InputPair], halves: LoneHalves, remover: InputRemover?) throws -> IngestReport {
        var report = IngestReport()
        var toQuarantine: [Quarantine.Item] = []
        var events: [AuditEvent] = []
        for pair in lone {
            if pair.audio == nil, let outcome = try resolveStoredCall(pair) {
                report.merge(outcome)
                continue
            }
            let reason: ReasonCode = pair.sidecar == nil ? .sidecarMissing : .audioMissing
            switch halves {
            case .leaveInPlace:
                let detail = reason == .sidecarMissing ? "no \(pair.baseName).json beside the audio" : "no audio file beside the sidecar"
                report.rejected.append(.init(input: pair.input, reason: reason, detail: detail, quarantinePath: nil))
                events.append(vault.event(.ingestIncomplete, target: nil, details: ["reason": reason.rawValue]))
            case .quarantine:
                let detail = reason == .sidecarMissing ? "no \(pair.baseName).json arrived within the pair timeout" : "no audio file arrived within the pair timeout"
                toQuarantine.append(.init(pair: pair, rejection: Rejection(reason, detail), tenant: nil))
            }
        }
        if !events.isEmpty { try vault.catalog.appendAudit(events) }
        if !toQuarantine.isEmpty {
            let q = try Quarantine(vault: vault).quarantine(toQuarantine)
            report.rejected += q.rejected
            report.unreadable += q.unreadable
        }
        if !pairs.isEmpty { report.merge(try ingestBatch(pairs, remover: remover)) }
        return report
    }

    /// A sidecar alone whose call (tenant + call_id) is already stored. The audio goes first when a finished
    /// ingest removes its inputs, so a crash in between leaves the sidecar alone: when it is byte-identical to
    /// the stored call's sidecar it is that leftover (a duplicate, removed); when it differs it is
    /// `duplicate_conflict` and kept in quarantine — its metadata is never thrown away. Nil when the call is not
    /// stored (or the sidecar is invalid): an ordinary lone half.
    func resolveStoredCall(_ pair: InputPair) throws -> IngestReport? {
        guard pair.audio == nil, let path = pair.sidecar,
              case .valid(let sidecar, let digest, let file, _) = try check.readSidecar(path, defaultTenant: pair.defaultTenant),
              let stored = try vault.catalog.existing(tenant: sidecar.tenant, callID: sidecar.callID) else { return nil }
        var report = IngestReport()
        if stored.sidecarSHA256 == digest {
            try InboxFiles.remove(path, ifStill: file.identity)
            report.duplicates.append(.init(input: pair.input, recordingID: stored.id))
            try vault.catalog.appendAudit([vault.event(.ingestDuplicate, target: stored.id)])
        } else {
            let q = try Quarantine(vault: vault).quarantine([.init(pair: pair, rejection: Rejection(.duplicateConflict, "call_id already stored for this tenant with another sidecar (recording \(stored.id))"),
                                                                   tenant: sidecar.tenant, opened: [path: file])])
            report.rejected += q.rejected
            report.unreadable += q.unreadable
        }
        return report
    }

    /// Ingests complete pairs (audio and sidecar both present). Callers hold the ingest lock and have repaired.
    public func ingestBatch(_ pairs: [InputPair]) throws -> IngestReport {
        try ingestBatch(pairs, remover: nil)
    }

    func ingestBatch(_ pairs: [InputPair], remover: InputRemover?) throws -> IngestReport {
        var report = IngestReport()
        var toStore: [Prepared] = []
        var duplicates: [(InputPair, String, [String: FileIdentity])] = []
        var erased: [(InputPair, String, [String: FileIdentity])] = []
        var rejections: [Quarantine.Item] = []
        var inBatch: [String: (sha: String, sidecar: String?, id: String)] = [:]
        let check = try self.check

        // Checks run concurrently (copy, hash and decode are most of an ingest's time, and each pair has its own
        // staged copy); their verdicts are then taken in the pairs' order. A pair of a call already decided
        // earlier in this batch is checked again against it, in order, so two pairs of one call behave as they
        // would in two runs.
        let verdicts = Self.checkConcurrently(pairs, check)
        let stagedCopies = verdicts.compactMap { v -> StagedAudio? in
            if case .success(.store(let p)) = v { return p.staged } else { return nil }
        }
        var rechecked: [StagedAudio] = []
        do {
            for (pair, result) in zip(pairs, verdicts) {
                var verdict = try result.get()
                if case .store(let p) = verdict, inBatch[p.row.tenant + "/" + p.row.callID] != nil {
                    placement.discard(p.staged)
                    verdict = try check.check(pair, inBatch: inBatch)
                    if case .store(let again) = verdict { rechecked.append(again.staged) }
                }
                switch verdict {
                case .store(let p):
                    // The digest of the bytes received: a second delivery in this batch is compared with what it delivers.
                    inBatch[p.row.tenant + "/" + p.row.callID] = (p.row.receivedSHA256 ?? p.row.sha256, p.row.sidecarSHA256, p.row.id)
                    toStore.append(p)
                    CrashPoint.reached("ingest.after-stage")
                case .duplicate(let id, let inputs):
                    duplicates.append((pair, id, inputs))
                case .reject(let r, let tenant, let opened):
                    rejections.append(.init(pair: pair, rejection: r, tenant: tenant, opened: opened))
                case .unreadable(let detail):
                    report.unreadable.append(.init(input: pair.input, detail: detail))
                case .vanished:
                    break
                case .erased(let request, let inputs):
                    erased.append((pair, request, inputs))
                }
            }
        } catch {
            for staged in stagedCopies + rechecked { placement.discard(staged) }
            throw error
        }

        if !rejections.isEmpty {
            do {
                let q = try Quarantine(vault: vault).quarantine(rejections)
                report.rejected += q.rejected
                report.unreadable += q.unreadable
            } catch {
                for p in toStore { placement.discard(p.staged) }
                throw error
            }
        }
        if !toStore.isEmpty { report.stored = try store(toStore, remover: remover) }
        for (pair, id, inputs) in duplicates {
            try removeInputs(pair, inputs)
            report.duplicates.append(.init(input: pair.input, recordingID: id))
        }
        if !duplicates.isEmpty {
            try vault.catalog.appendAudit(duplicates.map { _, id, _ in vault.event(.ingestDuplicate, target: id) })
        }
        for (pair, request, inputs) in erased {
            try removeInputs(pair, inputs)
            report.erased.append(.init(input: pair.input, request: request))
        }
        if !erased.isEmpty {
            // Which request, never which call: the call id may carry a number, and the call is gone.
            try vault.catalog.appendAudit(erased.map { _, request, _ in
                vault.event(.ingestErasedRefused, target: request.isEmpty ? nil : request, details: ["reason": "erased"])
            })
        }
        if !report.unreadable.isEmpty {
            try vault.catalog.appendAudit([vault.event(.ingestLeftInPlace, target: nil, details: ["unreadable": String(report.unreadable.count)])])
        }
        return report
    }

    /// Each pair's verdict, or the vault failure its check met, on as many threads as the machine has cores.
    static func checkConcurrently(_ pairs: [InputPair], _ check: PairCheck) -> [Result<Verdict, any Error>] {
        let results = VerdictSlots(count: pairs.count)
        DispatchQueue.concurrentPerform(iterations: pairs.count) { i in
            results.set(i, Result { try check.check(pairs[i], inBatch: [:]) })
        }
        return results.all
    }

    /// Places, syncs, commits, then removes inputs — the order of SPEC §3, batched.
    func store(_ items: [Prepared], removingInputs: Bool = true, remover: InputRemover? = nil) throws -> [IngestReport.Stored] {
        let placement = try workerPlacement()
        try placement.place(items.map { PlacementItem(recordingID: $0.row.id, staged: $0.staged, audioPath: $0.row.audioPath, native: $0.native) }) {
            try vault.catalog.commitRecordings(items.map(\.row), events: items.flatMap { item in
                var details = ["tenant": item.row.tenant, "call_id": item.row.callID, "sha256": item.row.sha256]
                if let policy = item.row.holdPolicy { details["hold_music"] = policy; details["hold_segments"] = String(item.holdSegments.count) }
                var events = [vault.event(.ingestStored, target: item.row.id, details: details)]
                // The redaction is a transformation of what was received: its own event, naming what was silenced.
                if let received = item.row.receivedSHA256 {
                    events.append(vault.event(.recordingHoldRedacted, target: item.row.id, details: [
                        "tenant": item.row.tenant, "received_sha256": received, "stored_sha256": item.row.sha256,
                        "segments": Self.segmentsText(item.holdSegments)]))
                }
                return events
            }, waveforms: items.map { WaveformRow(recordingID: $0.row.id, peaks: $0.waveform) },
               holdSegments: items.flatMap { item in item.holdSegments.map { HoldSegmentRow(recordingID: item.row.id, segment: $0) } },
               worker: placement.scope?.worker)
        }
        var stored: [IngestReport.Stored] = []
        for item in items {
            if removingInputs {
                if let remover {
                    let (pair, inputs) = (item.pair, item.inputs)
                    remover.remove { try self.removeInputs(pair, inputs) }
                } else {
                    try removeInputs(item.pair, item.inputs)
                }
            }
            stored.append(.init(input: item.pair.input, recordingID: item.row.id, callID: item.row.callID,
                                tenant: item.row.tenant, audioExpiresAt: item.row.audioExpiresAt,
                                metadataExpiresAt: item.row.metadataExpiresAt, alreadyExpired: item.alreadyExpired,
                                secondsOnHold: Double(item.row.holdMs ?? 0) / 1000, redacted: item.row.receivedSHA256 != nil))
        }
        return stored
    }

    /// Segments as the audit names them: `31.2-75.0 s acme-classic; …`.
    static func segmentsText(_ segments: [HoldSegment]) -> String {
        segments.map { String(format: "%.1f-%.1f s %@", $0.startS, $0.endS, $0.track) }.joined(separator: "; ")
    }

    /// Removes a pair's inbox files once its outcome is durable. Audio goes first: a crash in between leaves a
    /// lone sidecar identical to the stored one, which the next run removes as a duplicate, never a loss.
    func removeInputs(_ pair: InputPair, _ inputs: [String: FileIdentity]) throws {
        for path in [pair.audio, pair.sidecar].compactMap({ $0 }) {
            try InboxFiles.remove(path, ifStill: inputs[path])
            CrashPoint.reached("ingest.after-remove-input")
        }
    }
}

/// The verdicts of a batch's concurrent checks, one slot per pair, filled from several threads.
final class VerdictSlots: @unchecked Sendable {
    private let lock = NSLock()
    private var slots: [Result<Verdict, any Error>?]

    init(count: Int) { slots = Array(repeating: nil, count: count) }

    func set(_ i: Int, _ r: Result<Verdict, any Error>) { lock.withLock { slots[i] = r } }

    var all: [Result<Verdict, any Error>] { lock.withLock { slots.map { $0! } } }
}
