// The catalog: recordings, placements in flight, rejections, audit — on either engine (SQL.swift).
import CallVaultCore
import Foundation

/// One stored recording, as a catalog row. Times are RFC 3339 UTC text, which sorts correctly.
public struct RecordingRow: Codable, Sendable, Equatable, CatalogRecord {
    public static let databaseTableName = "recordings"

    public var id: String
    public var tenant: String
    public var callID: String
    public var sha256: String
    public var startedAt: String
    public var endedAt: String?
    public var durationS: Double
    public var direction: String
    public var agentID: String
    public var team: String?
    public var caller: String?
    public var callee: String?
    public var queue: String?
    public var site: String?
    public var announcementFlag: Bool
    public var announcementPrompt: String?
    public var announcementAtMs: Int?
    public var announcementVerified: AnnouncementVerdict
    public var announcementMatch: String?
    public var announcementOffsetMs: Int?
    public var announcementScore: Double?
    /// The share of the prompt heard (0…1) and where in the prompt that part starts (nil before issue 13).
    public var announcementShare: Double?
    public var announcementPromptOffsetMs: Int?
    public var labels: String
    public var extra: String
    public var format: String
    public var sampleRate: Int
    public var channels: Int
    public var frames: Int64
    public var audioBytes: Int64
    /// Relative to the store root.
    public var audioPath: String
    public var audioExpiresAt: String
    public var metadataExpiresAt: String
    public var audioDeletedAt: String?
    public var restricted: Restriction
    public var ingestedAt: String
    /// SHA-256 of the sidecar's bytes: only an identical sidecar is a duplicate (nil for rows of the first version).
    public var sidecarSHA256: String?
    /// `SegmentDigests.text` of the stored bytes (nil for rows stored before v15: checked whole on the way out).
    public var segmentSHA256: String?
    /// Why the announcement check sent the call to review (`partial`, `mismatch`, `borderline`; nil otherwise).
    public var announcementReviewReason: String?
    /// The hold-music policy the call was checked under (`report`, `redact`; nil: not checked), the time found on
    /// hold in ms, and — when `redact` silenced it — the SHA-256 of the bytes received (`sha256` is the stored bytes').
    public var holdPolicy: String?
    public var holdMs: Int64?
    public var receivedSHA256: String?
    /// An officer's decision on a call the check sent to review: who, when, and the note (which goes with the audio).
    public var announcementReviewedBy: String?
    public var announcementReviewedAt: String?
    public var announcementReviewNote: String?

    enum CodingKeys: String, CodingKey {
        case id, tenant, sha256, direction, team, caller, callee, queue, site, labels, extra, format, channels, frames, restricted
        case callID = "call_id", startedAt = "started_at", endedAt = "ended_at", durationS = "duration_s"
        case agentID = "agent_id", announcementFlag = "announcement_flag", announcementPrompt = "announcement_prompt"
        case announcementAtMs = "announcement_at_ms", announcementVerified = "announcement_verified"
        case announcementMatch = "announcement_match", announcementOffsetMs = "announcement_offset_ms"
        case announcementScore = "announcement_score", sampleRate = "sample_rate", audioBytes = "audio_bytes"
        case audioPath = "audio_path", audioExpiresAt = "audio_expires_at", metadataExpiresAt = "metadata_expires_at"
        case audioDeletedAt = "audio_deleted_at", ingestedAt = "ingested_at", sidecarSHA256 = "sidecar_sha256"
        case announcementShare = "announcement_share", announcementPromptOffsetMs = "announcement_prompt_offset_ms"
        case segmentSHA256 = "segment_sha256", announcementReviewReason = "announcement_review_reason"
        case holdPolicy = "hold_policy", holdMs = "hold_ms", receivedSHA256 = "received_sha256"
        case announcementReviewedBy = "announcement_reviewed_by", announcementReviewedAt = "announcement_reviewed_at"
        case announcementReviewNote = "announcement_review_note"
    }

    public init(id: String, tenant: String, callID: String, sha256: String, startedAt: String, endedAt: String?,
                durationS: Double, direction: String, agentID: String, team: String?, caller: String?, callee: String?,
                queue: String?, site: String?, announcementFlag: Bool, announcementPrompt: String?, announcementAtMs: Int?,
                announcementVerified: AnnouncementVerdict, labels: String, extra: String, format: String, sampleRate: Int,
                channels: Int, frames: Int64, audioBytes: Int64, audioPath: String, audioExpiresAt: String,
                metadataExpiresAt: String, ingestedAt: String) {
        self.id = id; self.tenant = tenant; self.callID = callID; self.sha256 = sha256
        self.startedAt = startedAt; self.endedAt = endedAt; self.durationS = durationS; self.direction = direction
        self.agentID = agentID; self.team = team; self.caller = caller; self.callee = callee; self.queue = queue
        self.site = site; self.announcementFlag = announcementFlag; self.announcementPrompt = announcementPrompt
        self.announcementAtMs = announcementAtMs; self.announcementVerified = announcementVerified
        self.labels = labels; self.extra = extra; self.format = format; self.sampleRate = sampleRate
        self.channels = channels; self.frames = frames; self.audioBytes = audioBytes; self.audioPath = audioPath
        self.audioExpiresAt = audioExpiresAt; self.metadataExpiresAt = metadataExpiresAt
        self.audioDeletedAt = nil; self.restricted = .none; self.ingestedAt = ingestedAt
    }
}

/// A placement in flight: written before the audio is placed, removed in the transaction that stores the row.
public struct PendingPlacement: Codable, Sendable, CatalogRecord {
    public static let databaseTableName = "pending_placements"
    public var recordingID: String
    public var audioPath: String
    public var tempPath: String
    /// The ingest worker placing it (nil: a worker of a version before v12, or a one-shot ingest on SQLite).
    public var worker: String?
    enum CodingKeys: String, CodingKey {
        case recordingID = "recording_id", audioPath = "audio_path", tempPath = "temp_path", worker
    }
    public init(recordingID: String, audioPath: String, tempPath: String, worker: String? = nil) {
        self.recordingID = recordingID; self.audioPath = audioPath; self.tempPath = tempPath; self.worker = worker
    }
}

/// A rejected input pair, moved to quarantine.
public struct RejectionRow: Codable, Sendable, CatalogRecord {
    public static let databaseTableName = "rejections"
    public var id: String
    public var at: String
    public var tenant: String?
    public var reason: String
    public var detail: String
    public var quarantinePath: String
    enum CodingKeys: String, CodingKey {
        case id, at, tenant, reason, detail, quarantinePath = "quarantine_path"
    }
    public init(id: String, at: String, tenant: String?, reason: String, detail: String, quarantinePath: String) {
        self.id = id; self.at = at; self.tenant = tenant; self.reason = reason; self.detail = detail
        self.quarantinePath = quarantinePath
    }
}

/// The catalog of one store: SQLite in the store (the default) or a PostgreSQL database shared by several
/// workers (`[catalog] url`). Every public method is one short transaction, so the daemon, the sweeper and CLI
/// commands can share it (SQLite: WAL + busy timeout; PostgreSQL: serialised writers) without "database is locked".
public final class Catalog: Sendable {
    public static let fileName = "catalog.sqlite"
    public let db: any CatalogEngine

    /// Opens (and migrates) the SQLite catalog at `path`.
    public convenience init(path: String) throws {
        self.init(engine: try SQLiteEngine(path: path))
    }

    public init(engine: any CatalogEngine) {
        db = engine
    }

    func wrap<T>(_ what: String, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let e as SQLEngineError {
            // The engines' messages carry the server's code and text, never the bound arguments (no phone numbers).
            throw VaultError.failure("catalog: \(what) failed: \(e.message)")
        }
    }

    /// `role` for this process alone across every host on this catalog, or nil when another process has it.
    public func exclusive(_ role: ExclusiveRole) throws -> (any ExclusiveHold)? {
        try wrap("take the \(role.rawValue) lock") { try db.tryExclusive(role) }
    }

    /// Upsert of one store_meta key, written the one way both engines understand.
    static let setMetaSQL = "INSERT INTO store_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value"

    // MARK: store metadata

    public func setMeta(_ key: String, _ value: String) throws {
        try wrap("write store metadata") {
            try db.write { try $0.execute(sql: Self.setMetaSQL, arguments: [key, value]) }
        }
    }

    public func meta(_ key: String) throws -> String? {
        try wrap("read store metadata") {
            try db.read { try String.fetchOne($0, sql: "SELECT value FROM store_meta WHERE key = ?", arguments: [key]) }
        }
    }

    // MARK: ingest

    /// The recording stored under tenant + call_id, if any (the idempotency key), with its audio and sidecar digests.
    /// The audio digest is that of the bytes received: a redacted call delivered again is a duplicate.
    public func existing(tenant: String, callID: String) throws -> (id: String, sha256: String, sidecarSHA256: String?)? {
        try wrap("look up call") {
            try db.read { db in
                try SQLRow.fetchOne(db, sql: "SELECT id, coalesce(received_sha256, sha256) AS sha256, sidecar_sha256 FROM recordings WHERE tenant = ? AND call_id = ?",
                                 arguments: [tenant, callID]).map { ($0["id"], $0["sha256"], $0["sidecar_sha256"]) }
            }
        }
    }

    public func recordPending(_ placements: [PendingPlacement]) throws {
        try wrap("record placements") {
            try db.write { db in try PendingPlacement.insertAll(placements, in: db) }
        }
    }

    public func pendingPlacements() throws -> [PendingPlacement] {
        try wrap("read placements") { try db.read { try PendingPlacement.fetchAll($0) } }
    }

    public func clearPending(_ ids: [String]) throws {
        try wrap("clear placements") {
            try db.write { db in
                for id in ids { try db.execute(sql: "DELETE FROM pending_placements WHERE recording_id = ?", arguments: [id]) }
            }
        }
    }

    /// A batch's commit refused because another worker's repair undid one of its placements: certainly not
    /// committed (the transaction rolled back), so the placer removes what it placed.
    public struct PlacementUndone: Error {
        public let message = "catalog: a placement of this batch was undone by repair (this worker's lease lapsed); its inputs are retried"
    }

    /// Stores recordings with their audit events, waveforms and hold-music segments and clears their pending
    /// placements, in one transaction.
    public func commitRecordings(_ rows: [RecordingRow], events: [AuditEvent], waveforms: [WaveformRow] = [],
                                 holdSegments: [HoldSegmentRow] = [], worker: String? = nil) throws {
        try wrap("store recordings") {
            try db.write { db in
                // The intents must still be there: a worker whose lease lapsed may have had its placements undone by
                // another worker's repair, and a row must never name audio that was removed.
                for run in rows.map(\.id).runs(of: 500) {
                    var args = SQLArguments(run)
                    if let worker { args.append(worker) }
                    try db.execute(cached: "DELETE FROM pending_placements WHERE recording_id IN (\(marks(run.count)))"
                                   + (worker == nil ? "" : " AND worker = ?"), arguments: args)
                    guard db.changesCount == run.count else { throw PlacementUndone() }
                }
                try RecordingRow.insertAll(rows, in: db)
                try Self.insertWaveforms(waveforms, in: db)
                try Self.insertHoldSegments(holdSegments, in: db)
                try AuditLog.append(events, in: db)
            }
        }
    }

    /// Registers quarantined inputs with their audit events, in one transaction. Already registered ids are skipped.
    public func commitRejections(_ rows: [RejectionRow], events: [AuditEvent]) throws {
        try wrap("register rejections") {
            try db.write { db in
                for r in rows { try r.insert(db, ignoringConflicts: true) }
                try AuditLog.append(events, in: db)
            }
        }
    }

    public func hasRejection(id: String) throws -> Bool {
        try wrap("look up rejection") {
            try db.read { try Bool.fetchOne($0, sql: "SELECT 1 FROM rejections WHERE id = ?", arguments: [id]) ?? false }
        }
    }

    public func appendAudit(_ events: [AuditEvent]) throws {
        try wrap("append audit") { try db.write { db in try AuditLog.append(events, in: db) } }
    }

    public func recording(id: String) throws -> RecordingRow? {
        try wrap("read recording") { try db.read { try RecordingRow.fetchOne($0, key: id) } }
    }
}
