// RFC 3339 timestamps: strict parsing (an offset is required) and the UTC form used in the catalog.
import Foundation

/// A point in time read from or written as RFC 3339.
public enum Timestamp {
    /// RFC 3339, or a date (`2026-11-21`: midnight of that day in `zone`), as the CLI and the web app take
    /// them. Nil for anything else, an impossible date (2026-02-30, 2026-11-00) included.
    public static func instantOrDate(_ text: String, zone: TimeZone) -> Date? {
        if let d = parse(text) { return d }
        // The day is checked by the strict RFC 3339 reading of its UTC midnight, then placed in the zone.
        guard text.count == 10, let utcMidnight = parse(text + "T00:00:00Z") else { return nil }
        var utc = Calendar(identifier: .gregorian)
        utc.timeZone = TimeZone(identifier: "UTC")!
        var local = Calendar(identifier: .gregorian)
        local.timeZone = zone
        let day = utc.dateComponents([.year, .month, .day], from: utcMidnight)
        return local.date(from: DateComponents(year: day.year, month: day.month, day: day.day))
    }

    /// Parses `YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)`. Returns nil for anything else,
    /// in particular for a local time without offset, which would be ambiguous.
    public static func parse(_ text: String) -> Date? {
        let b = Array(text.utf8)
        guard b.count >= 20 else { return nil }
        func digits(_ start: Int, _ count: Int) -> Int? {
            guard start + count <= b.count else { return nil }
            var v = 0
            for i in start..<(start + count) {
                let c = b[i]
                guard c >= 48, c <= 57 else { return nil }
                v = v * 10 + Int(c - 48)
            }
            return v
        }
        guard let year = digits(0, 4), b[4] == 45, let month = digits(5, 2), b[7] == 45,
              let day = digits(8, 2), b[10] == 84 || b[10] == 116,
              let hour = digits(11, 2), b[13] == 58, let minute = digits(14, 2), b[16] == 58,
              let second = digits(17, 2) else { return nil }
        guard (1...12).contains(month), day >= 1, day <= daysInMonth(year, month),
              hour <= 23, minute <= 59, second <= 59 else { return nil }
        var i = 19
        var fraction = 0.0
        if i < b.count, b[i] == 46 {
            i += 1
            var scale = 0.1
            let start = i
            while i < b.count, b[i] >= 48, b[i] <= 57 {
                fraction += Double(b[i] - 48) * scale
                scale /= 10
                i += 1
            }
            guard i > start else { return nil }
        }
        guard i < b.count else { return nil }
        var offsetSeconds = 0
        if b[i] == 90 || b[i] == 122 {
            i += 1
        } else if b[i] == 43 || b[i] == 45 {
            guard let oh = digits(i + 1, 2), i + 3 < b.count, b[i + 3] == 58, let om = digits(i + 4, 2),
                  oh <= 23, om <= 59 else { return nil }
            offsetSeconds = (oh * 3600 + om * 60) * (b[i] == 45 ? -1 : 1)
            i += 6
        } else {
            return nil
        }
        guard i == b.count else { return nil }
        let days = daysFromCivil(year, month, day)
        let seconds = Double(days * 86_400 + hour * 3600 + minute * 60 + second - offsetSeconds) + fraction
        // An offset can push a 4-digit local time out of the 4-digit UTC range (9999-12-31T23:30-01:00):
        // such an instant has no catalog form, so it is refused rather than clamped.
        guard seconds >= earliestSeconds, seconds < latestSeconds + 1 else { return nil }
        return Date(timeIntervalSince1970: seconds)
    }

    /// 0000-01-01T00:00:00Z and 9999-12-31T23:59:59Z: the instants whose UTC form has a 4-digit year.
    public static let earliestSeconds = Double(daysFromCivil(0, 1, 1) * 86_400)
    public static let latestSeconds = Double(daysFromCivil(9999, 12, 31) * 86_400 + 86_399)
    /// The latest instant the catalog can hold; an expiry computed beyond it is stored as this.
    public static let latest = Date(timeIntervalSince1970: latestSeconds)

    /// `2026-11-21T09:14:03Z`: the one form the catalog and `--json` use. Always 20 characters with a 4-digit
    /// year, because the catalog compares instants as text: a 5-digit year ("12025-…") would sort before
    /// "2026-…" and make a record kept for ten millennia due at once. So instants past 9999-12-31T23:59:59Z
    /// (an expiry computed from a long period) are written as that instant — kept longer, never shorter —
    /// and instants before year 0000, which only arithmetic on a query bound can produce, as
    /// 0000-01-01T00:00:00Z. Input never reaches either: `parse` refuses instants outside the range.
    public static func utc(_ date: Date) -> String {
        let raw = date.timeIntervalSince1970
        // NaN counts as "latest": of the two ends, the one that never makes anything due early.
        let clamped = raw.isNaN ? latestSeconds : min(max(raw, earliestSeconds), latestSeconds)
        let total = Int(floor(clamped))
        let days = Int(floor(Double(total) / 86_400))
        let secs = total - days * 86_400
        let (y, m, d) = civilFromDays(days)
        func pad(_ v: Int, _ width: Int) -> String {
            let s = String(v)
            return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
        }
        return pad(y, 4) + "-" + pad(m, 2) + "-" + pad(d, 2) + "T" + pad(secs / 3600, 2) + ":" + pad((secs / 60) % 60, 2) + ":" + pad(secs % 60, 2) + "Z"
    }

    static func daysInMonth(_ year: Int, _ month: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    // Howard Hinnant's days_from_civil / civil_from_days: exact proleptic Gregorian arithmetic.
    static func daysFromCivil(_ year: Int, _ month: Int, _ day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func civilFromDays(_ days: Int) -> (Int, Int, Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (m <= 2 ? yoe + era * 400 + 1 : yoe + era * 400, m, d)
    }
}
