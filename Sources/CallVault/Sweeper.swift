// The expiry sweeper (SPEC §6): deletes what is due and not held, audio before metadata, resumably.
import CallVaultCore
import CallVaultStore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

public struct SweepReport: Sendable {
    public var now: Date
    public var dryRun: Bool
    /// A simulated now was asked of a store that is not a simulation store: the sweep ran as a dry run.
    public var dryRunForced = false
    public var audioDeleted = 0
    public var metadataDeleted = 0
    public var quarantineDeleted = 0
    /// Audio the catalog had as present but that was already gone on disk: recorded as such.
    public var audioFoundMissing = 0
    /// Due recordings kept because a hold is active.
    public var held = 0
    /// Due, not held, not deleted — after the sweep (0 unless there were errors, or in a dry run: what is due).
    public var overdue = 0
    public var errors: [(recordingID: String, detail: String)] = []
    /// Another sweep held the catalog's sweeper lock: this one did nothing.
    public var alreadyRunning = false
}

public struct Sweeper: Sendable {
    public let vault: Vault
    public var batchSize = 5000

    public init(vault: Vault) { self.vault = vault }

    /// Sweeps at the wall clock, or at `simulatedNow` (`sweep --now`), which only a simulation store honours:
    /// elsewhere the sweep runs as a dry run, and the report says so (`dryRunForced`).
    public func sweep(simulatedNow: Date?, dryRun: Bool) throws -> SweepReport {
        try vault.require(Role.officers, to: "sweep")
        guard let simulatedNow else { return try sweep(now: vault.clock.now(), dryRun: dryRun) }
        let honoured = try vault.isSimulation()
        var report = try sweep(now: simulatedNow, dryRun: dryRun || !honoured, simulated: true)
        report.dryRunForced = !honoured && !dryRun
        return report
    }

    /// Sweeps at `now`. A dry run changes nothing and reports what a sweep would delete. With `simulated`
    /// (`sweep --now` on a simulation store), `now` is not the wall clock: the events keep the wall clock as
    /// their time, so the chain's times never run backwards, and carry the simulated instant as `simulated_now`.
    public func sweep(now: Date, dryRun: Bool, simulated: Bool = false) throws -> SweepReport {
        try vault.require(Role.officers, to: "sweep")
        var report = SweepReport(now: now, dryRun: dryRun)
        let catalog = vault.catalog
        let event: SweepEventFactory = { action, target, details in
            var d = details
            if simulated { d["simulated_now"] = Timestamp.utc(now) }
            return vault.event(action, target: target, details: d)
        }
        if dryRun {
            let due = try catalog.dueCounts(at: now)
            report.audioDeleted = due.audio
            report.metadataDeleted = due.metadata
            report.held = due.held
            report.overdue = due.audio + due.metadata
            report.quarantineDeleted = try dueQuarantine(now: now).count
            return report
        }
        // One sweeper at a time on a catalog, whichever host its timer fired on: a second one says so and leaves.
        guard let exclusive = try catalog.exclusive(.sweeper) else {
            report.alreadyRunning = true
            return report
        }
        defer { exclusive.release() }
        report.held = try catalog.dueCounts(at: now).held

        let files = vault.files
        let remove = Self.audioRemover(files)
        func tally(_ swept: [(SweptRecording, AudioRemoval)], metadata: Bool) {
            for (r, result) in swept {
                switch result {
                case .removed:
                    if !metadata || r.audioPresent { report.audioDeleted += 1 }
                    if metadata { report.metadataDeleted += 1 }
                case .alreadyMissing:
                    report.audioFoundMissing += 1
                    if metadata { report.metadataDeleted += 1 }
                case .failed(let detail):
                    report.errors.append((r.id, detail))
                }
            }
        }

        // A sweeper whose lock went with its connection stops: another may have started meanwhile. Each batch
        // decides under the catalog's write lock, so this keeps the one-sweeper promise, not correctness.
        func stillTheSweeper() throws {
            guard exclusive.isHeld else {
                throw VaultError.failure("sweep: the sweeper lock was lost (the connection to the catalog closed); stopped — the next sweep resumes")
            }
        }
        // Audio first, then metadata: a row whose audio is still due keeps pointing at it until then.
        var after: SweepKey? = nil
        repeat {
            try stillTheSweeper()
            let (swept, last) = try catalog.sweepAudio(at: now, after: after, limit: batchSize, event: event,
                                                       remove: remove, sync: { try files.syncFileSystem() })
            tally(swept, metadata: false)
            after = last
            CrashPoint.reached("sweep.after-audio-batch")
        } while after != nil
        after = nil
        repeat {
            try stillTheSweeper()
            let (swept, last) = try catalog.sweepMetadata(at: now, after: after, limit: batchSize, event: event,
                                                          remove: remove, sync: { try files.syncFileSystem() })
            tally(swept, metadata: true)
            after = last
        } while after != nil

        let dueQ = try dueQuarantine(now: now)
        var deletedQ: [String] = []
        for row in dueQ {
            do {
                try files.removeTree(row.quarantinePath)
                deletedQ.append(row.id)
            } catch let e as VaultError {
                report.errors.append((row.id, e.message))
            }
        }
        if !deletedQ.isEmpty {
            try files.syncFileSystem()
            try catalog.markRejectionsDeleted(deletedQ, at: now, event: event)
        }
        report.quarantineDeleted = deletedQ.count

        let after2 = try catalog.dueCounts(at: now)
        report.overdue = after2.audio + after2.metadata
        try catalog.appendAudit([event(.sweepFinished, nil, [
            "now": Timestamp.utc(now), "audio_deleted": String(report.audioDeleted),
            "metadata_deleted": String(report.metadataDeleted), "quarantine_deleted": String(report.quarantineDeleted),
            "found_missing": String(report.audioFoundMissing), "errors": String(report.errors.count),
            "overdue": String(report.overdue),
        ])])
        return report
    }

    /// How the sweeper removes a recording's audio; erasures (data-subject requests) remove it the same way.
    static func audioRemover(_ files: StoreFiles) -> (SweptRecording) -> AudioRemoval {
        { r in
            CrashPoint.reached("sweep.before-remove")
            // The audio first, then the recorder's documents: a transaction that rolls back after this (kill -9, a
            // hold that wins) leaves at worst documents of audio already gone, which the next sweep finds missing
            // and removes with them — never a stored call without its documents.
            let removed: AudioRemoval
            if unlink(files.absolute(r.audioPath)) == 0 {
                removed = .removed
            } else if errno == ENOENT {
                removed = .alreadyMissing
            } else {
                return .failed("cannot remove \(r.audioPath): \(String(cString: strerror(errno)))")
            }
            CrashPoint.reached("sweep.between-audio-and-native")
            do { try files.removeTree(Placement.nativeFolder(forAudioPath: r.audioPath)) } catch let e as VaultError {
                return .failed(e.message)
            } catch { return .failed("\(error)") }
            return removed
        }
    }

    /// The sweeper's way of deleting whole recordings, for an erasure by the acting user.
    static func erasureEffects(_ vault: Vault) -> ErasureEffects {
        let files = vault.files
        // The key is read once per erasure, when the first tombstone needs it (a release that erases nothing
        // never touches it).
        var key: SubjectKey?
        return ErasureEffects(remove: audioRemover(files), sync: { try files.syncFileSystem() },
                              event: { action, target, details in vault.event(action, target: target, details: details) },
                              tombstone: { tenant, callID, sha in
                                  if key == nil { key = try SubjectKey.load(vault) }
                                  return key!.tombstone(tenant: tenant, callID: callID, sha256: sha)
                              })
    }

    /// Quarantine entries past the quarantine period, counted on the configured time zone's calendar.
    func dueQuarantine(now: Date) throws -> [RejectionRow] {
        let period = vault.configuration.quarantineRetention
        return try vault.catalog.liveRejections().filter { row in
            guard let at = Timestamp.parse(row.at) else { return false }
            return period.added(to: at, in: vault.configuration.timeZone) <= now
        }
    }
}

/// Holds and retention changes: the compliance officer's use cases.
public struct Holds: Sendable {
    public let vault: Vault

    public init(vault: Vault) { self.vault = vault }

    static let officers = Role.officers

    public func place(kind: HoldKind, caseRef: String, note: String?, reviewAt: Date?, selection: HoldSelection)
        throws -> (holdID: String, recordings: Int, metadataOnly: Int) {
        try vault.require(Self.officers, to: "hold place")
        guard !caseRef.trimmingCharacters(in: .whitespaces).isEmpty else { throw VaultError(.usage, "--case: a case reference is required") }
        guard !selection.isEmpty else {
            throw VaultError(.usage, "choose recordings with --recording, --call-id or a query (--tenant --caller --agent --queue --from --to)")
        }
        let selection = try normalised(selection)
        let now = vault.clock.now()
        let id = RecordingID.make(at: now)
        let hold = HoldRow(id: id, kind: kind, caseRef: caseRef, note: note, placedBy: vault.actor,
                           placedAt: Timestamp.utc(now), reviewAt: reviewAt.map(Timestamp.utc))
        let (n, metadataOnly) = try vault.catalog.placeHold(hold, selection: selection,
                                                            event: vault.event(.holdPlaced, target: id, details: ["kind": kind.rawValue]))
        guard n > 0 else { throw VaultError(.usage, "no recording matches; no hold placed") }
        return (id, n, metadataOnly)
    }

    /// A number read as ingest stores it: "0470 12 34 56" finds what +32470123456 finds.
    func normalised(_ selection: HoldSelection) throws -> HoldSelection {
        var selection = selection
        if let caller = selection.caller {
            selection.caller = try vault.phoneNumbers([caller], tenant: selection.tenant, option: "--caller").first!
        }
        return selection
    }

    /// What a hold placed now with `selection` would take: the newest `limit` calls and how many in all
    /// (officers; audited as a listing, its filters by name — never the number searched).
    public func preview(_ selection: HoldSelection, limit: Int = 200) throws -> (calls: [HoldCandidate], total: Int) {
        try vault.require(Self.officers, to: "hold place")
        guard !selection.isEmpty else { return ([], 0) }
        let found = try vault.catalog.holdCandidates(try normalised(selection), limit: limit)
        var details = ["via": "hold preview", "results": String(found.total)]
        for (name, given) in [("tenant", selection.tenant), ("caller", selection.caller), ("agent", selection.agent), ("queue", selection.queue)] where given != nil {
            details[name] = name == "caller" ? "given" : given!
        }
        try vault.catalog.appendAudit([vault.event(.list, target: nil, details: details)])
        return found
    }

    /// The calls of a hold by start time, for its page.
    public func calls(ofHold id: String) throws -> [HoldCandidate] {
        try vault.require(Self.officers, to: "hold show")
        guard RecordingID.isWellFormed(id) else { throw vault.refuseInvalidID(action: "hold show", what: "hold") }
        return try vault.catalog.holdCalls(holdID: id)
    }

    /// `confirmErasure`: required when the release erases calls waiting for an erasure (refused otherwise, exit 2).
    public func release(id: String, note: String, confirmErasure: Bool = false) throws {
        try vault.require(Self.officers, to: "hold release")
        guard RecordingID.isWellFormed(id) else { throw vault.refuseInvalidID(action: "hold release", what: "hold") }
        guard !note.trimmingCharacters(in: .whitespaces).isEmpty else { throw VaultError(.usage, "--note: say why the hold is released") }
        // Calls whose erasure waited for this hold are erased in the release's transaction.
        let released = try vault.catalog.releaseHold(id: id, by: vault.actor, note: note, at: vault.clock.now(),
                                                     event: vault.event(.holdReleased, target: id),
                                                     erasure: Sweeper.erasureEffects(vault), confirmedErasure: confirmErasure)
        guard released else { throw VaultError(.notFound, "hold \(id): no such active hold") }
    }

    /// Per request, the calls that releasing hold `id` would erase now (officers; shown before a release).
    public func erasuresWaiting(onHold id: String) throws -> [(request: String, calls: Int)] {
        try vault.require(Self.officers, to: "hold show")
        guard RecordingID.isWellFormed(id) else { throw vault.refuseInvalidID(action: "hold show", what: "hold") }
        return try vault.catalog.erasuresWaiting(onHold: id)
    }

    /// Holds with their recording counts (officers only; audited). `dueForReview`: only active holds whose
    /// review date has passed (as of the vault's clock), the longest overdue first.
    public func list(activeOnly: Bool, dueForReview: Bool = false) throws -> [(HoldView, Int)] {
        try vault.require(Self.officers, to: "hold list")
        let holds = dueForReview ? try vault.catalog.holdsDueForReview(at: vault.clock.now()) : try vault.catalog.holds(activeOnly: activeOnly)
        var details = ["results": String(holds.count), "active_only": String(activeOnly || dueForReview)]
        if dueForReview { details["due_for_review"] = "true" }
        try vault.catalog.appendAudit([vault.event(.holdList, target: nil, details: details)])
        return holds.map { (HoldView($0.0), $0.1) }
    }

    /// One hold and its items (officers only; audited).
    public func show(id: String) throws -> (HoldView, [(recordingID: String, metadataOnly: Bool)]) {
        try vault.require(Self.officers, to: "hold show")
        guard RecordingID.isWellFormed(id) else { throw vault.refuseInvalidID(action: "hold show", what: "hold") }
        guard let found = try vault.catalog.hold(id: id) else { throw VaultError(.notFound, "hold \(id): no such hold") }
        try vault.catalog.appendAudit([vault.event(.holdShow, target: id)])
        return (HoldView(found.0), found.1)
    }

    /// Recomputes the stored expiry instants of a tenant (or all) after a policy change (SPEC §6).
    public func reapplyRetention(tenant: String?) throws -> [(tenant: String, earlier: Int, later: Int)] {
        try vault.require(Self.officers, to: "retention reapply")
        let tenants: [Tenant]
        if let name = tenant {
            guard let t = vault.configuration.tenants[name] else { throw VaultError(.usage, "--tenant \(name): not configured") }
            tenants = [t]
        } else {
            tenants = vault.configuration.tenants.values.sorted { $0.name < $1.name }
        }
        return try tenants.map { t in
            let (e, l) = try vault.catalog.reapplyRetention(
                tenant: t.name, expiries: { t.retention.expiries(startedAt: $0, in: t.timeZone) },
                event: vault.event(.retentionReapplied, target: nil,
                                   details: ["audio": t.retention.audio.text, "metadata": t.retention.metadata.text]))
            return (t.name, e, l)
        }
    }
}
