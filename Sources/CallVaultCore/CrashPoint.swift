// Fault injection for the kill tests: the process kills (or stops) itself at a named step.
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The named steps of every write path. `CALLVAULT_CRASH_AT=STEP[:N]` makes the process SIGKILL itself
/// the Nth time (default first) it reaches STEP — the same as `kill -9` at that instant, which is what
/// the crash tests need to prove the ordering. `CALLVAULT_STOP_AT=STEP[:N]` makes it SIGSTOP itself there
/// instead, so a test can change the inbox at exactly that instant (a file swapped by rename, a symlink)
/// and then continue it. Unset in production; reading them costs one getenv each.
public enum CrashPoint {
    private static func parse(_ variable: String) -> (String, Int)? {
        guard let v = ProcessInfo.processInfo.environment[variable], !v.isEmpty else { return nil }
        let parts = v.split(separator: ":")
        return (String(parts[0]), parts.count > 1 ? Int(parts[1]) ?? 1 : 1)
    }
    private static let crashTarget = parse("CALLVAULT_CRASH_AT")
    private static let stopTarget = parse("CALLVAULT_STOP_AT")
    nonisolated(unsafe) private static var hits: [String: Int] = [:]
    private static let lock = NSLock()

    public static func reached(_ step: String) {
        let crash = crashTarget.map { $0.0 == step } ?? false
        let stop = stopTarget.map { $0.0 == step } ?? false
        guard crash || stop else { return }
        let count: Int = lock.withLock {
            hits[step, default: 0] += 1
            return hits[step]!
        }
        if crash, count == crashTarget!.1 { kill(getpid(), SIGKILL) }
        if stop, count == stopTarget!.1 { kill(getpid(), SIGSTOP) }
    }
}
