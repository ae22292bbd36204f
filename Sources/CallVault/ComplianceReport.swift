// The whole compliance report (`callvault report`, the web's report page): per-tenant figures, holds due for
// review and the deadlines of data-subject requests, all as of one clock reading.
import CallVaultCore
import CallVaultStore
import Foundation

/// An active hold whose review date has passed: someone must decide whether it still keeps its calls.
public struct HoldDueForReview: Sendable, Equatable {
    public var holdID: String
    public var caseRef: String
    public var reviewAt: String
}

public struct ComplianceReport: Sendable {
    public var from: Date
    public var to: Date
    /// One line per configured tenant (and `(unknown)` for rejections whose tenant was not known).
    public var tenants: [TenantReport]
    /// As of now, the longest overdue first.
    public var holdsDueForReview: [HoldDueForReview]
    /// Open data-subject requests as of now: open, due within 7 days, overdue.
    public var requests: RequestDeadlineCounts
}

extension Listing {
    /// `report(from:to:)` (officers only; audited once) with the holds due for review and the requests' deadlines.
    public func complianceReport(from: Date, to: Date) throws -> ComplianceReport {
        let tenants = try report(from: from, to: to)
        let holds = try vault.catalog.holdsDueForReview(at: vault.clock.now()).map { h, _ in
            HoldDueForReview(holdID: h.id, caseRef: h.caseRef, reviewAt: h.reviewAt ?? "")
        }
        return ComplianceReport(from: from, to: to, tenants: tenants, holdsDueForReview: holds,
                                requests: try Requests(vault: vault).deadlines())
    }
}
