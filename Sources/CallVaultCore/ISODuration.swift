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

    /// Parses `PnYnMnWnDTnHnMnS` (integers; fractional seconds allowed). Nil when malformed or empty.
    public init?(_ text: String) {
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
                guard let v = Double(number), v >= 0 else { return nil }
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
    /// Used only for settings such as `settle` where the calendar does not matter.
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
            date = calendar.date(byAdding: calendarPart, to: date, wrappingComponents: false) ?? date
        }
        return date.addingTimeInterval(Double(hours * 3600 + minutes * 60) + seconds)
    }
}
