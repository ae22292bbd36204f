// The compliance report over time, for the web app's charts: the report of the whole period (`complianceReport`,
// audited once as the report it is) and the same per-tenant figures per day, week, month or year — the shortest
// of these that cuts the period into at most `ReportBucketSize.maxBuckets`, so the buckets always cover the whole
// period the headline totals count.
import CallVaultCore
import CallVaultStore
import Foundation

public struct ReportPeriod: Sendable {
    public let from: Date
    public let to: Date
    public let tenants: [TenantReport]
}

/// How long one bucket of the series is: `count` calendar units of the configured time zone.
public struct ReportBucketSize: Sendable, Equatable {
    public enum Unit: Sendable, Equatable { case day, week, month, year }
    public let unit: Unit
    public let count: Int

    /// More bars than this no longer fit the chart's width, and each bucket costs one report query.
    public static let maxBuckets = 62

    /// What the page writes after "per": "day", "week", "month", "year", "5 years".
    public var name: String {
        let word: String
        switch unit {
        case .day: word = "day"
        case .week: word = "week"
        case .month: word = "month"
        case .year: word = "year"
        }
        return count == 1 ? word : "\(count) \(word)s"
    }

    var component: Calendar.Component {
        switch unit {
        case .day: .day
        case .week: .weekOfYear
        case .month: .month
        case .year: .year
        }
    }

    /// The calendar the buckets are cut in: the configured zone's days, weeks from Monday (ISO 8601, as in the
    /// EU where the tenants are).
    static func calendar(_ zone: TimeZone) -> Calendar {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        calendar.firstWeekday = 2
        return calendar
    }

    /// The start of the calendar bucket holding `date`, and the starts after it: whole days, weeks, months, years.
    func boundaries(from date: Date, until end: Date, in calendar: Calendar, limit: Int) -> [Date] {
        guard var start = calendar.dateInterval(of: component, for: date)?.start else { return [] }
        var out: [Date] = []
        while start < end, out.count < limit {
            out.append(start)
            var next = start
            for _ in 0..<count {
                // The interval's end, not start + 1 unit: a zone whose day begins at 01:00 on a DST change stays aligned.
                guard let e = calendar.dateInterval(of: component, for: next)?.end, e > next else { return out }
                next = e
            }
            start = next
        }
        return out
    }

    /// The shortest size (days, then weeks, months, years, then several years) giving at most `maxBuckets`.
    public static func choose(from: Date, to: Date, zone: TimeZone) -> ReportBucketSize {
        let calendar = calendar(zone)
        for unit in [Unit.day, .week, .month, .year] {
            let size = ReportBucketSize(unit: unit, count: 1)
            if size.boundaries(from: from, until: to, in: calendar, limit: maxBuckets + 1).count <= maxBuckets { return size }
        }
        // Over 62 years (instants reach 0000–9999): years by the dozen or more, never thousands of queries.
        let years = (calendar.dateComponents([.year], from: from, to: to).year ?? 0) + 2
        return ReportBucketSize(unit: .year, count: max(2, (years + maxBuckets - 1) / maxBuckets))
    }
}

extension Listing {
    /// The report of the whole period, and of each bucket in it. The buckets partition [from, to) exactly — the
    /// first starts at `from`, the last ends at `to` — so per tenant their stored counts add up to the report's.
    public func reportSeries(from: Date, to: Date) throws -> (report: ComplianceReport, buckets: [ReportPeriod], size: ReportBucketSize) {
        try vault.require(Self.officers, to: "report")
        guard from < to else { throw VaultError(.usage, "report: from must be before to") }
        let report = try complianceReport(from: from, to: to)
        // Day basis, the same for every figure of a bucket: its bounds are midnights of the configured time zone
        // (the zone of the page's dates and labels), never UTC days, and one catalog query counts all its figures
        // between the same two instants. Within them each figure is dated as SPEC §11 dates it: a stored call by
        // its start, a rejection by its quarantine (a rejected pair may have no readable start time at all).
        let zone = vault.configuration.timeZone
        let size = ReportBucketSize.choose(from: from, to: to, zone: zone)
        let starts = size.boundaries(from: from, until: to, in: ReportBucketSize.calendar(zone), limit: ReportBucketSize.maxBuckets)
        var buckets: [ReportPeriod] = []
        for (i, start) in starts.enumerated() {
            let lower = max(start, from), upper = i + 1 < starts.count ? starts[i + 1] : to
            buckets.append(ReportPeriod(from: lower, to: upper, tenants: try tenantReports(from: lower, to: upper)))
        }
        return (report, buckets, size)
    }
}
