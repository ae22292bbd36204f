// Ingest (SPEC §3): validate, probe, hash, place durably, commit, and only then remove the inbox files.
import CallVaultAudio
import CallVaultCore
import CallVaultStore
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
    public var stored: [Stored] = []
    public var duplicates: [Duplicate] = []
    public var rejected: [Rejected] = []
    public var unreadable: [Unreadable] = []

    public init() {}

    public mutating func merge(_ other: IngestReport) {
        stored += other.stored
        duplicates += other.duplicates
        rejected += other.rejected
        unreadable += other.unreadable
    }
}

/// Ingests input pairs into a vault. Pairs are processed in batches: all placements of a batch become durable
/// with one file-system sync and one catalog transaction (group commit); nothing is reported stored or removed
/// from the inbox before its row is committed.
public struct Ingestor: Sendable {
    public let vault: Vault
    public var batchSize = 128

    public init(vault: Vault) { self.vault = vault }

    /// One-shot ingest of files and folders: repair first, then every pair; a half without its partner is
    /// reported (`sidecar_missing` / `audio_missing`) and left in place.
    public func ingest(paths: [String]) throws -> IngestReport {
        try vault.withIngestLock {
            try Repair(vault: vault).run()
            let pairs = try InboxScan.pairs(in: paths) { vault.configuration.tenants[$0] != nil }
            var report = IngestReport()
            var complete: [InputPair] = []
            var incompleteEvents: [AuditEvent] = []
            for pair in pairs {
                if pair.audio != nil, pair.sidecar != nil {
                    complete.append(pair)
                } else if let id = try storedCallOfLoneSidecar(pair) {
                    // The audio went first when a finished ingest removed its inputs; a crash before the
                    // sidecar followed leaves it alone. Its call is stored: finish the removal.
                    try removeInputs(pair)
                    report.duplicates.append(.init(input: pair.input, recordingID: id))
                } else {
                    let reason: ReasonCode = pair.sidecar == nil ? .sidecarMissing : .audioMissing
                    let detail = reason == .sidecarMissing ? "no \(pair.baseName).json beside the audio" : "no audio file beside the sidecar"
                    report.rejected.append(.init(input: pair.input, reason: reason, detail: detail, quarantinePath: nil))
                    incompleteEvents.append(AuditEvent(at: vault.clock.now(), actor: vault.actor, action: "ingest.incomplete",
                                                       target: nil, details: ["reason": reason.rawValue]))
                }
            }
            if !incompleteEvents.isEmpty { try vault.catalog.appendAudit(incompleteEvents) }
            var start = 0
            while start < complete.count {
                let batch = Array(complete[start..<min(start + batchSize, complete.count)])
                report.merge(try ingestBatch(batch))
                start += batchSize
            }
            return report
        }
    }

    /// Halves whose partner never came within the pair timeout (the daemon): a lone sidecar whose call is
    /// already stored is the leftover of a finished ingest and is removed (duplicate); every other half is
    /// quarantined as `sidecar_missing` / `audio_missing`. Callers hold the ingest lock.
    public func resolveLone(_ pairs: [InputPair]) throws -> IngestReport {
        var report = IngestReport()
        var toQuarantine: [(InputPair, Rejection, String?)] = []
        for pair in pairs {
            if let id = try storedCallOfLoneSidecar(pair) {
                try removeInputs(pair)
                report.duplicates.append(.init(input: pair.input, recordingID: id))
            } else if pair.audio != nil {
                toQuarantine.append((pair, Rejection(.sidecarMissing, "no \(pair.baseName).json arrived within the pair timeout"), nil))
            } else {
                toQuarantine.append((pair, Rejection(.audioMissing, "no audio file arrived within the pair timeout"), nil))
            }
        }
        if !toQuarantine.isEmpty { report.rejected = try quarantine(toQuarantine) }
        return report
    }

    /// The recording id when `pair` is a sidecar alone whose call (tenant + call_id) is already stored.
    func storedCallOfLoneSidecar(_ pair: InputPair) throws -> String? {
        guard pair.audio == nil, let path = pair.sidecar,
              let data = FileManager.default.contents(atPath: path), data.count <= Sidecar.maxBytes,
              case .success(let sidecar) = Sidecar.validate(data, defaultTenant: pair.defaultTenant,
                                                            isKnownTenant: { vault.configuration.tenants[$0] != nil },
                                                            now: vault.clock.now())
        else { return nil }
        return try vault.catalog.existing(tenant: sidecar.tenant, callID: sidecar.callID)?.id
    }

    /// The verdict on one pair before anything is written.
    enum Verdict {
        case store(Prepared)
        case duplicate(recordingID: String)
        case reject(Rejection, tenant: String?)
    }

    struct Prepared {
        var pair: InputPair
        var row: RecordingRow
        var tempPath: String
        var alreadyExpired: Bool
    }

    /// Ingests complete pairs (audio and sidecar both present). Callers hold the ingest lock and have repaired.
    public func ingestBatch(_ pairs: [InputPair]) throws -> IngestReport {
        var report = IngestReport()
        var toStore: [Prepared] = []
        var duplicates: [(InputPair, String)] = []
        var rejections: [(InputPair, Rejection, String?)] = []
        // Calls already decided in this batch (tenant/call_id → sha256, id), so two pairs of one call in one
        // batch behave as they would in two runs.
        var inBatch: [String: (sha: String, id: String)] = [:]

        for pair in pairs {
            switch try evaluate(pair, inBatch: inBatch) {
            case .store(let p):
                inBatch[p.row.tenant + "/" + p.row.callID] = (p.row.sha256, p.row.id)
                toStore.append(p)
            case .duplicate(let id):
                duplicates.append((pair, id))
            case .reject(let r, let tenant):
                rejections.append((pair, r, tenant))
            }
        }

        if !rejections.isEmpty { report.rejected = try quarantine(rejections) }
        if !toStore.isEmpty { report.stored = try store(toStore) }
        for (pair, id) in duplicates {
            try removeInputs(pair)
            report.duplicates.append(.init(input: pair.input, recordingID: id))
        }
        if !duplicates.isEmpty {
            try vault.catalog.appendAudit(duplicates.map { _, id in
                AuditEvent(at: vault.clock.now(), actor: vault.actor, action: "ingest.duplicate", target: id)
            })
        }
        return report
    }

    // MARK: evaluation (reads only)

    func evaluate(_ pair: InputPair, inBatch: [String: (sha: String, id: String)]) throws -> Verdict {
        let config = vault.configuration
        guard let audioPath = pair.audio, let sidecarPath = pair.sidecar else {
            preconditionFailure("ingestBatch takes complete pairs")
        }
        let audioFD = open(audioPath, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard audioFD >= 0 else { throw inputFailure("cannot open", audioPath) }
        defer { close(audioFD) }
        var st = stat()
        guard fstat(audioFD, &st) == 0 else { throw inputFailure("cannot stat", audioPath) }
        let audioSize = Int64(st.st_size)

        var sst = stat()
        guard lstat(sidecarPath, &sst) == 0 else { throw inputFailure("cannot stat", sidecarPath) }

        // too_large
        if audioSize > config.maxAudioBytes {
            return .reject(Rejection(.tooLarge, "audio is \(audioSize) bytes, over the maximum of \(config.maxAudioBytes)"), tenant: pair.defaultTenant)
        }
        if Int(sst.st_size) > Sidecar.maxBytes {
            return .reject(Rejection(.tooLarge, "sidecar is over 64 KiB"), tenant: pair.defaultTenant)
        }
        guard let sidecarData = FileManager.default.contents(atPath: sidecarPath) else {
            throw inputFailure("cannot read", sidecarPath)
        }

        // sidecar_invalid … announcement_missing
        let now = vault.clock.now()
        let sidecar: Sidecar
        switch Sidecar.validate(sidecarData, defaultTenant: pair.defaultTenant,
                                isKnownTenant: { config.tenants[$0] != nil }, now: now) {
        case .success(let s): sidecar = s
        case .failure(let r): return .reject(r, tenant: config.tenants[pair.defaultTenant ?? ""] != nil ? pair.defaultTenant : nil)
        }
        let tenant = config.tenants[sidecar.tenant]!

        // audio_unreadable, audio_empty, audio_truncated
        let facts: AudioFacts
        switch AudioProbe.probe(fd: audioFD, fileSize: audioSize) {
        case .success(let f): facts = f
        case .failure(let r): return .reject(r, tenant: sidecar.tenant)
        }

        // duration_mismatch
        if let stated = sidecar.statedDuration {
            let allowed = 5 + 0.02 * stated
            let diff = abs(stated - facts.durationSeconds)
            if diff > allowed {
                return .reject(Rejection(.durationMismatch, String(format: "ended_at - started_at is %.1f s but the audio lasts %.1f s", stated, facts.durationSeconds)), tenant: sidecar.tenant)
            }
        }

        // announcement_not_detected: hear the prompt in the audio when the tenant asks for it (SPEC §5).
        var verdict: AnnouncementVerdict?
        if tenant.announcement.verify != .off {
            let v: AnnouncementVerdict
            do { v = try vault.prompts.check(fd: audioFD, tenant: tenant) } catch let e as VaultError {
                return .reject(Rejection(.audioUnreadable, "decoding for announcement verification failed: \(e.message)"), tenant: sidecar.tenant)
            }
            if !v.detected, tenant.announcement.verify == .enforce {
                let window = Int(tenant.announcement.window.approximateSeconds)
                return .reject(Rejection(.announcementNotDetected, String(format: "no configured prompt heard in the first %d s (best score %.2f, threshold %.2f)",
                                                                          window, v.score, tenant.announcement.threshold)), tenant: sidecar.tenant)
            }
            verdict = v
        }

        let digest: (hex: String, bytes: Int64)
        do { digest = try FileDigest.sha256(fd: audioFD) } catch { throw inputFailure("cannot read", audioPath) }

        // duplicate / duplicate_conflict
        let key = sidecar.tenant + "/" + sidecar.callID
        let earlier = try inBatch[key] ?? vault.catalog.existing(tenant: sidecar.tenant, callID: sidecar.callID).map { ($0.sha256, $0.id) }
        if let (sha, id) = earlier {
            if sha == digest.hex { return .duplicate(recordingID: id) }
            return .reject(Rejection(.duplicateConflict, "call_id already stored for this tenant with other audio (recording \(id))"), tenant: sidecar.tenant)
        }

        let id = RecordingID.make(at: now)
        let expiries = tenant.retention.expiries(startedAt: sidecar.startedAt, in: tenant.timeZone)
        let dir = Self.audioDirectory(tenant: tenant, startedAt: sidecar.startedAt)
        let audioRel = "\(dir)/\(id).\(facts.container)"
        var row = RecordingRow(
            id: id, tenant: sidecar.tenant, callID: sidecar.callID, sha256: digest.hex,
            startedAt: Timestamp.utc(sidecar.startedAt), endedAt: sidecar.endedAt.map(Timestamp.utc),
            durationS: (facts.durationSeconds * 1000).rounded() / 1000, direction: sidecar.direction.rawValue,
            agentID: sidecar.agentID, team: sidecar.team, caller: sidecar.caller, callee: sidecar.callee,
            queue: sidecar.queue, site: sidecar.site, announcementFlag: sidecar.announcementPlayed,
            announcementPrompt: sidecar.announcementPrompt, announcementAtMs: sidecar.announcementAtMs,
            announcementVerified: "not_checked",
            labels: JSONValue.object(sidecar.labels.mapValues { .string($0) }).jsonText,
            extra: JSONValue.object(sidecar.extra).jsonText,
            format: facts.format, sampleRate: facts.sampleRate, channels: facts.channels, frames: facts.frames,
            audioBytes: digest.bytes, audioPath: audioRel, audioExpiresAt: Timestamp.utc(expiries.audio),
            metadataExpiresAt: Timestamp.utc(expiries.metadata), ingestedAt: Timestamp.utc(now))
        if let v = verdict {
            row.announcementVerified = v.detected ? "yes" : "no"
            row.announcementMatch = v.prompt
            row.announcementOffsetMs = v.offsetMs
            row.announcementScore = (v.score * 1000).rounded() / 1000
        }
        return .store(Prepared(pair: pair, row: row, tempPath: "\(dir)/.\(id).\(facts.container).tmp",
                               alreadyExpired: expiries.audio <= now))
    }

    /// `audio/TENANT/YYYY/MM/DD`, the call's local date in the tenant's time zone.
    static func audioDirectory(tenant: Tenant, startedAt: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = tenant.timeZone
        let c = calendar.dateComponents([.year, .month, .day], from: startedAt)
        return String(format: "%@/%@/%04d/%02d/%02d", Vault.audioDirectory, tenant.name, c.year!, c.month!, c.day!)
    }

    func inputFailure(_ what: String, _ path: String) -> VaultError {
        VaultError.failure("\(what) \(path): \(String(cString: strerror(errno)))")
    }

    // MARK: writing

    /// Places, syncs, commits, then removes inputs — the order of SPEC §3, batched.
    func store(_ items: [Prepared]) throws -> [IngestReport.Stored] {
        let files = vault.files
        let catalog = vault.catalog
        try catalog.recordPending(items.map { PendingPlacement(recordingID: $0.row.id, audioPath: $0.row.audioPath, tempPath: $0.tempPath) })
        CrashPoint.reached("ingest.after-pending")
        do {
            for item in items {
                let dir = String(item.row.audioPath[..<item.row.audioPath.lastIndex(of: "/")!])
                try files.makeDirectories(dir)
                let source = item.pair.audio!
                let fd = open(source, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
                guard fd >= 0 else { throw inputFailure("cannot open", source) }
                defer { close(fd) }
                try files.place(source: source, sourceFD: fd, at: item.tempPath)
                CrashPoint.reached("ingest.after-place")
            }
            try files.syncFileSystem()
            CrashPoint.reached("ingest.after-sync")
            for item in items {
                try files.rename(item.tempPath, to: item.row.audioPath)
                CrashPoint.reached("ingest.after-rename")
            }
            try files.syncFileSystem()
            CrashPoint.reached("ingest.after-sync-renames")
            let now = vault.clock.now()
            try catalog.commitRecordings(items.map(\.row), events: items.map { item in
                AuditEvent(at: now, actor: vault.actor, action: "ingest.stored", target: item.row.id,
                           details: ["tenant": item.row.tenant, "call_id": item.row.callID, "sha256": item.row.sha256])
            })
            CrashPoint.reached("ingest.after-commit")
        } catch {
            // The vault failed: undo what was placed so the inputs, still in the inbox, can be retried.
            for item in items {
                _ = try? files.remove(item.tempPath)
                _ = try? files.remove(item.row.audioPath)
            }
            try? catalog.clearPending(items.map(\.row.id))
            throw error
        }
        var stored: [IngestReport.Stored] = []
        for item in items {
            try removeInputs(item.pair)
            stored.append(.init(input: item.pair.input, recordingID: item.row.id, callID: item.row.callID,
                                tenant: item.row.tenant, audioExpiresAt: item.row.audioExpiresAt,
                                metadataExpiresAt: item.row.metadataExpiresAt, alreadyExpired: item.alreadyExpired))
        }
        return stored
    }

    /// Removes a pair's inbox files once its outcome is durable. Audio goes first: a crash in between leaves a
    /// lone sidecar whose call is already stored, which the next run reports as `audio_missing`, never a loss.
    func removeInputs(_ pair: InputPair) throws {
        for path in [pair.audio, pair.sidecar].compactMap({ $0 }) {
            if unlink(path) != 0, errno != ENOENT { throw inputFailure("cannot remove inbox file", path) }
            CrashPoint.reached("ingest.after-remove-input")
        }
    }

    /// Moves rejected pairs into `quarantine/YYYY-MM-DD/ID/` with `reason.json`, then registers them.
    func quarantine(_ items: [(InputPair, Rejection, String?)]) throws -> [IngestReport.Rejected] {
        let now = vault.clock.now()
        let day = String(Timestamp.utc(now).prefix(10))
        var rows: [RejectionRow] = []
        var events: [AuditEvent] = []
        var out: [IngestReport.Rejected] = []
        for (pair, rejection, tenant) in items {
            let id = RecordingID.make(at: now)
            let dir = "\(Vault.quarantineDirectory)/\(day)/\(id)"
            try vault.files.makeDirectories(dir)
            let inputs = [pair.audio, pair.sidecar].compactMap { $0 }
            let reason = QuarantineReason(id: id, reason: rejection.reason.rawValue, detail: rejection.detail,
                                          at: Timestamp.utc(now), tenant: tenant,
                                          inputs: inputs.map { .init(name: URL(fileURLWithPath: $0).lastPathComponent, from: absolutePath($0)) })
            // reason.json first: it names where each input came from, so repair can finish an interrupted move.
            try vault.files.writeFile(reason.encoded(), at: dir + "/reason.json")
            CrashPoint.reached("quarantine.after-reason")
            for input in reason.inputs {
                try vault.files.moveIn(source: input.from, to: dir + "/" + input.name)
                CrashPoint.reached("quarantine.after-move")
            }
            rows.append(RejectionRow(id: id, at: reason.at, tenant: tenant, reason: reason.reason, detail: reason.detail, quarantinePath: dir))
            events.append(AuditEvent(at: now, actor: vault.actor, action: "ingest.rejected", target: id,
                                     details: ["reason": reason.reason] .merging(tenant.map { ["tenant": $0] } ?? [:]) { a, _ in a }))
            out.append(.init(input: pair.input, reason: rejection.reason, detail: rejection.detail, quarantinePath: dir))
        }
        try vault.files.syncFileSystem()
        try vault.catalog.commitRejections(rows, events: events)
        return out
    }

    func absolutePath(_ path: String) -> String {
        path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
    }
}

/// The content of `reason.json` in a quarantine folder.
struct QuarantineReason: Codable {
    struct Input: Codable {
        var name: String
        var from: String
    }
    var id: String
    var reason: String
    var detail: String
    var at: String
    var tenant: String?
    var inputs: [Input]

    func encoded() throws -> Data {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try e.encode(self)
    }
}
