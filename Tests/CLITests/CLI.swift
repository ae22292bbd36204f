// Runs the built `callvault` binary the way a user does, in a private temporary directory.
import CallVaultPostgres
import CallVaultStore
import CallVaultTesting
import Foundation

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

    /// The shared catalog the suite runs on, when CALLVAULT_TEST_PG names a server (`make test` starts a
    /// throwaway cluster, scripts/pg-cluster.sh): every sandbox then gets an empty database of its own, and
    /// every command it runs uses it. Unset: the embedded SQLite catalog in the store.
    static let postgres: (base: String, password: String)? = {
        let env = ProcessInfo.processInfo.environment
        guard let base = env["CALLVAULT_TEST_PG"], !base.isEmpty else { return nil }
        let password = env["CALLVAULT_TEST_PG_PASSWORD"] ?? ""
        // Children started without `run` (daemons, races) find the catalog in the store's callvault.toml, which
        // `init` wrote; the password, never written there, they inherit from here.
        setenv("CALLVAULT_CATALOG_PASSWORD", password, 1)
        return (base, password)
    }()
    static var onPostgres: Bool { postgres != nil }

    /// This sandbox's database on the shared server.
    let database: String?
    var catalogURL: String? { database.map { Self.postgres!.base + "/" + $0 } }

    init() {
        dir = NSTemporaryDirectory() + "callvault-test-" + UUID().uuidString
        try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        if Self.onPostgres {
            let name = "cv_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16)
            database = String(name)
            Self.psql("CREATE DATABASE \(name)")
        } else {
            database = nil
        }
    }

    deinit {
        try? FileManager.default.removeItem(atPath: dir)
        // An autovacuum worker (the superuser's) may hold the database a moment: tried again, then left to the
        // throwaway cluster's end.
        if let database {
            for _ in 0..<5 where !Self.psql("DROP DATABASE IF EXISTS \(database) WITH (FORCE)", required: false) { usleep(500_000) }
        }
    }

    /// Runs one statement on the server's `postgres` database as the test role.
    @discardableResult
    static func psql(_ sql: String, required: Bool = true) -> Bool {
        guard let (base, password) = postgres else { return false }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/psql")
        p.arguments = ["-q", "-v", "ON_ERROR_STOP=1", base + "/postgres", "-c", sql]
        p.environment = ["PGPASSWORD": password, "PATH": "/usr/bin:/bin"]
        if !required { p.standardError = FileHandle.nullDevice }
        try! p.run()
        p.waitUntilExit()
        precondition(!required || p.terminationStatus == 0, "psql: \(sql) failed")
        return p.terminationStatus == 0
    }

    /// Runs the binary; with `user`, as that OS user through `runuser` (root is never denied, so permission
    /// cases need another user).
    @discardableResult
    /// With `input`, that text is the command's standard input (a pipe, not a terminal).
    func run(_ args: [String], env: [String: String] = [:], as user: String? = nil, input: String? = nil) throws -> CLIResult {
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
        if let catalogURL {
            environment["CALLVAULT_CATALOG_URL"] = catalogURL
            environment["CALLVAULT_CATALOG_PASSWORD"] = Self.postgres!.password
        }
        for (k, v) in env { environment[k] = v }
        p.environment = environment
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        let inPipe = input.map { _ in Pipe() }
        if let inPipe { p.standardInput = inPipe }
        try p.run()
        if let inPipe, let input {
            inPipe.fileHandleForWriting.write(Data(input.utf8))
            try inPipe.fileHandleForWriting.close()
        }
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return CLIResult(status: p.terminationStatus, killed: p.terminationReason == .uncaughtSignal,
                         stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
    }

    /// `callvault init` with the two fixture tenants: a simulation store, whose clock is the suite's (shifted by
    /// CALLVAULT_TEST_SHIFT_DAYS), unless `production` (the real clock; dates then come from `onRealClock`).
    func initStore(_ extra: [String] = [], production: Bool = false) throws {
        let simulation = production || extra.contains("--simulation") ? [] : ["--simulation"]
        let r = try run(["init", "--tenant", "acme-energy", "--tenant", "telco-be"] + simulation + extra)
        precondition(r.status == 0, r.stderr)
    }

    /// Copies the named fixture files (relative to fixtures/inbox) into the inbox, keeping sub-folders.
    func copyFixtures(_ names: [String]? = nil) throws {
        let src = Self.fixtures + "/inbox"
        let all = try names ?? FileManager.default.subpathsOfDirectory(atPath: src).filter { !$0.hasSuffix("/") && !isDir(src + "/" + $0) }
        for n in all {
            let dest = inbox + "/" + n
            try FileManager.default.createDirectory(atPath: URL(fileURLWithPath: dest).deletingLastPathComponent().path, withIntermediateDirectories: true)
            if n.hasSuffix(".json") {
                // The sample calls, dated 2026-11-20, moved to the same place relative to today (see `shifted`).
                let text = try String(contentsOfFile: src + "/" + n, encoding: .utf8)
                try shiftedInstants(in: text).write(toFile: dest, atomically: false, encoding: .utf8)
            } else {
                try FileManager.default.copyItem(atPath: src + "/" + n, toPath: dest)
            }
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

    /// The store's catalog, on whichever engine the suite runs: tests read it (and some write it, as an older
    /// version or someone with access to the database would) with the catalog's own SQL surface.
    func catalog() throws -> any CatalogEngine {
        if let catalogURL {
            return try PostgresEngine(target: PostgresTarget.parse(catalogURL, password: Self.postgres!.password, allowPassword: false))
        }
        return try SQLiteEngine(path: store + "/catalog.sqlite")
    }

    /// The catalog of a store at another path (on PostgreSQL, the sandbox's one database).
    func catalog(store path: String) throws -> any CatalogEngine {
        catalogURL == nil ? try SQLiteEngine(path: path + "/catalog.sqlite") : try catalog()
    }

    /// SQLite's integrity check; on PostgreSQL (which has no such pragma) every catalog table reads through.
    static func integrityCheck(_ db: any SQLSession) throws -> String? {
        if db.dialect == .sqlite { return try String.fetchOne(db, sql: "PRAGMA integrity_check") }
        for t in ["recordings", "pending_placements", "rejections", "audit_events", "holds", "hold_items", "requests", "request_items"] {
            _ = try Int.fetchOne(db, sql: "SELECT count(*) FROM \(t)")
        }
        return "ok"
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
            Dictionary(uniqueKeysWithValues: try SQLRow.fetchAll(db, sql: "SELECT call_id, id FROM recordings").map { ($0["call_id"], $0["id"]) })
        }
    }

    /// call_ids whose row exists, and those whose audio file is still on disk.
    func state() throws -> (rows: [String], audio: [String]) {
        try catalog().read { db in
            let rows = try SQLRow.fetchAll(db, sql: "SELECT call_id, audio_path FROM recordings ORDER BY call_id")
            let audio = rows.filter { FileManager.default.fileExists(atPath: store + "/" + ($0["audio_path"] as String)) }
            return (rows.map { $0["call_id"] }, audio.map { $0["call_id"] })
        }
    }

    /// Rows where the catalog and the disk disagree: marked deleted but the file is there, or present but gone;
    /// and the call's native document (its sidecar, kept verbatim) not there exactly while its audio is. A
    /// native document of no row is named by its path.
    func catalogDiskMismatches() throws -> [String] {
        try catalog().read { db in
            let rows = try SQLRow.fetchAll(db, sql: "SELECT call_id, audio_path, audio_deleted_at FROM recordings")
            var out: [String] = rows.compactMap { r in
                let onDisk = FileManager.default.fileExists(atPath: store + "/" + (r["audio_path"] as String))
                let saysPresent = (r["audio_deleted_at"] as String?) == nil
                let native = FileManager.default.fileExists(atPath: store + "/" + Placement.nativeFolder(forAudioPath: r["audio_path"]) + "/sidecar.json")
                return onDisk == saysPresent && native == onDisk ? nil : (r["call_id"] as String)
            }
            let known = Set(rows.map { Placement.nativeFolder(forAudioPath: $0["audio_path"]) + "/sidecar.json" })
            out += files(under: store + "/native").map { "native/" + $0 }.filter { !known.contains($0) }
            return out
        }
    }
}

/// Runs the binary on a pseudo-terminal (util-linux `script`), as a user at a terminal would: stdout and
/// stderr both end up in `output`.
func onTerminal(_ box: Sandbox, _ args: [String]) throws -> (status: Int32, output: String) {
    let quoted = ([Sandbox.binary] + args).map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }.joined(separator: " ")
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/script")
    p.arguments = ["-qec", quoted, "/dev/null"]
    var env = ProcessInfo.processInfo.environment
    env["CALLVAULT_STORE"] = box.store
    p.environment = env
    let out = Pipe()
    p.standardOutput = out
    p.standardError = FileHandle.nullDevice
    p.standardInput = FileHandle.nullDevice
    try p.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: data, as: UTF8.self))
}
