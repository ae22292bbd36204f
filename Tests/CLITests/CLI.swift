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

    @discardableResult
    func run(_ args: [String], env: [String: String] = [:]) throws -> CLIResult {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Self.binary)
        p.arguments = args
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
