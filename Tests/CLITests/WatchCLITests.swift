// The daemon, run as a user runs it: recordings dropped into a live inbox every way a recorder does.
import CallVaultTesting
import Foundation
import CallVaultStore
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A running `callvault watch`.
final class RunningDaemon {
    let process = Process()
    let log: String

    /// `asUser` runs it as that user (`setpriv`, which execs in place, so signals reach the daemon itself).
    /// `inboxes` default to the sandbox's inbox; pass [] to take `inbox.paths` of the configuration.
    init(_ box: Sandbox, _ extra: [String] = [], asUser: String? = nil, inboxes: [String]? = nil) throws {
        log = box.dir + "/daemon-\(UUID().uuidString.prefix(6)).log"
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        let args = ["--store", box.store, "watch"] + (inboxes ?? [box.inbox]) + extra
        if let asUser {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
            process.arguments = ["--reuid=\(asUser)", "--regid=nogroup", "--clear-groups", "--", Sandbox.binary] + args
        } else {
            process.executableURL = URL(fileURLWithPath: Sandbox.binary)
            process.arguments = args
        }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle(forWritingAtPath: log)
        try process.run()
    }

    /// Waits until the daemon says it is watching (its signal handlers are in place from then on; a SIGTERM
    /// before that ends the process by the default action, with nothing in hand).
    func waitReady() {
        _ = eventually(timeout: 20) { output.contains("watching") }
    }

    /// SIGTERM, then wait; returns the exit status and how long the exit took.
    func stop() -> (status: Int32, seconds: Double) {
        let t0 = Date()
        process.terminate()
        process.waitUntilExit()
        return (process.terminationStatus, Date().timeIntervalSince(t0))
    }

    /// SIGHUP: reload the configuration.
    func hangup() { kill(process.processIdentifier, SIGHUP) }

    deinit { if process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() } }

    var output: String { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }
}

/// Polls `condition` until it holds or `timeout` passes.
func eventually(timeout: Double = 30, _ condition: () throws -> Bool) rethrows -> Bool {
    let end = Date().addingTimeInterval(timeout)
    while Date() < end {
        if try condition() { return true }
        usleep(100_000)
    }
    return try condition()
}

extension Sandbox {
    /// Writes a pair for `callID` into `staging` (outside the inbox), returning the two paths.
    func stagePair(_ callID: String, tenant: String? = "acme-energy", in staging: String, audio: String = "acme-energy/call-0001.wav", played: Bool = true) throws -> (String, String) {
        try FileManager.default.createDirectory(atPath: staging, withIntermediateDirectories: true)
        let a = staging + "/" + callID + ".wav", s = staging + "/" + callID + ".json"
        try FileManager.default.copyItem(atPath: Self.fixtures + "/inbox/" + audio, toPath: a)
        var sidecar: [String: Any] = [
            "schema": "callvault.call/1", "call_id": callID, "started_at": "2026-11-20T10:00:00+01:00",
            "direction": "inbound", "agent": ["id": "a-1"], "announcement": ["played": played],
        ]
        if let tenant { sidecar["tenant"] = tenant }
        try JSONSerialization.data(withJSONObject: sidecar).write(to: URL(fileURLWithPath: s))
        return (a, s)
    }

    func setConfig(_ key: String, _ value: String) throws {
        let path = store + "/callvault.toml"
        var text = try String(contentsOfFile: path, encoding: .utf8)
        text = text.split(separator: "\n", omittingEmptySubsequences: false).map { $0.hasPrefix(key + " =") ? "\(key) = \(value)" : String($0) }.joined(separator: "\n")
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    }
}

@Suite(.serialized) struct WatchCLITests {
    func ready(_ box: Sandbox) throws {
        try box.initStore()
        try FileManager.default.createDirectory(atPath: box.inbox, withIntermediateDirectories: true)
    }

    @Test func everyWayARecorderDropsACallEndsStoredOnce() throws {
        let box = Sandbox()
        try ready(box)
        let staging = box.dir + "/staging"
        let daemon = try RunningDaemon(box)
        daemon.waitReady()

        // 1. rename-in, both halves
        var (a, s) = try box.stagePair("renamed", in: staging)
        try FileManager.default.moveItem(atPath: a, toPath: box.inbox + "/renamed.wav")
        try FileManager.default.moveItem(atPath: s, toPath: box.inbox + "/renamed.json")

        // 2. sidecar first, audio 1.5 s later
        (a, s) = try box.stagePair("sidecar-first", in: staging)
        try FileManager.default.moveItem(atPath: s, toPath: box.inbox + "/sidecar-first.json")
        usleep(1_500_000)
        try FileManager.default.moveItem(atPath: a, toPath: box.inbox + "/sidecar-first.wav")

        // 3. audio first, sidecar 1.5 s later
        (a, s) = try box.stagePair("audio-first", in: staging)
        try FileManager.default.moveItem(atPath: a, toPath: box.inbox + "/audio-first.wav")
        usleep(1_500_000)
        try FileManager.default.moveItem(atPath: s, toPath: box.inbox + "/audio-first.json")

        // 4. a tenant sub-folder created after start; the sidecar names no tenant
        (a, s) = try box.stagePair("subfolder", tenant: nil, in: staging, audio: "telco-be/call-1002.flac")
        try FileManager.default.createDirectory(atPath: box.inbox + "/telco-be", withIntermediateDirectories: false)
        usleep(300_000)
        try FileManager.default.moveItem(atPath: s, toPath: box.inbox + "/telco-be/subfolder.json")
        try FileManager.default.moveItem(atPath: a, toPath: box.inbox + "/telco-be/subfolder.flac")

        // 5. audio written slowly in place (sidecar already there): never ingested half-written
        (a, s) = try box.stagePair("slow", in: staging)
        let full = try Data(contentsOf: URL(fileURLWithPath: a))
        try FileManager.default.moveItem(atPath: s, toPath: box.inbox + "/slow.json")
        let fh = try FileHandle(forWritingTo: { _ = FileManager.default.createFile(atPath: box.inbox + "/slow.wav", contents: nil); return URL(fileURLWithPath: box.inbox + "/slow.wav") }())
        let chunk = full.count / 4
        for i in 0..<4 {
            try fh.write(contentsOf: full[(i * chunk)..<(i == 3 ? full.count : (i + 1) * chunk)])
            usleep(1_200_000)
        }
        try fh.close()

        #expect(try eventually { try box.count("SELECT count(*) FROM recordings") == 5 })
        #expect(eventually { box.files(under: box.inbox).isEmpty })
        let rows = try box.catalog().read { db in
            try SQLRow.fetchAll(db, sql: "SELECT call_id, tenant, audio_bytes FROM recordings ORDER BY call_id").map { ($0["call_id"] as String, $0["tenant"] as String, $0["audio_bytes"] as Int) }
        }
        #expect(rows.map(\.0) == ["audio-first", "renamed", "sidecar-first", "slow", "subfolder"])
        #expect(rows.first { $0.0 == "subfolder" }?.1 == "telco-be")
        #expect(rows.first { $0.0 == "slow" }?.2 == full.count, "the slow file was taken whole")
        #expect(try box.count("SELECT count(*) FROM rejections") == 0)
        let stopped = daemon.stop()
        #expect(stopped.status == 0)
        #expect(stopped.seconds < 5)
        #expect(!daemon.output.contains("+32"), "no phone number in the logs")
        #expect(daemon.output.components(separatedBy: " stored").count - 1 == 5, "one log line per outcome")
    }

    @Test func aWriterThatClosesAndAppendsLaterIsStoredWhole() throws {
        let box = Sandbox()
        try ready(box)
        try box.setConfig("settle", "\"PT2S\"")
        let daemon = try RunningDaemon(box)
        daemon.waitReady()
        let (a, s) = try box.stagePair("appended", in: box.dir + "/staging")
        let full = try [UInt8](Data(contentsOf: URL(fileURLWithPath: a)))
        try FileManager.default.moveItem(atPath: s, toPath: box.inbox + "/appended.json")
        // In place, in chunks 1 s apart (less than `settle`), closed after each: a recorder flushing as it goes.
        let target = box.inbox + "/appended.wav"
        let third = full.count / 3
        for i in 0..<3 {
            let fd = open(target, O_WRONLY | O_CREAT | O_APPEND, 0o644)
            let chunk = Array(full[(i * third)..<(i == 2 ? full.count : (i + 1) * third)])
            #expect(fd >= 0 && write(fd, chunk, chunk.count) == chunk.count)
            close(fd)
            if i < 2 { usleep(1_000_000) }
        }
        #expect(try eventually { try box.count("SELECT count(*) FROM recordings") + box.count("SELECT count(*) FROM rejections") >= 1 })
        #expect(eventually { box.files(under: box.inbox).isEmpty })
        #expect(try box.count("SELECT count(*) FROM rejections") == 0, "no head quarantined as audio_truncated")
        #expect(try box.count("SELECT audio_bytes FROM recordings WHERE call_id = 'appended'") == full.count, "stored whole")
        #expect(daemon.stop().status == 0)
    }

    @Test func aBurstOfAThousandPairs() throws {
        let box = Sandbox()
        try ready(box)
        let staging = box.dir + "/staging"
        for i in 0..<1000 { _ = try box.stagePair("burst-\(i)", in: staging) }
        let daemon = try RunningDaemon(box)
        daemon.waitReady()
        for name in try FileManager.default.contentsOfDirectory(atPath: staging) {
            try FileManager.default.moveItem(atPath: staging + "/" + name, toPath: box.inbox + "/" + name)
        }
        #expect(try eventually(timeout: 90) { try box.count("SELECT count(*) FROM recordings") == 1000 })
        #expect(eventually { box.files(under: box.inbox).isEmpty })
        #expect(try box.count("SELECT count(DISTINCT call_id) FROM recordings") == 1000)
        #expect(daemon.stop().status == 0)
    }

    @Test func sigtermDuringABurstExitsCleanlyAndARestartFinishes() throws {
        let box = Sandbox()
        try ready(box)
        let staging = box.dir + "/staging"
        for i in 0..<400 { _ = try box.stagePair("t-\(i)", in: staging) }
        let daemon = try RunningDaemon(box)
        daemon.waitReady()
        for name in try FileManager.default.contentsOfDirectory(atPath: staging) {
            try FileManager.default.moveItem(atPath: staging + "/" + name, toPath: box.inbox + "/" + name)
        }
        usleep(400_000)
        let stopped = daemon.stop()
        #expect(stopped.status == 0)
        #expect(stopped.seconds < 5)
        let again = try RunningDaemon(box)
        again.waitReady()
        #expect(try eventually(timeout: 60) { try box.count("SELECT count(*) FROM recordings") == 400 })
        #expect(eventually { box.files(under: box.inbox).isEmpty })
        #expect(again.stop().status == 0)
        #expect(try box.count("SELECT count(*) FROM pending_placements") == 0)
    }

    @Test func aHalfAloneIsQuarantinedAfterThePairTimeout() throws {
        let box = Sandbox()
        try ready(box)
        try box.setConfig("pair_timeout", "\"PT2S\"")
        let (a, s) = try box.stagePair("lonely", in: box.dir + "/staging")
        try FileManager.default.removeItem(atPath: s)
        let daemon = try RunningDaemon(box)
        try FileManager.default.moveItem(atPath: a, toPath: box.inbox + "/lonely.wav")
        #expect(try eventually { try box.count("SELECT count(*) FROM rejections WHERE reason = 'sidecar_missing'") == 1 })
        #expect(box.files(under: box.inbox).isEmpty)
        #expect(daemon.stop().status == 0)
        #expect(daemon.output.contains("reason=sidecar_missing"))
    }

    @Test func pollingModeForNetworkShares() throws {
        let box = Sandbox()
        try ready(box)
        try box.setConfig("settle", "\"PT1S\"")
        let daemon = try RunningDaemon(box, ["--poll"])
        let (a, s) = try box.stagePair("polled", in: box.dir + "/staging")
        // cp, not mv: polling sees no events, only size and mtime.
        try FileManager.default.copyItem(atPath: a, toPath: box.inbox + "/polled.wav")
        try FileManager.default.copyItem(atPath: s, toPath: box.inbox + "/polled.json")
        #expect(try eventually { try box.count("SELECT count(*) FROM recordings") == 1 })
        #expect(daemon.stop().status == 0)
        #expect(daemon.output.contains("mode=poll"))
    }

    @Test func whatIsWaitingAtStartIsIngestedFirst() throws {
        let box = Sandbox()
        try ready(box)
        try box.copyFixtures(["acme-energy/call-0001.wav", "acme-energy/call-0001.json", "acme-energy/bad-audio-truncated.wav", "acme-energy/bad-audio-truncated.json"])
        // Old enough to be settled already.
        for f in box.files(under: box.inbox) {
            try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(-60)], ofItemAtPath: box.inbox + "/" + f)
        }
        // A long settle time: only the start-up rule (already older than `settle`) can take them at once.
        try box.setConfig("settle", "\"PT60S\"")
        for f in box.files(under: box.inbox) {
            try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(-120)], ofItemAtPath: box.inbox + "/" + f)
        }
        let daemon = try RunningDaemon(box)
        #expect(try eventually(timeout: 20) { try box.count("SELECT count(*) FROM recordings") == 1 })
        #expect(try box.count("SELECT count(*) FROM rejections WHERE reason = 'audio_truncated'") == 1)
        #expect(daemon.stop().status == 0)
    }
}

/// Disk full: the store on a small file system of its own (tmpfs; needs the right to mount, as root has here).
@Suite(.serialized) struct DiskFullTests {
    static let canMount: Bool = {
        let dir = NSTemporaryDirectory() + "cv-mount-probe-" + UUID().uuidString
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", "mount -t tmpfs -o size=1m tmpfs '\(dir)' 2>/dev/null && umount '\(dir)'"]
        try? p.run()
        p.waitUntilExit()
        return p.terminationStatus == 0
    }()

    func sh(_ cmd: String) -> Int32 {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", cmd]
        try? p.run()
        p.waitUntilExit()
        return p.terminationStatus
    }

    @Test(.enabled(if: canMount, "mounting a small tmpfs is not permitted here"))
    func inputsStayUntilSpaceReturnsThenTheDaemonResumesByItself() throws {
        let box = Sandbox()
        let mountPoint = box.dir + "/small"
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
        #expect(sh("mount -t tmpfs -o size=2m,mode=0700 tmpfs '\(mountPoint)'") == 0)
        defer { _ = sh("umount -l '\(mountPoint)'") }
        let store = mountPoint + "/store"
        #expect(try box.run(["init", "--simulation", "--store", store, "--tenant", "acme-energy"]).status == 0)
        try FileManager.default.createDirectory(atPath: box.inbox, withIntermediateDirectories: true)
        // 40 calls of ~90 KB: about 3.6 MB, more than the 2 MB file system holds.
        let staging = box.dir + "/staging"
        for i in 0..<40 { _ = try box.stagePair("full-\(i)", in: staging) }

        let daemon = Process()
        daemon.executableURL = URL(fileURLWithPath: Sandbox.binary)
        daemon.arguments = ["--store", store, "watch", box.inbox]
        let log = box.dir + "/daemon.log"
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        daemon.standardError = FileHandle(forWritingAtPath: log)
        daemon.standardOutput = FileHandle.nullDevice
        try daemon.run()
        usleep(300_000)
        for name in try FileManager.default.contentsOfDirectory(atPath: staging) {
            try FileManager.default.moveItem(atPath: staging + "/" + name, toPath: box.inbox + "/" + name)
        }
        // The vault fills up: some calls are stored, the rest wait in the inbox, untouched.
        #expect(eventually(timeout: 20) { ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").contains("vault failure") })
        usleep(2_000_000)
        let waiting = box.files(under: box.inbox)
        #expect(!waiting.isEmpty)
        #expect(waiting.count % 2 == 0, "whole pairs wait")
        let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        #expect(text.components(separatedBy: "vault failure").count - 1 == 1, "reported once per incident")

        // Space returns: the daemon resumes by itself and stores everything.
        #expect(sh("mount -o remount,size=64m '\(mountPoint)'") == 0)
        #expect(eventually(timeout: 90) { box.files(under: box.inbox).isEmpty })
        let db = try box.catalog(store: store)
        #expect(try db.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM recordings") } == 40)
        #expect(try db.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM rejections") } == 0)
        #expect(try db.read { try Sandbox.integrityCheck($0) } == "ok")
        let audio = box.files(under: store + "/audio")
        #expect(audio.count == 40 && !audio.contains { $0.hasSuffix(".tmp") })
        daemon.terminate()
        daemon.waitUntilExit()
        #expect(daemon.terminationStatus == 0)
        #expect(((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").contains("vault recovered"))
    }
}
