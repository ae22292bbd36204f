// The one source of "now": injected, so that nothing deep inside reads the system clock by itself.
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Where time comes from. Production reads the system clock once per operation; tests inject one.
public protocol Clock: Sendable {
    /// The wall clock: what events are dated with and retention is measured by. Hosts get it corrected and VMs
    /// resume from old snapshots, so it can step back or forward.
    func now() -> Date
    /// Seconds on a clock nobody sets (monotonic, arbitrary origin): how long something lasted in this process
    /// (a lockout, a session's idle time), whatever the wall clock did meanwhile.
    func uptime() -> TimeInterval
    /// The wall clock the file system dates files by (mtimes): compared with a file's age, never shifted, since
    /// the kernel that writes the mtimes knows nothing of a simulation.
    func fileSystemNow() -> Date
}

extension Clock {
    /// A clock a test moves by hand has no separate monotonic reading: its wall clock is both.
    public func uptime() -> TimeInterval { now().timeIntervalSince1970 }
    public func fileSystemNow() -> Date { now() }
}

public struct SystemClock: Clock {
    public init() {}
    public func now() -> Date { Date() }
    /// CLOCK_BOOTTIME: monotonic, and it counts time the host spent suspended (an idle session does not outlive
    /// a night in suspend).
    public func uptime() -> TimeInterval {
        var ts = timespec()
        guard clock_gettime(CLOCK_BOOTTIME, &ts) == 0 else { return ProcessInfo.processInfo.systemUptime }
        return TimeInterval(ts.tv_sec) + TimeInterval(ts.tv_nsec) / 1e9
    }
}

/// The system clock moved ahead by whole days: what a simulation store sees when `CALLVAULT_TEST_SHIFT_DAYS` is
/// set, so that a test suite can run "as if today were N days ahead" against the real binary. Only a store made
/// with `init --simulation` honours it (`Vault.open`): a variable left in an operator's shell must never move a
/// production vault's retention clock, any more than `sweep --now` does.
public struct ShiftedClock: Clock {
    public let days: Int
    let base: any Clock

    public init(days: Int, base: any Clock = SystemClock()) {
        self.days = days
        self.base = base
    }

    public func now() -> Date { base.now().addingTimeInterval(TimeInterval(days) * 86_400) }
    public func uptime() -> TimeInterval { base.uptime() }
    public func fileSystemNow() -> Date { base.fileSystemNow() }

    /// The environment variable a simulation store's clock honours.
    public static let variable = "CALLVAULT_TEST_SHIFT_DAYS"

    /// The shift the environment asks for: a whole number of days within ±100 years, else none (an unreadable
    /// value is not guessed at; it is a test harness's variable, not an operator's).
    public static func requestedDays(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> Int? {
        guard let text = environment[variable], let days = Int(text.trimmingCharacters(in: .whitespaces)),
              days != 0, abs(days) <= 36_525 else { return nil }
        return days
    }
}
