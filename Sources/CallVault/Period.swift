import CallVaultCore
import Foundation

/// The ends of a period as people type them, read one way by every front end. RFC 3339 is taken as is. A date
/// (2026-11-21) is a day on the clock of `zone`, and a period includes its days whole: `from` a date is its
/// midnight, `to` a date the next midnight ("to 2026-11-21" includes the 21st, as people read it and as the
/// web form says). An instant `to` is exclusive: calls that started before it.
public enum PeriodEnd: Sendable {
    case from, to

    public var field: String { self == .from ? "from" : "to" }

    public func instant(_ text: String, zone: TimeZone) -> Date? {
        guard let d = Timestamp.instantOrDate(text, zone: zone) else { return nil }
        guard self == .to, Timestamp.parse(text) == nil else { return d }
        return Calendar.inZone(zone).date(byAdding: .day, value: 1, to: d)
    }

    /// Refuses text that is neither, naming the field (each front end words it: `--to`, "the end date").
    public func read(_ text: String, zone: TimeZone) throws -> Date {
        guard let d = instant(text, zone: zone) else { throw Self.refusal(field) }
        return d
    }

    /// A moment that is not a period's end (a hold's review date, an audit's `until`, a request received):
    /// RFC 3339 as is, a date its midnight in `zone`.
    public static func moment(_ text: String, zone: TimeZone, field: String) throws -> Date {
        guard let d = Timestamp.instantOrDate(text, zone: zone) else { throw refusal(field) }
        return d
    }

    static func refusal(_ field: String) -> VaultError {
        VaultError(.usage, "give a date (2026-11-21) or RFC 3339 (2026-11-21T10:00:00+01:00)", field: field)
    }
}

/// The period a report is asked for: both ends optional, `to` now and `from` a month before it on the zone's calendar. Dates are
/// read in the zone every tenant shares, else the configured one: the report covers them all.
public struct ReportRange: Sendable {
    public let from, to: Date
    public let zone: TimeZone

    public init(from: String?, to: String?, configuration: Configuration, now: Date) throws {
        let zone = configuration.zone(forTenant: nil)
        let end = try to.map { try PeriodEnd.to.read($0, zone: zone) } ?? now
        self.from = try from.map { try PeriodEnd.from.read($0, zone: zone) } ?? Calendar.inZone(zone).date(byAdding: .month, value: -1, to: end)!
        self.to = end
        self.zone = zone
    }
}

extension Calendar {
    /// The Gregorian calendar on the clock of `zone`.
    public static func inZone(_ zone: TimeZone) -> Calendar {
        var c = Calendar(identifier: .gregorian)
        c.timeZone = zone
        return c
    }
}
