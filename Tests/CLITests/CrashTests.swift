// Kill -9 at every step of the ingest and quarantine write paths, then re-run: exactly one stored copy,
// no orphan, no temporary file, and the inbox emptied.
import CallVaultTesting
import Foundation
import CallVaultStore
import Testing

@Suite struct CrashTests {
    static let inputs = [
        "acme-energy/call-0001.wav", "acme-energy/call-0001.json",
        "acme-energy/call-0002.wav", "acme-energy/call-0002.json",
        "telco-be/call-1002.flac", "telco-be/call-1002.json",
        "acme-energy/bad-audio-truncated.wav", "acme-energy/bad-audio-truncated.json",
        "bad-tenant-unknown.wav", "bad-tenant-unknown.json",
    ]

    /// Every named step of the write paths, and for per-file steps the first and a later hit.
    /// `copy.mid-write` is inside the copy of a quarantined input (a partial `.part` file is left: the case of an
    /// inbox on another file system, where every quarantine is a copy); `ingest.mid-stage` inside the staging copy.
    static let crashPoints = [
        "ingest.after-scan", "ingest.mid-stage:1", "ingest.mid-stage:3", "ingest.after-stage:1", "ingest.after-stage:3",
        "ingest.after-pending", "ingest.after-sync",
        "ingest.after-rename:1", "ingest.after-rename:2", "ingest.after-rename-native:1", "ingest.after-rename-native:2", "ingest.after-sync-renames", "ingest.after-commit",
        "ingest.after-remove-input:1", "ingest.after-remove-input:4",
        "copy.mid-write:1", "copy.mid-write:3", "quarantine.after-copy:1", "quarantine.after-copy:3",
        "quarantine.after-reason:1", "quarantine.after-reason:2", "quarantine.after-remove-input:1",
    ]

    @Test(arguments: crashPoints)
    func crashThenRerunEndsWithExactlyOneCopy(point: String) throws {
        let box = Sandbox()
        try box.initStore()
        try box.copyFixtures(Self.inputs)
        let crashed = try box.run(["ingest", "inbox"], env: ["CALLVAULT_CRASH_AT": point])
        #expect(crashed.killed, "the fault point \(point) was reached")

        let rerun = try box.run(["ingest", "--json", "inbox"])
        #expect(rerun.status == 4 || rerun.status == 0, "\(rerun.stderr)")
        #expect(box.files(under: box.inbox).isEmpty, "inbox emptied")

        let db = try box.catalog()
        try db.read { db in
            #expect(try Sandbox.integrityCheck(db) == "ok")
            #expect(try Int.fetchOne(db, sql: "SELECT count(*) FROM recordings") == 3)
            #expect(try Int.fetchOne(db, sql: "SELECT count(DISTINCT call_id) FROM recordings") == 3)
            #expect(try Int.fetchOne(db, sql: "SELECT count(*) FROM pending_placements") == 0)
            #expect(try Int.fetchOne(db, sql: "SELECT count(*) FROM rejections") == 2)
            #expect(try String.fetchAll(db, sql: "SELECT reason FROM rejections ORDER BY reason") == ["audio_truncated", "tenant_unknown"])
            let paths = try String.fetchAll(db, sql: "SELECT audio_path FROM recordings ORDER BY audio_path")
            #expect(box.files(under: box.store + "/audio").map { "audio/" + $0 } == paths, "no orphan, no temporary file")
            // Each stored call has its sidecar verbatim in its native folder, and no other native folder exists.
            let native = paths.map { Placement.nativeFolder(forAudioPath: $0) + "/sidecar.json" }.sorted()
            #expect(box.files(under: box.store + "/native").map { "native/" + $0 } == native, "no orphan native document")
        }
        // Both rejected pairs are whole in quarantine: audio, sidecar, reason.json, nothing else.
        let quarantined = box.files(under: box.store + "/quarantine")
        #expect(quarantined.count == 6, "\(quarantined)")
        #expect(quarantined.filter { $0.hasSuffix("reason.json") }.count == 2)
        #expect(!quarantined.contains { $0.hasSuffix(".tmp") || $0.hasSuffix(".part") })
        #expect(box.files(under: box.store + "/staging").isEmpty, "no staged copy left behind")
        // A second run finds nothing more to do: the crash left no state that makes later runs fail.
        let third = try box.run(["ingest", "--json", "inbox"])
        #expect(third.status == 0, "\(third.stderr)")
    }
}

@Suite struct CrashInjectionBuildTests {
    /// Compiles `CrashPoint.swift` with a two-line program the way a build configuration would, and runs it
    /// with `CALLVAULT_CRASH_AT` set to the step it reaches. Returns whether it was killed.
    func killed(debug: Bool) throws -> Bool {
        let dir = NSTemporaryDirectory() + "callvault-crashpoint-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "CrashPoint.reached(\"step\")\nprint(\"alive\")\n".write(toFile: dir + "/main.swift", atomically: true, encoding: .utf8)
        let compile = Process()
        compile.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        compile.arguments = ["swiftc"] + (debug ? ["-Onone", "-DDEBUG"] : ["-O"])
            + [Sandbox.packageRoot + "/Sources/CallVaultCore/CrashPoint.swift", dir + "/main.swift", "-o", dir + "/probe"]
        try compile.run()
        compile.waitUntilExit()
        #expect(compile.terminationStatus == 0)
        let run = Process()
        run.executableURL = URL(fileURLWithPath: dir + "/probe")
        run.environment = ["CALLVAULT_CRASH_AT": "step"]
        run.standardOutput = FileHandle.nullDevice
        try run.run()
        run.waitUntilExit()
        return run.terminationReason == .uncaughtSignal
    }

    /// A release build (no DEBUG) must never let an environment variable kill the vault half-way; the debug
    /// build the crash tests run keeps honouring it.
    @Test func onlyDebugBuildsHonourCrashInjection() throws {
        #expect(try killed(debug: false) == false)
        #expect(try killed(debug: true) == true)
    }
}
