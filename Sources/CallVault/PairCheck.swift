// Checking one input pair (SPEC §3 steps 1–3): sidecar, audio, announcement, duplicates — in the order of the
// reason codes. The audio is checked on the vault's own staged copy, so the bytes checked are the bytes stored.
import CallVaultAudio
import CallVaultCore
import CallVaultStore
import Crypto
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The verdict on one pair before anything is committed.
enum Verdict: Sendable {
    case store(Prepared)
    case duplicate(recordingID: String, inputs: [String: FileIdentity])
    /// With the inputs as opened and checked: quarantine copies these descriptors, not whatever the names hold later.
    case reject(Rejection, tenant: String?, inputs: [String: InputFile])
    /// The vault user cannot open or read an input: left in place, reported, tried again later.
    case unreadable(String)
    /// An input is gone since the scan (another worker took the pair): dropped without a word.
    case vanished
    /// A call erased at a subject's request, delivered again (a recorder's retry, a backup restored into the
    /// inbox): neither stored nor quarantined; its inputs are removed. `request` is the request that erased it.
    case erased(request: String, inputs: [String: FileIdentity])
}

struct Prepared: Sendable {
    var pair: InputPair
    /// What each inbox path referred to when it was read: only those files are removed after the commit.
    var inputs: [String: FileIdentity]
    var row: RecordingRow
    var staged: StagedAudio
    var alreadyExpired: Bool
    /// Peaks from the probe's decode, kept with the row at commit.
    var waveform: WaveformPeaks
    /// The recorder's documents about the call, verbatim (file name → bytes), stored beside the audio.
    var native: [String: Data]
    /// Where registered hold music was heard (empty when none was, or the tenant does not look for it).
    var holdSegments: [HoldSegment] = []
}

/// What a sidecar read through its descriptor gave.
enum SidecarRead {
    /// `data`: the bytes as read, kept verbatim with the call (`native/…/sidecar.json`).
    case valid(Sidecar, digest: String, file: InputFile, data: Data)
    case reject(Rejection, file: InputFile)
    case unreadable(String)
    case vanished
}

struct PairCheck: Sendable {
    let vault: Vault
    /// Tenants with erased calls, and the key their tombstones are made with: read once per batch, not per pair.
    let erasedTenants: Set<String>
    let subjectKey: SubjectKey?

    init(vault: Vault) throws {
        self.vault = vault
        erasedTenants = try vault.catalog.tenantsWithErasedCalls()
        subjectKey = erasedTenants.isEmpty ? nil : try SubjectKey.load(vault)
    }

    var placement: Placement { Placement(files: vault.files, catalog: vault.catalog) }

    /// Reads and validates a sidecar through an `O_NOFOLLOW` descriptor, the 64 KiB limit enforced on the read.
    func readSidecar(_ path: String, defaultTenant: String?) -> SidecarRead {
        let file: InputFile
        switch InboxFiles.open(path) {
        case .success(let f): file = f
        case .failure(let u): return u.vanished ? .vanished : .unreadable("sidecar " + u.detail)
        }
        let data: Data
        switch InboxFiles.read(file, limit: Sidecar.maxBytes) {
        case .success(let d): data = d
        case .failure(let u): return .unreadable("sidecar " + u.detail)
        }
        if data.count > Sidecar.maxBytes { return .reject(Rejection(.tooLarge, "sidecar is over 64 KiB"), file: file) }
        let config = vault.configuration
        switch Sidecar.validate(data, defaultTenant: defaultTenant, isKnownTenant: { config.tenants[$0] != nil }, now: vault.clock.now()) {
        case .success(let s): return .valid(s, digest: Hex.encode(SHA256.hash(data: data)), file: file, data: data)
        case .failure(let r): return .reject(r, file: file)
        }
    }

    /// Checks a complete pair. `inBatch` holds the calls already decided in this batch (tenant/call_id → audio
    /// and sidecar digests, id), so two pairs of one call in one batch behave as they would in two runs.
    func check(_ pair: InputPair, inBatch: [String: (sha: String, sidecar: String?, id: String)]) throws -> Verdict {
        let config = vault.configuration
        guard let audioPath = pair.audio, let sidecarPath = pair.sidecar else {
            preconditionFailure("check takes complete pairs")
        }
        let knownDefault = config.tenants[pair.defaultTenant ?? ""] != nil ? pair.defaultTenant : nil

        let audio: InputFile
        switch InboxFiles.open(audioPath) {
        case .success(let f): audio = f
        case .failure(let u): return u.vanished ? .vanished : .unreadable("audio " + u.detail)
        }
        // too_large: the audio's size as opened (staging enforces it again on the bytes read).
        if audio.size > config.maxAudioBytes {
            return .reject(Rejection(.tooLarge, "audio is \(audio.size) bytes, over the maximum of \(config.maxAudioBytes)"), tenant: knownDefault,
                           inputs: [audioPath: audio])
        }
        // too_large (sidecar) … announcement_missing
        let sidecar: Sidecar
        let sidecarDigest: String
        let sidecarBytes: Data
        let opened: [String: InputFile]
        switch readSidecar(sidecarPath, defaultTenant: pair.defaultTenant) {
        case .valid(let s, let d, let file, let data):
            sidecar = s; sidecarDigest = d; sidecarBytes = data
            opened = [audioPath: audio, sidecarPath: file]
        case .reject(let r, let file): return .reject(r, tenant: knownDefault, inputs: [audioPath: audio, sidecarPath: file])
        case .unreadable(let detail): return .unreadable(detail)
        case .vanished: return .vanished
        }
        let inputs = opened.mapValues(\.identity)
        let tenant = config.tenants[sidecar.tenant]!
        let now = vault.clock.now()
        let id = RecordingID.make(at: now)

        // One read pass over the input: a private copy, hashed as it is written. Everything below reads the copy.
        var staged: StagedAudio
        do {
            staged = try placement.stage(from: audio.fd, id: id, maxBytes: config.maxAudioBytes)
        } catch {
            switch error {
            case .inputUnreadable(let detail): return .unreadable("audio " + detail)
            case .tooLarge(let n): return .reject(Rejection(.tooLarge, "audio grew to \(n) bytes while read, over the maximum of \(config.maxAudioBytes)"), tenant: sidecar.tenant, inputs: opened)
            case .vault(let e): throw e
            }
        }
        var keep = false
        defer { if !keep { placement.discard(staged) } }

        // erased: checked before anything else is decided about the call, so that no copy of it is kept, not
        // even in quarantine. Looked up only for a tenant with tombstones.
        if erasedTenants.contains(sidecar.tenant), let subjectKey {
            let keys = subjectKey.tombstone(tenant: sidecar.tenant, callID: sidecar.callID, sha256: staged.sha256)
            if let request = try vault.catalog.erasure(tenant: sidecar.tenant, keys: keys) {
                return .erased(request: request, inputs: inputs)
            }
        }

        // audio_unreadable, audio_empty, audio_truncated
        var facts: AudioFacts
        switch AudioProbe.probe(fd: staged.fd, fileSize: staged.bytes) {
        case .success(let f): facts = f
        case .failure(let r): return .reject(r, tenant: sidecar.tenant, inputs: opened)
        }

        // duration_mismatch
        if let stated = sidecar.statedDuration {
            let allowed = 5 + 0.02 * stated
            if abs(stated - facts.durationSeconds) > allowed {
                return .reject(Rejection(.durationMismatch, String(format: "ended_at - started_at is %.1f s but the audio lasts %.1f s", stated, facts.durationSeconds)), tenant: sidecar.tenant, inputs: opened)
            }
        }

        // announcement_not_detected: hear the prompt in the audio when the tenant asks for it (SPEC §5).
        var verdict: AnnouncementFinding?
        if tenant.announcement.verify != .off {
            let v: AnnouncementFinding
            do { v = try vault.prompts.check(fd: staged.fd, tenant: tenant) } catch let e as VaultError {
                return .reject(Rejection(.audioUnreadable, "decoding for announcement verification failed: \(e.message)"), tenant: sidecar.tenant, inputs: opened)
            }
            // Only not_heard is refused: a review call is stored flagged, hidden from coaches until an officer listened.
            if v.outcome == .notHeard, tenant.announcement.verify == .enforce {
                let window = Int(tenant.announcement.window.approximateSeconds)
                return .reject(Rejection(.announcementNotDetected, String(format: "no configured prompt heard in the first %d s (best score %.2f, threshold %.2f)",
                                                                          window, v.score, tenant.announcement.threshold)), tenant: sidecar.tenant, inputs: opened)
            }
            verdict = v
        }

        // duplicate / duplicate_conflict: a duplicate is the same audio and the same sidecar; anything else
        // under a stored call_id would lose what differs.
        let key = sidecar.tenant + "/" + sidecar.callID
        let earlier = try inBatch[key] ?? vault.catalog.existing(tenant: sidecar.tenant, callID: sidecar.callID).map { ($0.sha256, $0.sidecarSHA256, $0.id) }
        if let (sha, storedSidecar, existingID) = earlier {
            if sha != staged.sha256 {
                return .reject(Rejection(.duplicateConflict, "call_id already stored for this tenant with other audio (recording \(existingID))"), tenant: sidecar.tenant, inputs: opened)
            }
            // Rows stored before sidecar digests were kept (nil) are compared by their audio, as they were then.
            if let storedSidecar, storedSidecar != sidecarDigest {
                return .reject(Rejection(.duplicateConflict, "call_id already stored for this tenant with the same audio but another sidecar (recording \(existingID))"), tenant: sidecar.tenant, inputs: opened)
            }
            return .duplicate(recordingID: existingID, inputs: inputs)
        }

        // Hold music (SPEC §17): after the duplicate check (a duplicate is not analysed again), on the bytes received.
        var held: [HoldSegment] = []
        let receivedSHA256 = staged.sha256
        var redacted = false
        let policy = tenant.holdMusic.policy
        if policy != .off, !tenant.holdMusic.tracks.isEmpty {
            // A track that cannot be read is the configuration's fault, not the call's: a vault failure.
            let tracks = try vault.holdMusic.tracks(for: tenant, root: vault.root)
            do {
                held = try HoldMusicScan.find(fd: staged.fd, tracks: tracks)
            } catch let e as VaultError {
                return .reject(Rejection(.audioUnreadable, "decoding for the hold-music check failed: \(e.message)"), tenant: sidecar.tenant, inputs: opened)
            }
            if policy == .redact, !held.isEmpty {
                do {
                    staged = try placement.restage(staged, id: id) { from, to in
                        _ = try HoldRedaction.writeSilenced(from: from, segments: held.map { ($0.startS, $0.endS) }, to: to)
                    }
                } catch let r as HoldRedaction.Refusal {
                    // Stored as received it would keep what the policy forbids; refused, it waits in quarantine.
                    return .reject(Rejection(.audioUnreadable, "the held stretches cannot be silenced in this audio (\(r.detail))"), tenant: sidecar.tenant, inputs: opened)
                }
                switch AudioProbe.probe(fd: staged.fd, fileSize: staged.bytes) {
                case .success(let f): facts = f
                case .failure(let r): throw VaultError.failure("the redacted recording does not read back: \(r.detail)")
                }
                redacted = true
            }
        }

        let expiries = tenant.retention.expiries(startedAt: sidecar.startedAt, in: tenant.timeZone)
        let dir = Self.audioDirectory(tenant: tenant, startedAt: sidecar.startedAt)
        var row = RecordingRow(
            id: id, tenant: sidecar.tenant, callID: sidecar.callID, sha256: staged.sha256,
            startedAt: Timestamp.utc(sidecar.startedAt), endedAt: sidecar.endedAt.map(Timestamp.utc),
            durationS: (facts.durationSeconds * 1000).rounded() / 1000, direction: sidecar.direction.rawValue,
            agentID: sidecar.agentID, team: sidecar.team, caller: sidecar.caller, callee: sidecar.callee,
            queue: sidecar.queue, site: sidecar.site, announcementFlag: sidecar.announcementPlayed,
            announcementPrompt: sidecar.announcementPrompt, announcementAtMs: sidecar.announcementAtMs,
            announcementVerified: .notChecked,
            labels: JSONValue.object(sidecar.labels.mapValues { .string($0) }).jsonText,
            extra: JSONValue.object(sidecar.extra).jsonText,
            format: facts.format, sampleRate: facts.sampleRate, channels: facts.channels, frames: facts.frames,
            audioBytes: staged.bytes, audioPath: "\(dir)/\(id).\(facts.container)", audioExpiresAt: Timestamp.utc(expiries.audio),
            metadataExpiresAt: Timestamp.utc(expiries.metadata), ingestedAt: Timestamp.utc(now))
        row.sidecarSHA256 = sidecarDigest
        row.segmentSHA256 = staged.segments.text
        if policy != .off, !tenant.holdMusic.tracks.isEmpty {
            row.holdPolicy = policy.rawValue
            row.holdMs = held.reduce(0) { $0 + Int64((($1.endS - $1.startS) * 1000).rounded()) }
            if redacted { row.receivedSHA256 = receivedSHA256 }
        }
        if let v = verdict {
            row.announcementVerified = AnnouncementReview.catalogValue(v.outcome)
            row.announcementReviewReason = v.reviewReason
            row.announcementMatch = v.prompt
            row.announcementOffsetMs = v.offsetMs
            row.announcementScore = (v.score * 1000).rounded() / 1000
            row.announcementShare = v.matchedShare
            row.announcementPromptOffsetMs = v.promptOffsetMs
        }
        keep = true
        return .store(Prepared(pair: pair, inputs: inputs, row: row, staged: staged, alreadyExpired: expiries.audio <= now,
                              waveform: facts.waveform, native: [Placement.sidecarDocument: sidecarBytes], holdSegments: held))
    }

    /// `audio/TENANT/YYYY/MM/DD`, the call's local date in the tenant's time zone.
    static func audioDirectory(tenant: Tenant, startedAt: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = tenant.timeZone
        let c = calendar.dateComponents([.year, .month, .day], from: startedAt)
        return String(format: "%@/%@/%04d/%02d/%02d", Vault.audioDirectory, tenant.name, c.year!, c.month!, c.day!)
    }
}
