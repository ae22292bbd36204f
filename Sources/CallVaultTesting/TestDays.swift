// The test suite's notion of today: the real day, or N days ahead under CALLVAULT_TEST_SHIFT_DAYS=N.
import CallVaultCore
import Foundation

/// The tests' dates are written as of their "today", 2026-11-22 (the sample inbox's calls are of 2026-11-20, two
/// days before). `shifted` moves such a date to the same place relative to the suite's today, on the same
/// Brussels wall clock (the default tenant zone), so that what is recent, expired, or inside a report's range
/// does not depend on the day the suite runs: "2026-11-21T08:00:00+01:00" is yesterday at 08:00 in Brussels, with
/// the offset Brussels has on that day. A bare date ("2026-11-01") moves the same number of days.
///
/// The suite's today is the real one moved by `CALLVAULT_TEST_SHIFT_DAYS` days. The binary under test sees the
/// same shift on a simulation store (`ShiftedClock`), which is why the sandboxes' stores are simulation stores;
/// a test of a production store (which ignores the variable) writes its dates with `onRealClock`.
public enum TestDays {
    public static let zone = TimeZone(identifier: "Europe/Brussels")!
    public static var calendar: Calendar {
        var c = Calendar(identifier: .gregorian)
        c.timeZone = zone
        return c
    }

    /// Days the suite runs ahead of the real clock (0 unless CALLVAULT_TEST_SHIFT_DAYS is set).
    public static let shiftDays: Int = ShiftedClock.requestedDays() ?? 0

    /// The suite's now: what a simulation store's binary reads as its clock.
    public static var now: Date { Date().addingTimeInterval(TimeInterval(shiftDays) * 86_400) }

    /// The day the tests are written as of.
    public static let written: Date = calendar.date(from: DateComponents(year: 2026, month: 11, day: 22))!

    /// Days from 2026-11-22 to the suite's today in Brussels, fixed for the run.
    public static let offset: Int = days(to: now)
    /// Days from 2026-11-22 to the real today: for a production store, whose clock no variable moves.
    public static let realOffset: Int = days(to: Date())

    static func days(to d: Date) -> Int {
        let c = calendar
        return c.dateComponents([.day], from: written, to: c.startOfDay(for: d)).day!
    }

    /// One line naming the day the suite runs as of, for the log of a run.
    public static var banner: String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = zone
        f.dateFormat = "yyyy-MM-dd EEEE"
        if shiftDays == 0 { return "callvault tests: today is \(f.string(from: now)) (not shifted)" }
        return "callvault tests: today is \(f.string(from: now)), \(shiftDays) days after the real \(f.string(from: Date())) (\(ShiftedClock.variable)=\(shiftDays))"
    }

    public static func instant(_ text: String) -> Date {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        guard let d = f.date(from: text) else { preconditionFailure("not an RFC 3339 instant: \(text)") }
        return d
    }

    /// RFC 3339 on the Brussels wall clock, with its offset.
    public static func local(_ d: Date) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        f.timeZone = zone
        return f.string(from: d)
    }

    /// The same Brussels wall-clock time `days` days later.
    public static func move(_ d: Date, days: Int = offset) -> Date {
        calendar.date(byAdding: .day, value: days, to: d)!
    }

    /// `months` calendar months after `d` on the Brussels wall clock: what a PnM retention adds.
    public static func adding(months: Int, to d: Date) -> Date {
        calendar.date(byAdding: .month, value: months, to: d)!
    }
}

/// A test date (as of 2026-11-22) moved to the suite's today: see `TestDays`.
public func shifted(_ text: String) -> String { shifted(text, days: TestDays.offset) }

/// A test date moved to the real today: for a store made without `--simulation`, whose binary reads the real clock.
public func onRealClock(_ text: String) -> String { shifted(text, days: TestDays.realOffset) }

func shifted(_ text: String, days: Int) -> String {
    if text.count == 10 {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TestDays.zone
        f.dateFormat = "yyyy-MM-dd"
        guard let d = f.date(from: text) else { preconditionFailure("not a date: \(text)") }
        return f.string(from: TestDays.move(d, days: days))
    }
    return TestDays.local(TestDays.move(TestDays.instant(text), days: days))
}

/// `shifted`, as the UTC text the catalog stores.
public func shiftedUTC(_ text: String) -> String { isoUTC(TestDays.instant(shifted(text))) }

/// Every RFC 3339 instant (with its offset) in a sidecar's text, shifted; anything else as it was.
public func shiftedInstants(in text: String, days: Int = TestDays.offset) -> String {
    let re = try! NSRegularExpression(pattern: #"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(Z|[+-]\d{2}:\d{2})"#)
    var out = text
    for m in re.matches(in: text, range: NSRange(text.startIndex..., in: text)).reversed() {
        let r = Range(m.range, in: out)!
        out.replaceSubrange(r, with: shifted(String(out[r]), days: days))
    }
    return out
}

/// RFC 3339 UTC, the catalog's form.
public func isoUTC(_ d: Date) -> String {
    let f = ISO8601DateFormatter()
    f.formatOptions = [.withInternetDateTime]
    f.timeZone = TimeZone(identifier: "UTC")
    return f.string(from: d)
}

/// An RFC 3339 instant `hours` before the suite's now (calls recent enough that nothing is already expired).
public func recent(hours: Double = 1) -> String {
    isoUTC(TestDays.now.addingTimeInterval(-hours * 3600))
}

/// The suite's today (Brussels) as `YYYY-MM-DD`, `days` days from it.
public func testDay(_ days: Int = 0) -> String {
    let f = DateFormatter()
    f.locale = Locale(identifier: "en_US_POSIX")
    f.timeZone = TestDays.zone
    f.dateFormat = "yyyy-MM-dd"
    return f.string(from: TestDays.calendar.date(byAdding: .day, value: days, to: TestDays.now)!)
}

/// An RFC 3339 instant `months` calendar months after the suite's now (a `sweep --now` past every clock of calls
/// made `recent()`ly: audio after 1, metadata after 6).
public func monthsAhead(_ months: Int) -> String {
    isoUTC(TestDays.adding(months: months, to: TestDays.now))
}
