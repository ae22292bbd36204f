// Fault injection for the kill tests: the process kills itself with SIGKILL at a named step (debug builds only).
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The named steps of every write path. `CALLVAULT_CRASH_AT=STEP[:N]` makes the process SIGKILL itself
/// the Nth time (default first) it reaches STEP — the same as `kill -9` at that instant, which is what
/// the crash tests need to prove the ordering. Only debug builds (the tests' binary) honour it: in a
/// release build an environment variable must never be able to kill the vault half-way.
public enum CrashPoint {
    #if DEBUG
    private static let target: (String, Int)? = {
        guard let v = ProcessInfo.processInfo.environment["CALLVAULT_CRASH_AT"], !v.isEmpty else { return nil }
        let parts = v.split(separator: ":")
        return (String(parts[0]), parts.count > 1 ? Int(parts[1]) ?? 1 : 1)
    }()
    nonisolated(unsafe) private static var hits: [String: Int] = [:]
    private static let lock = NSLock()
    #endif

    @inline(__always)
    public static func reached(_ step: String) {
        #if DEBUG
        guard let (name, n) = target, name == step else { return }
        let count: Int = lock.withLock {
            hits[step, default: 0] += 1
            return hits[step]!
        }
        if count == n { kill(getpid(), SIGKILL) }
        #endif
    }
}
