// Values the use cases compute and the front ends show, shared by the store that fills them: a tenant's report
// figures, request deadline counts, what an erasure did to a call, and which recordings a hold covers.
import Foundation

/// One tenant's line of `callvault report` (SPEC §11).
public struct TenantReport: Sendable {
    public var tenant: String
    /// Calls started in the period and stored, including those whose metadata was deleted since (counted by v11).
    public var stored = 0
    public var rejected: [String: Int] = [:]
    /// Compliant stored calls / (stored + calls rejected for a missing or undetected announcement).
    public var announcementCompliance: Double?
    /// Of the stored calls whose audio was checked, the share where the announcement was heard.
    public var announcementVerified: Double?
    public var audioDeleted = 0
    public var metadataDeleted = 0
    public var overdue = 0
    public var activeHolds = 0
    /// Stored calls by the announcement check's verdict (heard, not_heard, review, not_checked); calls rejected
    /// as not heard are in `rejected`.
    public var verdicts = AnnouncementVerdictCounts()
    /// Per queue, for tenants that verify the announcement in the audio: (queue, checked calls, heard share, the
    /// checked calls by verdict). A queue far below the others is the sign of a misconfigured IVR.
    public var queues: [(queue: String, checked: Int, verifiedRate: Double, verdicts: AnnouncementVerdictCounts)] = []
    /// For tenants whose calls are checked for hold music: the whole tenant, and per queue.
    public var onHold: OnHoldFigures?
    public var onHoldByQueue: [(queue: String, figures: OnHoldFigures)] = []
}

/// Calls checked for hold music, calls found recorded on hold, and their seconds on hold (SPEC §17).
public struct OnHoldFigures: Sendable, Equatable {
    public var checked = 0
    public var calls = 0
    public var seconds = 0.0
    public init(checked: Int = 0, calls: Int = 0, seconds: Double = 0) { self.checked = checked; self.calls = calls; self.seconds = seconds }
}

/// Stored calls by the announcement check's verdict.
public struct AnnouncementVerdictCounts: Sendable, Equatable {
    public var heard = 0
    public var notHeard = 0
    public var review = 0
    public var notChecked = 0
    public init(heard: Int = 0, notHeard: Int = 0, review: Int = 0, notChecked: Int = 0) {
        self.heard = heard; self.notHeard = notHeard; self.review = review; self.notChecked = notChecked
    }
}

extension TenantReport {
    public init(tenant: String) { self.tenant = tenant }
}

/// Counts of open requests by deadline, for the report and `/metrics`.
public struct RequestDeadlineCounts: Sendable, Equatable {
    public var open: Int
    /// Due within the next 7 days and not yet overdue.
    public var dueSoon: Int
    public var overdue: Int

    public init(open: Int = 0, dueSoon: Int = 0, overdue: Int = 0) { self.open = open; self.dueSoon = dueSoon; self.overdue = overdue }
}

/// Which recordings a hold covers: by id, by call_id, or by a query. Criteria combine with AND;
/// ids and call_ids list alternatives.
public struct HoldSelection: Sendable {
    public var recordingIDs: [String] = []
    public var callIDs: [String] = []
    public var tenant: String?
    public var caller: String?
    public var agent: String?
    public var queue: String?
    public var from: Date?
    public var to: Date?

    public init() {}

    public var isEmpty: Bool {
        recordingIDs.isEmpty && callIDs.isEmpty && tenant == nil && caller == nil && agent == nil && queue == nil && from == nil && to == nil
    }
}

/// A call a hold would take (or took), as an officer recognises it: when, whose, which queue.
public struct HoldCandidate: Sendable, Equatable {
    public var recordingID: String
    public var tenant: String
    public var startedAt: String
    public var agentID: String
    public var queue: String?
    public var audioDeleted: Bool

    public init(recordingID: String, tenant: String, startedAt: String, agentID: String, queue: String?, audioDeleted: Bool) {
        self.recordingID = recordingID; self.tenant = tenant; self.startedAt = startedAt; self.agentID = agentID
        self.queue = queue; self.audioDeleted = audioDeleted
    }
}

/// What an erasure did (or, in a dry run, would do) to one call.
public enum ErasureOutcome: Sendable, Equatable {
    /// Deleted now: audio (if still there) and metadata.
    case deleted
    /// Kept under these active holds (art. 17(3)(e)); marked erasure-pending.
    case keptUnderHold([String])
    /// Kept because another subject's request restricts it on ground legal-claims (art. 17(3)(e), art. 18(1)(c)):
    /// the data is needed for a legal claim. Marked erasure-pending, erased when those restrictions are lifted.
    case keptForLegalClaims([String])
    /// Its metadata was already gone (expired, or erased before).
    case alreadyGone
    /// The audio could not be removed: nothing was deleted for this call.
    case failed(String)
}
