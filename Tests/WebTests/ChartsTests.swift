// The report's charts do not mislead: round ticks on their own grid lines, a gap for a bucket without calls, and
// buckets that cover the whole period the headline totals count, however long it is.
import CallVault
import CallVaultCore
@testable import CallVaultWeb
import CallVaultTesting
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

@Suite(.serialized) struct ChartsTests {
    /// The `<svg>` of one chart, from its opening tag to its end.
    func chart(_ html: String, id: String) throws -> String {
        let open = try #require(html.range(of: "<svg class=\"chart\" id=\"\(id)\""))
        let close = try #require(html.range(of: "</svg>", range: open.upperBound..<html.endIndex))
        return String(html[open.lowerBound..<close.upperBound])
    }

    func matches(_ text: String, _ pattern: String) throws -> [[String]] {
        try text.matches(of: Regex(pattern)).map { m in (1..<m.output.count).map { m.output[$0].substring.map(String.init) ?? "" } }
    }

    /// Checks a count chart's y axis: every label a whole number, drawn on a grid line (the text sits 4 units
    /// below it), the lines evenly spaced from 0 at the bottom, and the bars measured by the same scale.
    /// Returns the labels, bottom to top.
    func checkCountAxis(_ svg: String) throws -> [Int] {
        let lines = try matches(svg, ##"<line x1="[^"]*" x2="[^"]*" y1="([^"]+)" y2="[^"]*" stroke="#e6eaf0"/>"##).map { Double($0[0])! }
        let ticks = try matches(svg, #"<text x="[^"]*" y="([^"]+)" text-anchor="end">([^<]*)</text>"#).map { (y: Double($0[0])! - 4, label: $0[1]) }
        #expect(ticks.count == lines.count && ticks.count >= 2)
        let values = ticks.compactMap { Int($0.label) }
        #expect(values.count == ticks.count, "labels: \(ticks.map(\.label))")
        for t in ticks { #expect(lines.contains { abs($0 - t.y) < 1e-6 }, "label \(t.label) is off its line") }
        let bottom = try #require(ticks.first), top = try #require(ticks.last)
        #expect(Int(bottom.label) == 0)
        let topValue = Double(Int(top.label)!), scale = (bottom.y - top.y) / topValue
        for t in ticks { #expect(abs(bottom.y - t.y - Double(Int(t.label)!) * scale) < 1e-6, "label \(t.label) is not the value of its line") }
        let step = values.count > 1 ? values[1] - values[0] : 1
        #expect(zip(values, values.dropFirst()).allSatisfy { $1 - $0 == step })
        #expect(Self.roundSteps.contains(step), "step \(step)")
        // A bar reaches the line of its value.
        for bar in try matches(svg, #"<rect x="[^"]*" y="([^"]+)" width="[^"]*" height="[^"]*" fill="[^"]*"><title>[^<]*: (\d+)</title>"#) {
            #expect(abs(bottom.y - Double(bar[0])! - Double(bar[1])! * scale) < 1e-6)
            #expect(Int(bar[1])! <= Int(top.label)!)
        }
        return values
    }

    static let roundSteps: Set<Int> = Set((0..<7).flatMap { k in [1, 2, 5].map { $0 * Int(pow(10, Double(k))) } })

    @Test func countTicksAreRoundAndOnTheirLines() throws {
        // The issue's example: a maximum of 7 once gave 0, 2, 4, 5, 7 on lines 1.75 apart.
        let seven = Charts.bars(title: "t", labels: ["a", "b"], series: [("stored", [7, 3])], id: "c").description
        #expect(try checkCountAxis(chart(seven, id: "c")) == [0, 2, 4, 6, 8])
        for maximum in [0, 1, 2, 3, 5, 9, 11, 19, 26, 99, 100, 101, 1234, 987_654] {
            let svg = try chart(Charts.bars(title: "t", labels: ["a"], series: [("stored", [maximum])], id: "c").description, id: "c")
            let values = try checkCountAxis(svg)
            let top = try #require(values.last)
            #expect(top >= maximum && values.count <= 6, "max \(maximum): \(values)")
            let (step, axisTop) = Charts.countAxis(max: maximum)
            #expect(axisTop == top && axisTop % step == 0 && axisTop - step < max(maximum, 1))
        }
    }

    /// Dates as the period form sends them, in the store's zone.
    func day(_ date: Date, _ zone: TimeZone) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = zone
        f.dateFormat = "yyyy-MM-dd"
        return f.string(from: date)
    }

    func report(_ f: WebFixture, from: String, to: String) async throws -> String {
        try await Application(router: f.router()).test(.router) { client in
            let b = try await client.login("dana")
            return try await client.execute(uri: "/report?from=\(from)&to=\(to)", method: .get, headers: b.headers) { r in
                #expect(r.status == .ok)
                return String(buffer: r.body)
            }
        }
    }

    @Test func aWeekOfDaysHasGapsWhereNoCallWasMade() async throws {
        let f = try WebFixture()
        let zone = f.vault.configuration.timeZone, now = f.clock.now()
        let html = try await report(f, from: day(now.addingTimeInterval(-6 * 86_400), zone), to: day(now, zone))
        #expect(html.contains("per day."))
        let lines = try chart(html, id: "chart-announcement")
        let labels = try matches(lines, #"<text x="[^"]*" y="[^"]*" text-anchor="middle">([^<]*)</text>"#).map { $0[0] }
        #expect(labels.count == 7)
        // The sample calls were all made on one day: one point per tenant there, none on the six empty days.
        let points = try matches(lines, #"<circle [^>]*><title>(.+?) (\d\d-\d\d): (\d+) %</title></circle>"#)
        #expect(points.count == 2 && Set(points.map { $0[0] }) == ["acme-energy", "telco-be"])
        #expect(Set(points.map { $0[1] }).count == 1)
        // A lone point has no neighbour to join: no line is drawn through the empty days.
        #expect(!lines.contains("<polyline"))
        _ = try checkCountAxis(chart(html, id: "chart-flows"))
    }

    func headline(_ html: String, _ id: String) throws -> Int {
        let at = try #require(html.range(of: "id=\"\(id)\"><b>"))
        return try #require(Int(html[at.upperBound...].prefix { $0.isNumber }))
    }

    @Test func twoYearsAreCountedPerMonthAndWhole() async throws {
        let f = try WebFixture()
        let zone = f.vault.configuration.timeZone, now = f.clock.now()
        let start = Calendar(identifier: .gregorian).date(byAdding: .year, value: -2, to: now)!
        let html = try await report(f, from: day(start, zone), to: day(now, zone))
        #expect(html.contains("per month."))
        let flows = try chart(html, id: "chart-flows")
        _ = try checkCountAxis(flows)
        // The calls are a day old, at the far end of the period: the buckets reach it.
        let stored = try matches(flows, #"<title>stored (\d{4}-\d\d): (\d+)</title>"#)
        #expect(!stored.isEmpty)
        #expect(stored.map { Int($0[1])! }.reduce(0, +) == (try headline(html, "stat-stored")))
        #expect(try headline(html, "stat-stored") > 0)

        let listing = Listing(vault: f.vault)
        let from = try PeriodEnd.from.read(day(start, zone), zone: zone)
        let series = try listing.reportSeries(from: from, to: now)
        #expect(series.size.unit == .month && series.size.count == 1)
        #expect(series.buckets.count <= ReportBucketSize.maxBuckets && series.buckets.count >= 24)
        #expect(series.buckets.first?.from == from && series.buckets.last?.to == now)
        #expect(zip(series.buckets, series.buckets.dropFirst()).allSatisfy { $0.to == $1.from })
        let total: Int = series.report.tenants.map(\.stored).reduce(0, +)
        let inBuckets: Int = series.buckets.map { $0.tenants.map(\.stored).reduce(0, +) }.reduce(0, +)
        #expect(inBuckets == total)
    }

    @Test func theBucketGrowsWithThePeriod() throws {
        let f = try WebFixture()
        let zone = f.vault.configuration.timeZone, now = f.clock.now()
        let ago = { (days: Double) in now.addingTimeInterval(-days * 86_400) }
        #expect(ReportBucketSize.choose(from: ago(7), to: now, zone: zone).unit == .day)
        #expect(ReportBucketSize.choose(from: ago(40), to: now, zone: zone).unit == .day)
        #expect(ReportBucketSize.choose(from: ago(120), to: now, zone: zone).unit == .week)
        #expect(ReportBucketSize.choose(from: ago(730), to: now, zone: zone).unit == .month)
        #expect(ReportBucketSize.choose(from: ago(3650), to: now, zone: zone).unit == .year)
        // A millennium is still at most 62 buckets, and they still hold every call.
        let series = try Listing(vault: f.vault).reportSeries(from: ago(365_250), to: now)
        #expect(series.size.unit == .year && series.size.count > 1 && series.size.name.hasSuffix(" years"))
        #expect(series.buckets.count <= ReportBucketSize.maxBuckets)
        let inBuckets: Int = series.buckets.map { $0.tenants.map(\.stored).reduce(0, +) }.reduce(0, +)
        let total: Int = series.report.tenants.map(\.stored).reduce(0, +)
        #expect(inBuckets == total && total > 0)
    }
}
