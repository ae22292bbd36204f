// The compliance report over time, for the web app's charts: the report of the whole period (`complianceReport`,
// audited once as the report it is) and the same per-tenant figures per day (periods up to 31 days) or per week.
import CallVaultCore
import CallVaultStore
import Foundation

public struct ReportPeriod: Sendable {
    public let from: Date
    public let to: Date
    public let tenants: [TenantReport]
}

extension Listing {
    /// The report of the whole period, and of each day or week in it (at most 62 buckets).
    public func reportSeries(from: Date, to: Date) throws -> (report: ComplianceReport, buckets: [ReportPeriod]) {
        try vault.require(Self.officers, to: "report")
        guard from < to else { throw VaultError(.usage, "report: from must be before to") }
        let report = try complianceReport(from: from, to: to)
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = vault.configuration.timeZone
        let step = to.timeIntervalSince(from) <= 31 * 86_400 ? DateComponents(day: 1) : DateComponents(day: 7)
        var buckets: [ReportPeriod] = []
        var start = calendar.startOfDay(for: from)
        while start < to, buckets.count < 62 {
            let end = min(calendar.date(byAdding: step, to: start)!, to)
            buckets.append(ReportPeriod(from: max(start, from), to: end, tenants: try tenantReports(from: max(start, from), to: end)))
            start = end
        }
        return (report, buckets)
    }
}
