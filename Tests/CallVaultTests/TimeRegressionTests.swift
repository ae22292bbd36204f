// What `audit verify` calls a clock that went back: more than the skew of hosts sharing a catalog, and at most
// a bounded list of them however many there are.
@testable import CallVaultStore
import Testing

@Suite struct TimeRegressionTests {
    @Test func aSecondOfSkewIsNotARegressionAndTheListIsBounded() {
        var c = TimeRegressionCounter()
        c.see(seq: 1, at: "2026-11-22T10:00:00.900Z")
        c.see(seq: 2, at: "2026-11-22T10:00:00.100Z")   // 0.8 s earlier: two hosts' clocks, not a step
        c.see(seq: 3, at: "2026-11-22T10:00:05Z")
        c.see(seq: 4, at: "2026-11-21T10:00:05Z")       // a day earlier
        #expect(c.total == 1 && c.named.map(\.seq) == [4])
        #expect(c.named.first?.previousAt == "2026-11-22T10:00:05Z")
        for i in 0..<300 { c.see(seq: Int64(10 + i), at: i % 2 == 0 ? "2026-11-23T00:00:00Z" : "2026-11-20T00:00:00Z") }
        #expect(c.total == 151 && c.named.count == TimeRegressionCounter.limit)
    }
}
