// The one source of "now": injected, so that nothing deep inside reads the system clock by itself.
import Foundation

/// Where time comes from. Production reads the system clock once per operation; tests inject one.
public protocol Clock: Sendable {
    func now() -> Date
}

public struct SystemClock: Clock {
    public init() {}
    public func now() -> Date { Date() }
}
