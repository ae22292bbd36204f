// Expiry instants on the tenant's wall clock: month ends, leap years, DST nights, other zones.
import CallVaultCore
import CallVaultTesting
import Foundation
import Testing

func at(_ s: String) -> Date { Timestamp.parse(s)! }
let brussels = TimeZone(identifier: "Europe/Brussels")!

@Suite struct RetentionCalendarTests {
    @Test func monthEndClampsToTheLastDayOfFebruary() {
        let p1m = ISODuration("P1M")!
        #expect(Timestamp.utc(p1m.added(to: at("2027-01-31T10:00:00+01:00"), in: brussels)) == "2027-02-28T09:00:00Z")
        #expect(Timestamp.utc(p1m.added(to: at("2028-01-31T10:00:00+01:00"), in: brussels)) == "2028-02-29T09:00:00Z")
    }

    @Test func dstNightKeepsTheLocalTimeOfDay() {
        // 28 March 2027 02:00 Brussels jumps to 03:00: a day later is 23 hours later.
        let start = at("2027-03-27T12:00:00+01:00")
        let end = ISODuration("P1D")!.added(to: start, in: brussels)
        #expect(Timestamp.utc(end) == "2027-03-28T10:00:00Z")
        #expect(end.timeIntervalSince(start) == 23 * 3600)
        // P1M from winter into summer time: same local hour, one hour less in UTC.
        #expect(Timestamp.utc(ISODuration("P1M")!.added(to: at("2027-03-10T09:00:00+01:00"), in: brussels)) == "2027-04-10T07:00:00Z")
    }

    @Test func callAt2359LocalCountsFromTheLocalDate() {
        // 31 Jan 23:59 in Brussels is 31 Jan 22:59 UTC; in Auckland the same instant is already 1 Feb.
        let start = at("2027-01-31T23:59:00+01:00")
        #expect(Timestamp.utc(ISODuration("P1M")!.added(to: start, in: brussels)) == "2027-02-28T22:59:00Z")
        let auckland = TimeZone(identifier: "Pacific/Auckland")!
        // Local 1 Feb 11:59 +13:00 -> 1 Mar 11:59 +13:00.
        #expect(Timestamp.utc(ISODuration("P1M")!.added(to: start, in: auckland)) == "2027-02-28T22:59:00Z")
        // A call at 23:59 local that is already the next day in UTC (+01:00 at 00:30 local is the previous day in UTC).
        let late = at("2027-02-28T23:59:00-05:00")  // 1 Mar 04:59 UTC
        let newYork = TimeZone(identifier: "America/New_York")!
        #expect(Timestamp.utc(ISODuration("P1M")!.added(to: late, in: newYork)) == "2027-03-29T03:59:00Z")
    }

    @Test func metadataPeriodOfSixMonths() {
        let policy = RetentionPolicy(audio: ISODuration("P1M")!, metadata: ISODuration("P6M")!)
        let e = policy.expiries(startedAt: at("2026-08-31T12:00:00+02:00"), in: brussels)
        #expect(Timestamp.utc(e.audio) == "2026-09-30T10:00:00Z")
        #expect(Timestamp.utc(e.metadata) == "2027-02-28T11:00:00Z")
    }

    @Test func audioPeriodMustNotOutlastMetadata() {
        #expect(RetentionPolicy(audio: ISODuration("P1M")!, metadata: ISODuration("P6M")!).audioWithinMetadata)
        #expect(RetentionPolicy(audio: ISODuration("P14D")!, metadata: ISODuration("P14D")!).audioWithinMetadata)
        #expect(!RetentionPolicy(audio: ISODuration("P31D")!, metadata: ISODuration("P1M")!).audioWithinMetadata)
        #expect(!RetentionPolicy(audio: ISODuration("P7M")!, metadata: ISODuration("P6M")!).audioWithinMetadata)
    }

    @Test(arguments: ["P1M", "P6M", "P7D", "PT20S", "PT10M", "P1Y2M3DT4H5M6S", "P2W", "PT0.5S"])
    func validDurations(text: String) { #expect(ISODuration(text) != nil) }

    @Test(arguments: ["", "P", "PT", "1M", "P1", "PM", "P1X", "P-1M", "P1MT", "P1M1M", "p1m"])
    func invalidDurations(text: String) { #expect(ISODuration(text) == nil) }

    /// Before: these parsed, and `approximateSeconds` or calendar addition trapped (SIGILL).
    @Test(arguments: ["P99999999999999999Y", "P9999999999Y", "P10001Y", "P200000M", "P999999999999W", "P99999999999999D",
                      "PT99999999999999999H", "PT99999999999999999M", "PT99999999999999999999S", "PT1e400S",
                      "P99999999999999999999Y"])
    func durationsTooLongToComputeWithAreRefused(text: String) {
        #expect(ISODuration(text) == nil)
        #expect(throws: (any Error).self) { try ISODuration(validating: text) }
    }

    @Test func theLongestDurationStillComputes() throws {
        let d = try ISODuration(validating: "P9999Y")
        #expect(d.approximateSeconds > 3e11)
        #expect(throws: ISODuration.Invalid.tooLong) { try ISODuration(validating: "P10001Y") }
        #expect(throws: ISODuration.Invalid.malformed) { try ISODuration(validating: "P1Q") }
        // Far past the last 4-digit year, yet stored in the fixed-width form: kept longer, never due early.
        #expect(Timestamp.utc(d.added(to: at("2026-11-21T10:00:00+01:00"), in: brussels)) == "9999-12-31T23:59:59Z")
    }
}

@Suite struct TimestampTests {
    @Test func parsesRFC3339WithOffset() {
        #expect(Timestamp.utc(at("2026-11-21T10:14:03+01:00")) == "2026-11-21T09:14:03Z")
        #expect(Timestamp.utc(at("2026-11-21T09:14:03Z")) == "2026-11-21T09:14:03Z")
        #expect(Timestamp.utc(at("2026-11-21T09:14:03.750-02:30")) == "2026-11-21T11:44:03Z")
    }

    @Test(arguments: ["2026-11-21T10:14:03", "2026-11-21 10:14:03+01:00x", "2026-02-30T10:00:00Z", "2026-13-01T00:00:00Z",
                      "2026-11-21T24:00:00Z", "21/11/2026 10:14", "2026-11-21T10:14:03+0100", "2026-11-21"])
    func rejectsTimesWithoutOffsetOrOutOfRange(text: String) { #expect(Timestamp.parse(text) == nil) }

    /// A date given to the CLI or the web app is midnight in the zone; an impossible date is refused, not rolled over.
    @Test func aDateIsMidnightInTheZoneAndAnImpossibleDateIsRefused() {
        let brussels = TimeZone(identifier: "Europe/Brussels")!
        #expect(Timestamp.instantOrDate("2026-11-20", zone: brussels).map(Timestamp.utc) == "2026-11-19T23:00:00Z")
        #expect(Timestamp.instantOrDate("2026-07-01", zone: brussels).map(Timestamp.utc) == "2026-06-30T22:00:00Z")
        #expect(Timestamp.instantOrDate("2026-11-21T10:00:00+01:00", zone: brussels).map(Timestamp.utc) == "2026-11-21T09:00:00Z")
        for text in ["2026-02-30", "2026-11-00", "2026-13-01", "2026-1-01", "20261121", "2026-11-21T10:00:00"] {
            #expect(Timestamp.instantOrDate(text, zone: brussels) == nil, "\(text)")
        }
    }

    /// The catalog compares instants as text: every instant must be 20 characters with a 4-digit year.
    @Test func everyInstantIsFixedWidthAndSorts() {
        let instants = [-1e13, -62_167_219_201, -62_167_219_200, 0, 1_795_000_000, 253_402_300_799, 253_402_300_800, 1e13, 1e300,
                        .infinity, -.infinity, .nan]
        let texts = instants.map { Timestamp.utc(Date(timeIntervalSince1970: $0)) }
        for t in texts { #expect(t.utf8.count == 20, "\(t)") }
        #expect(texts.first == "0000-01-01T00:00:00Z")
        #expect(Timestamp.utc(Date(timeIntervalSince1970: 253_402_300_800)) == "9999-12-31T23:59:59Z")
        #expect(Timestamp.utc(Date(timeIntervalSince1970: .nan)) == "9999-12-31T23:59:59Z", "unknown: never due early")
        let ordered = texts.dropLast(4)
        #expect(Array(ordered) == ordered.sorted())
        #expect("9999-12-31T23:59:59Z" > Timestamp.utc(Date()))
    }

    @Test(arguments: ["9999-12-31T23:30:00-01:00", "0000-01-01T00:30:00+01:00"])
    func refusesInstantsWhoseUTCYearHasNotFourDigits(text: String) { #expect(Timestamp.parse(text) == nil) }

    @Test func acceptsTheEndsOfTheRange() {
        #expect(Timestamp.utc(at("0000-01-01T00:00:00Z")) == "0000-01-01T00:00:00Z")
        #expect(Timestamp.utc(at("9999-12-31T23:59:59.9Z")) == "9999-12-31T23:59:59Z")
        #expect(Timestamp.utc(at("9999-12-31T23:59:59+01:00")) == "9999-12-31T22:59:59Z")
    }
}
