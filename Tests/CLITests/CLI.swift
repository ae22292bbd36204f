// Runs the built `callvault` binary the way a user does, in a private temporary directory.
import Foundation
import GRDB

struct CLIResult {
    var status: Int32
    var killed: Bool
    var stdout: String
    var stderr: String

    func json() throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(stdout.utf8)) as? [String: Any] ?? [:]
    }
}

/// A temporary working directory with a store and an inbox; removed at deinit.
final class Sandbox {
    let dir: String
    var store: String { dir + "/store" }
    var inbox: String { dir + "/inbox" }

    static let packageRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    static var fixtures: String { packageRoot + "/fixtures" }

    /// The `callvault` binary built beside the test bundle.
    static let binary: String = {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        let candidate = URL(fileURLWithPath: exe).deletingLastPathComponent().appendingPathComponent("callvault").path
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        return packageRoot + "/.build/debug/callvault"
    }()

    init() {
        dir = NSTemporaryDirectory() + "callvault-test-" + UUID().uuidString
        try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: dir) }

    /// Runs the binary; with `user`, as that OS user through `runuser` (root is never denied, so permission
    /// cases need another user).
    @discardableResult
    func run(_ args: [String], env: [String: String] = [:], as user: String? = nil) throws -> CLIResult {
        let p = Process()
        if let user {
            p.executableURL = URL(fileURLWithPath: "/usr/sbin/runuser")
            p.arguments = ["-u", user, "--", Self.binary, "--store", store] + args
        } else {
            p.executableURL = URL(fileURLWithPath: Self.binary)
            p.arguments = args
        }
        p.currentDirectoryURL = URL(fileURLWithPath: dir)
        var environment = ProcessInfo.processInfo.environment
        environment.removeValue(forKey: "CALLVAULT_CRASH_AT")
        environment["CALLVAULT_STORE"] = store
        for (k, v) in env { environment[k] = v }
        p.environment = environment
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return CLIResult(status: p.terminationStatus, killed: p.terminationReason == .uncaughtSignal,
                         stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
    }

    /// `callvault init` with the two fixture tenants.
    func initStore(_ extra: [String] = []) throws {
        let r = try run(["init", "--tenant", "acme-energy", "--tenant", "telco-be"] + extra)
        precondition(r.status == 0, r.stderr)
    }

    /// Copies the named fixture files (relative to fixtures/inbox) into the inbox, keeping sub-folders.
    func copyFixtures(_ names: [String]? = nil) throws {
        let src = Self.fixtures + "/inbox"
        let all = try names ?? FileManager.default.subpathsOfDirectory(atPath: src).filter { !$0.hasSuffix("/") && !isDir(src + "/" + $0) }
        for n in all {
            let dest = inbox + "/" + n
            try FileManager.default.createDirectory(atPath: URL(fileURLWithPath: dest).deletingLastPathComponent().path, withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: src + "/" + n, toPath: dest)
        }
    }

    func isDir(_ p: String) -> Bool {
        var d: ObjCBool = false
        return FileManager.default.fileExists(atPath: p, isDirectory: &d) && d.boolValue
    }

    /// Every regular file below `path`, relative to it, sorted.
    func files(under path: String) -> [String] {
        ((try? FileManager.default.subpathsOfDirectory(atPath: path)) ?? []).filter { !isDir(path + "/" + $0) }.sorted()
    }

    func catalog() throws -> DatabaseQueue {
        var c = Configuration()
        c.readonly = true
        return try DatabaseQueue(path: store + "/catalog.sqlite", configuration: c)
    }

    func count(_ sql: String) throws -> Int {
        try catalog().read { try Int.fetchOne($0, sql: sql) ?? -1 }
    }
}

extension Sandbox {
    /// Drops one call into the inbox: real µ-law audio from the fixtures and a sidecar with the given facts.
    func addCall(tenant: String = "acme-energy", callID: String, startedAt: String, agent: String = "a-1",
                 team: String = "billing-nl", caller: String = "+32470000001", audio: String = "acme-energy/call-0001.wav") throws {
        let dir = inbox + "/" + tenant
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let ext = URL(fileURLWithPath: audio).pathExtension
        try FileManager.default.copyItem(atPath: Self.fixtures + "/inbox/" + audio, toPath: dir + "/" + callID + "." + ext)
        let sidecar: [String: Any] = [
            "schema": "callvault.call/1", "call_id": callID, "tenant": tenant, "started_at": startedAt,
            "direction": "inbound", "agent": ["id": agent, "team": team], "caller": caller,
            "announcement": ["played": true],
        ]
        try JSONSerialization.data(withJSONObject: sidecar).write(to: URL(fileURLWithPath: dir + "/" + callID + ".json"))
    }

    /// recording id by call_id, from the catalog.
    func recordingIDs() throws -> [String: String] {
        try catalog().read { db in
            Dictionary(uniqueKeysWithValues: try Row.fetchAll(db, sql: "SELECT call_id, id FROM recordings").map { ($0["call_id"], $0["id"]) })
        }
    }

    /// call_ids whose row exists, and those whose audio file is still on disk.
    func state() throws -> (rows: [String], audio: [String]) {
        try catalog().read { db in
            let rows = try Row.fetchAll(db, sql: "SELECT call_id, audio_path FROM recordings ORDER BY call_id")
            let audio = rows.filter { FileManager.default.fileExists(atPath: store + "/" + ($0["audio_path"] as String)) }
            return (rows.map { $0["call_id"] }, audio.map { $0["call_id"] })
        }
    }

    /// Rows where the catalog and the disk disagree: marked deleted but the file is there, or present but gone.
    func catalogDiskMismatches() throws -> [String] {
        try catalog().read { db in
            try Row.fetchAll(db, sql: "SELECT call_id, audio_path, audio_deleted_at FROM recordings").compactMap { r in
                let onDisk = FileManager.default.fileExists(atPath: store + "/" + (r["audio_path"] as String))
                let saysPresent = (r["audio_deleted_at"] as String?) == nil
                return onDisk == saysPresent ? nil : (r["call_id"] as String)
            }
        }
    }
}
