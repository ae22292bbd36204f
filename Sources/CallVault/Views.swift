// What the use cases hand to the front ends (the CLI and the web app): values made for showing to the acting
// user, built here from catalog rows. What a role may see is decided once, in these initialisers — a coach's
// recording carries neither hold information nor phone numbers — and the front ends cannot reach a catalog row
// (they do not import CallVaultStore), so neither can forget it.
import CallVaultAudio
import CallVaultCore
import CallVaultStore
import Foundation

/// A recording as the acting user may see it (`list`, `show`, `export`, `/calls`, a request's calls).
public struct RecordingView: Sendable, Equatable {
    public struct Parties: Sendable, Equatable {
        public let caller: String?
        public let callee: String?
    }

    public let id, callID, tenant, startedAt: String
    public let endedAt: String?
    public let durationS: Double
    public let direction, agentID: String
    public let team, queue, site: String?
    /// The phone numbers; nil where the acting user is not shown them (coaches).
    public let parties: Parties?
    public let announcementFlag: Bool
    public let announcementPrompt: String?
    /// `yes` (heard), `no` (not heard), `review` (awaiting an officer), `not_checked` (SPEC §5, §17).
    public let announcementVerified: AnnouncementVerdict
    /// The prompt the check matched best (heard or review).
    public let announcementMatch: String?
    /// Why the check sent the call to review (officers act on it).
    public let announcementReviewReason: String?
    public let announcementOffsetMs: Int?
    public let announcementScore: Double?
    /// The share of the prompt heard (0…1).
    public let announcementShare: Double?
    public let format: String
    public let sampleRate, channels: Int
    public let frames, audioBytes: Int64
    /// Relative to the store root; nil where the acting user is not shown where the evidence lies (coaches).
    public let audioPath: String?
    /// The evidence hash; nil for coaches, who never handle the evidence file.
    public let sha256: String?
    public let audioExpiresAt, metadataExpiresAt: String
    public let audioDeletedAt: String?
    public let restricted: Bool
    /// Whether an active hold keeps it; nil where the acting user is not told (coaches).
    public let onHold: Bool?
    /// The officer's decision on a call the check sent to review (officers only): who, when, and why.
    public let announcementReview: ReviewDecisionView?
    /// The hold-music check (SPEC §17): nil when the call was not checked. Segments are filled by `show`.
    public var holdMusic: HoldMusicView?

    /// `officer`: whether the acting user is told holds and phone numbers.
    init(_ r: RecordingRow, onHold: Bool?, officer: Bool) {
        id = r.id; callID = r.callID; tenant = r.tenant; startedAt = r.startedAt; endedAt = r.endedAt
        durationS = r.durationS; direction = r.direction; agentID = r.agentID; team = r.team; queue = r.queue; site = r.site
        parties = officer ? Parties(caller: r.caller, callee: r.callee) : nil
        announcementFlag = r.announcementFlag; announcementPrompt = r.announcementPrompt
        announcementVerified = r.announcementVerified; announcementOffsetMs = r.announcementOffsetMs
        announcementMatch = r.announcementMatch; announcementReviewReason = r.announcementReviewReason
        announcementScore = r.announcementScore; announcementShare = r.announcementShare
        format = r.format; sampleRate = r.sampleRate; channels = r.channels; frames = r.frames; audioBytes = r.audioBytes
        audioPath = officer ? r.audioPath : nil
        sha256 = officer ? r.sha256 : nil
        audioExpiresAt = r.audioExpiresAt; metadataExpiresAt = r.metadataExpiresAt; audioDeletedAt = r.audioDeletedAt
        restricted = r.restricted.hidesFromCoaches
        self.onHold = officer ? onHold : nil
        announcementReview = officer ? r.announcementReviewedBy.map { ReviewDecisionView(by: $0, at: r.announcementReviewedAt ?? "", note: r.announcementReviewNote) } : nil
        holdMusic = r.holdPolicy.map {
            HoldMusicView(policy: $0, seconds: Double(r.holdMs ?? 0) / 1000, segments: [], redacted: r.receivedSHA256 != nil,
                          receivedSHA256: officer ? r.receivedSHA256 : nil)
        }
    }
}

/// Who decided a reviewed call's announcement, when, and the note (nil once the audio is gone).
public struct ReviewDecisionView: Sendable, Equatable {
    public let by, at: String
    public let note: String?
}

/// Where a call was recorded on hold, and what the policy did about it.
public struct HoldMusicView: Sendable, Equatable {
    /// `report` (kept as received) or `redact` (the segments silenced before storing).
    public let policy: String
    public let seconds: Double
    public var segments: [HoldSegment]
    /// Whether the stored recording is the received one with the segments silenced.
    public let redacted: Bool
    /// When redacted: the SHA-256 of the bytes received (officers only; `sha256` is the stored bytes').
    public let receivedSHA256: String?
}

/// A hold as officers see it (`hold list/show`, `/holds`, a call's holds).
public struct HoldView: Sendable, Equatable {
    public let id, caseRef: String
    public let kind: HoldKind
    public let note: String?
    public let placedBy, placedAt: String
    public let reviewAt, releasedAt, releasedBy, releaseNote: String?

    init(_ h: HoldRow) {
        id = h.id; kind = h.kind; caseRef = h.caseRef; note = h.note; placedBy = h.placedBy; placedAt = h.placedAt
        reviewAt = h.reviewAt; releasedAt = h.releasedAt; releasedBy = h.releasedBy; releaseNote = h.releaseNote
    }
}

/// What `audit verify` found (the chain, and events dated before their predecessor), as the front ends show it.
public typealias AuditVerification = CallVaultStore.AuditVerification

/// One event of the audit log (`audit list`, `/audit`). `details` is the event's JSON object as stored.
public struct AuditEntry: Sendable, Equatable {
    public let seq: Int64
    public let at, actor: String
    public let principal: String?
    public let action: String
    public let target: String?
    public let details: String

    init(_ a: AuditRow) {
        seq = a.seq; at = a.at; actor = a.actor; principal = a.principal; action = a.action; target = a.target; details = a.details
    }
}

/// One quarantined input (`quarantine list/show`, `/quarantine`).
public struct QuarantineEntry: Sendable, Equatable {
    public let id, at: String
    public let tenant: String?
    public let reason, detail: String
    /// Relative to the store root.
    public let quarantinePath: String

    init(_ r: RejectionRow) {
        id = r.id; at = r.at; tenant = r.tenant; reason = r.reason; detail = r.detail; quarantinePath = r.quarantinePath
    }
}

/// A data-subject request of the register (`request …`, `/requests`). Subjects are never in it: the catalog keeps
/// only their keyed hashes.
public struct RequestView: Sendable, Equatable {
    public let id, kind: String
    /// nil: the request covers every tenant.
    public let tenant: String?
    public let reference: String
    public let note: String?
    public let receivedAt: String
    /// The instants the deadline passes (the end of its last day, `Requests.firstDeadline`): the first one, and
    /// the one in force (later once extended).
    public let firstDueAt, dueAt: String
    public let extendedBy, extensionReason: String?
    public let openedBy, openedAt: String
    public let closedAt, closedBy, outcome: String?
    /// The ground of an active or lifted restriction (art. 18(1)(a)-(d)).
    public let restrictionGround, restrictedAt, restrictionLiftedAt: String?
    /// Whether a restriction of this request is in force.
    public let restrictionActive: Bool
    /// The day received and the last day to answer (`due_at` is the end of it), in the tenant's zone, as people
    /// read a deadline: `2026-11-22`.
    public let receivedDay, dueDay: String
    /// The zone those days are in (the tenant's, or the configuration's for a request of every tenant).
    public let zone: String

    init(_ r: RequestRow, zone: TimeZone) {
        receivedDay = String(localTime(r.receivedAt, zone).prefix(10))
        dueDay = Requests.lastDay(r.dueAt, in: zone)
        self.zone = zone.identifier
        id = r.id; kind = r.kind; tenant = r.tenant; reference = r.reference; note = r.note; receivedAt = r.receivedAt
        firstDueAt = r.firstDueAt; dueAt = r.dueAt; extendedBy = r.extendedBy; extensionReason = r.extensionReason
        openedBy = r.openedBy; openedAt = r.openedAt; closedAt = r.closedAt; closedBy = r.closedBy; outcome = r.outcome
        restrictionGround = r.restrictionGround; restrictedAt = r.restrictedAt; restrictionLiftedAt = r.restrictionLiftedAt
        restrictionActive = r.restrictionActive
    }
}

/// One call of a request, present (with its state) or already gone. Only officers handle requests.
public struct RequestCallView: Sendable, Equatable {
    public let recordingID, tenant: String
    /// nil when the recording no longer exists (erased, or its metadata expired).
    public let recording: RecordingView?
    public let held: Bool
    public let holdIDs: [String]
    public let erasurePending: Bool
    public let erasedAt: String?

    init(_ c: RequestCall) {
        recordingID = c.recordingID; tenant = c.tenant
        recording = c.row.map { RecordingView($0, onHold: c.held, officer: true) }
        held = c.held; holdIDs = c.holdIDs; erasurePending = c.erasurePending; erasedAt = c.erasedAt
    }
}
