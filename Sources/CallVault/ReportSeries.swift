// The compliance report over time, for the web app's charts: the same per-tenant figures as `report`, per day
// (periods up to 31 days) or per week, audited once as the report it is.
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
    public func reportSeries(from: Date, to: Date) throws -> (total: [TenantReport], buckets: [ReportPeriod]) {
        try vault.require(Self.officers, to: "report")
        guard from < to else { throw VaultError(.usage, "report: from must be before to") }
        let zone = vault.configuration.timeZone
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        let days = to.timeIntervalSince(from) / 86_400
        let step: DateComponents = days <= 31 ? DateComponents(day: 1) : DateComponents(day: 7)
        let verifying = Set(vault.configuration.tenants.values.filter { $0.announcement.verify != .off }.map(\.name))
        let names = vault.configuration.tenants.keys.sorted()
        let now = vault.clock.now()
        let total = try vault.catalog.report(from: from, to: to, now: now, tenants: names, verifying: verifying)
        var buckets: [ReportPeriod] = []
        var start = calendar.startOfDay(for: from)
        while start < to, buckets.count < 62 {
            let end = min(calendar.date(byAdding: step, to: start)!, to)
            buckets.append(ReportPeriod(from: max(start, from), to: end,
                                        tenants: try vault.catalog.report(from: max(start, from), to: end, now: now, tenants: names, verifying: verifying)))
            start = end
        }
        try vault.catalog.appendAudit([vault.event("report", target: nil, details: ["from": Timestamp.utc(from), "to": Timestamp.utc(to)])])
        return (total, buckets)
    }
}
