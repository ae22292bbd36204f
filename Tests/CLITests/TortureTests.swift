// The kill -9 torture of the daemon, short form (the long form: scripts/torture-watch.sh 50 1000).
import CallVaultTesting
import Foundation
import Testing

@Suite struct TortureTests {
    @Test func daemonKilledAtRandomWhilePairsArriveLosesAndDuplicatesNothing() throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/bash")
        p.arguments = [Sandbox.packageRoot + "/scripts/torture-watch.sh", "8", "200", Sandbox.binary]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        try p.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(p.terminationStatus == 0, "\(text)")
        #expect(text.contains("8 kill -9"), "\(text)")
        #expect(!text.contains("FAIL"), "\(text)")
    }
}
