// The review list of the announcement check (SPEC §17): calls whose prompt matched only in part in mid-call, or
// scored in the grey zone under the threshold, are stored flagged and hidden from coaches until a compliance
// officer has listened from the matched moment and decided. The decision's note is the officer's own words and
// may quote the call: it is kept with the row, never in the audit (which records the decision).
import CallVaultAudio
import CallVaultCore
import CallVaultStore
import Foundation

/// A call awaiting review, as an officer sees it in the list.
public struct ReviewItem: Sendable, Equatable {
    public var id: String
    public var tenant: String
    public var queue: String?
    public var startedAt: String
    public var durationS: Double
    /// The best-matching prompt and where in the call its matched part starts (where to listen from).
    public var prompt: String?
    public var offsetMs: Int?
    public var score: Double?
    public var matchedShare: Double?
    /// `partial`: the prompt matched only in part and stops in mid-call; `mismatch`: it matched as a whole but a part
    /// of it does not agree; `borderline`: a score just under the threshold.
    public var reason: String
}

public struct AnnouncementReview: Sendable {
    public let vault: Vault

    public init(vault: Vault) { self.vault = vault }

    static let officers = Role.officers

    /// The stored verdict of what the detector concluded.
    public static func catalogValue(_ outcome: AnnouncementOutcome) -> AnnouncementVerdict {
        switch outcome {
        case .heard: .heard
        case .notHeard: .notHeard
        case .review: .review
        }
    }

    /// The calls awaiting review, oldest first (optionally of one tenant), at most `limit`; `more` says that
    /// older decisions must be made before the rest show. Audited as a listing.
    public func list(tenant: String? = nil, limit: Int = 500) throws -> (items: [ReviewItem], more: Bool) {
        try vault.require(Self.officers, to: "announcement review list")
        if let tenant, vault.configuration.tenants[tenant] == nil { throw VaultError(.usage, "tenant \(tenant): not configured") }
        var rows = try vault.catalog.announcementReviewQueue(tenants: tenant.map { [$0] }, limit: limit + 1)
        let more = rows.count > limit
        if more { rows.removeLast() }
        var details = ["results": String(rows.count)]
        if let tenant { details["tenant"] = tenant }
        if more { details["more"] = "true" }
        try vault.catalog.appendAudit([vault.event(.announcementReviewListed, target: nil, details: details)])
        return (rows.map(item), more)
    }

    func item(_ r: RecordingRow) -> ReviewItem {
        ReviewItem(id: r.id, tenant: r.tenant, queue: r.queue, startedAt: r.startedAt, durationS: r.durationS,
                   prompt: r.announcementMatch, offsetMs: r.announcementOffsetMs, score: r.announcementScore,
                   matchedShare: r.announcementShare, reason: r.announcementReviewReason ?? "borderline")
    }

    /// A review reason in words, for a page or a terminal.
    public static func reasonWords(_ reason: String?) -> String {
        switch reason {
        case "partial": "it stops in mid-call — a barge-in, or another sentence that shares its first words"
        case "mismatch": "a part of it does not match — another sentence that shares most of its words, or another voice"
        default: "its score is just under the threshold"
        }
    }

    /// Decides a call awaiting review: heard (it becomes a compliant call, visible to its coaches) or not heard
    /// (it stays stored, hidden from coaches, counted as not heard). The note says why; both are audited.
    @discardableResult
    public func decide(id: String, outcome: AnnouncementOutcome, note: String) throws -> ReviewItem {
        let action = "announcement review decide"
        try vault.require(Self.officers, to: action)
        guard outcome != .review else { throw VaultError(.usage, "decide heard or not_heard") }
        guard RecordingID.isWellFormed(id) else { throw vault.refuseInvalidID(action: action, what: "recording") }
        let text = try Notes.checkedText(note)
        guard let row = try vault.catalog.recording(id: id) else { throw VaultError(.notFound, "\(action) \(id): no such recording") }
        guard row.audioDeletedAt == nil else {
            throw VaultError(.gone, "\(action) \(id): its audio was deleted at \(row.audioDeletedAt!); there is nothing left to listen to")
        }
        guard row.announcementVerified == .review else {
            throw VaultError(.usage, "\(action) \(id): not awaiting review (its announcement check says \(row.announcementVerified.inWords))")
        }
        let now = vault.clock.now()
        let decision = AnnouncementReviewDecision(reviewedBy: vault.actor, reviewedAt: Timestamp.utc(now), note: text)
        let event = vault.event(.announcementReviewed, target: row.id, details: [
            "tenant": row.tenant, "decision": outcome.rawValue, "score": row.announcementScore.map { String($0) } ?? "",
        ])
        guard try vault.catalog.decideAnnouncementReview(id: row.id, verified: Self.catalogValue(outcome), decision: decision, event: event) else {
            throw VaultError(.usage, "\(action) \(id): decided meanwhile by someone else; see the audit")
        }
        return item(row)
    }
}
