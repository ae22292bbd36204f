// ISO 8601 durations (P1M, P6M, P7D, PT20S) and calendar-correct addition in a time zone.
import Foundation

/// A calendar duration such as `P1M` or `PT10M`. Calendar parts (years, months, weeks, days)
/// follow the wall clock of a time zone; time parts are exact seconds.
public struct ISODuration: Sendable, Equatable, CustomStringConvertible {
    public var years = 0, months = 0, weeks = 0, days = 0
    public var hours = 0, minutes = 0
    public var seconds = 0.0
    public let text: String

    public var description: String { text }

    /// Why a text is not an acceptable duration.
    public enum Invalid: Error, Sendable, Equatable {
        /// Not of the form `PnYnMnWnDTnHnMnS`.
        case malformed
        /// Longer than `ISODuration.longestSeconds`: arithmetic on it could overflow.
        case tooLong
    }

    /// The longest duration any text may denote: 10,000 years (P10000Y, counted as 366-day years).
    /// Every duration is bounded here, at parsing, so that no later arithmetic on one — seconds, calendar
    /// addition, a query bound — can overflow; settings have their own, much smaller limits on top.
    public static let longestSeconds = 10_000.0 * 366 * 86_400

    /// Parses `PnYnMnWnDTnHnMnS` (integers; fractional seconds allowed). Nil when malformed, empty or
    /// longer than `longestSeconds`.
    public init?(_ text: String) {
        guard let d = try? ISODuration(validating: text) else { return nil }
        self = d
    }

    /// Like `init?(_:)`, saying why a text is refused.
    public init(validating text: String) throws(Invalid) {
        guard let d = ISODuration(parsing: text) else { throw .malformed }
        // Each part is at most 18 digits (Int), so these products are finite doubles, never traps.
        let upper = (Double(d.years) * 366 + Double(d.months) * 31 + Double(d.weeks) * 7 + Double(d.days)) * 86_400
            + Double(d.hours) * 3600 + Double(d.minutes) * 60 + d.seconds
        guard upper.isFinite, upper <= Self.longestSeconds else { throw .tooLong }
        self = d
    }

    private init?(parsing text: String) {
        self.text = text
        var s = Substring(text)
        guard s.first == "P" else { return nil }
        s = s.dropFirst()
        var inTime = false
        var number = ""
        var sawAny = false
        var seen = Set<String>()
        for ch in s {
            if ch == "T" {
                guard !inTime, number.isEmpty else { return nil }
                inTime = true
                continue
            }
            if ch.isASCII, ch.isNumber || ch == "." {
                number.append(ch)
                continue
            }
            guard !number.isEmpty else { return nil }
            let unit = (inTime ? "T" : "") + String(ch)
            guard !seen.contains(unit) else { return nil }
            seen.insert(unit)
            if unit == "TS" {
                guard let v = Double(number), v >= 0, v.isFinite else { return nil }
                seconds = v
            } else {
                guard let v = Int(number), v >= 0 else { return nil }
                switch unit {
                case "Y": years = v
                case "M": months = v
                case "W": weeks = v
                case "D": days = v
                case "TH": hours = v
                case "TM": minutes = v
                default: return nil
                }
            }
            number = ""
            sawAny = true
        }
        guard sawAny, number.isEmpty, !(inTime && !(seen.contains("TH") || seen.contains("TM") || seen.contains("TS"))) else {
            return nil
        }
    }

    /// Exact length in seconds of the time part only; calendar parts counted as 24 h days and 30-day months.
    /// Used only for settings such as `settle` where the calendar does not matter. Cannot overflow: every
    /// part is bounded by `longestSeconds` at parsing.
    public var approximateSeconds: Double {
        Double(((years * 365 + months * 30 + weeks * 7 + days) * 24 + hours) * 3600 + minutes * 60) + seconds
    }

    /// `start + self` on the wall clock of `timeZone`: 31 Jan + P1M = end of February,
    /// P1D across a DST change keeps the local time of day.
    public func added(to start: Date, in timeZone: TimeZone) -> Date {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        var date = start
        // Calendar part first, in one step, so that month-end clamping is done once (31 Jan + P1M1D = 1 Mar).
        var calendarPart = DateComponents()
        calendarPart.year = years
        calendarPart.month = months
        calendarPart.day = weeks * 7 + days
        if years != 0 || months != 0 || weeks != 0 || days != 0 {
            // Durations are non-negative and bounded, so a nil here can only be "beyond the calendar": the
            // latest instant, never `start` (which would make a record kept for long due at once).
            date = calendar.date(byAdding: calendarPart, to: date, wrappingComponents: false) ?? Timestamp.latest
        }
        return date.addingTimeInterval(Double(hours * 3600 + minutes * 60) + seconds)
    }
}
