// The daemon as an operator meets it: SIGHUP, a busy metrics port, inputs and folders it cannot read, names
// it cannot spell, and what its logs and /healthz may say (never an inbox path or a phone number).
import CallVaultTesting
import Foundation
import CallVaultStore
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Runs a shell command; its exit status.
@discardableResult
func shell(_ command: String) -> Int32 {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/bin/sh")
    p.arguments = ["-c", command]
    try? p.run()
    p.waitUntilExit()
    return p.terminationStatus
}

/// A loopback port nothing listens on at the moment.
func freePort() -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
    _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
    return Int(UInt16(bigEndian: addr.sin_port))
}

/// A listening socket on 127.0.0.1:`port` (closed by the caller): the port is busy.
func occupy(port: Int) -> Int32 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = UInt16(port).bigEndian
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
    listen(fd, 1)
    return fd
}

/// GET http://127.0.0.1:`port``path`: status and body, or nil when nothing answers.
func httpGet(port: Int, _ path: String) -> (status: Int, body: String)? {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var timeout = timeval(tv_sec: 5, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = UInt16(port).bigEndian
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    let connected = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
    guard connected == 0 else { return nil }
    let request = Array("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".utf8)
    guard write(fd, request, request.count) == request.count else { return nil }
    var data = [UInt8]()
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = read(fd, &buffer, buffer.count)
        if n <= 0 { break }
        data += buffer[0..<n]
    }
    let text = String(decoding: data, as: UTF8.self)
    guard let statusLine = text.split(separator: "\r\n").first, let status = Int(statusLine.split(separator: " ").dropFirst().first ?? "") else { return nil }
    let body = text.range(of: "\r\n\r\n").map { String(text[$0.upperBound...]) } ?? ""
    return (status, body)
}

/// The value of an unlabelled metric in Prometheus text, nil when absent.
func metric(_ text: String, _ name: String) -> Double? {
    for line in text.split(separator: "\n") where line.hasPrefix(name + " ") {
        return Double(line.split(separator: " ").last ?? "")
    }
    return nil
}

@Suite(.serialized) struct WatchOperatorTests {
    func ready(_ box: Sandbox) throws {
        try box.initStore()
        try FileManager.default.createDirectory(atPath: box.inbox + "/acme-energy", withIntermediateDirectories: true)
    }

    func appendConfig(_ box: Sandbox, _ text: String) throws {
        let h = try FileHandle(forWritingTo: URL(fileURLWithPath: box.store + "/callvault.toml"))
        try h.seekToEnd()
        try h.write(contentsOf: Data(text.utf8))
        try h.close()
    }

    /// Moves a staged pair into `folder` as `name` (default: the call id), by rename: complete at once.
    func drop(_ box: Sandbox, _ callID: String, tenant: String? = "acme-energy", into folder: String, name: String? = nil,
              played: Bool = true, sidecar: Bool = true) throws {
        let (a, s) = try box.stagePair(callID, tenant: tenant, in: box.dir + "/staging", played: played)
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try FileManager.default.moveItem(atPath: a, toPath: folder + "/" + (name ?? callID) + ".wav")
        if sidecar { try FileManager.default.moveItem(atPath: s, toPath: folder + "/" + (name ?? callID) + ".json") }
    }

    // MARK: SIGHUP

    @Test func sighupReloadsTheConfigurationAndABrokenOneChangesNothing() throws {
        let box = Sandbox()
        try ready(box)
        try box.setConfig("paths", "[\"\(box.inbox)\"]")
        let daemon = try RunningDaemon(box, inboxes: [])
        daemon.waitReady()
        let policyChanges = "SELECT count(*) FROM audit_events WHERE action = 'policy.changed' AND target = 'callvault.toml'"
        let changesBefore = try box.count(policyChanges)

        // A tenant and a second inbox added while the daemon runs: their first calls are stored, not quarantined.
        let inbox2 = box.dir + "/inbox2"
        try FileManager.default.createDirectory(atPath: inbox2, withIntermediateDirectories: true)
        try box.setConfig("paths", "[\"\(box.inbox)\", \"\(inbox2)\"]")
        try appendConfig(box, "\n[tenants.newco]\nretention = { audio = \"P1M\", metadata = \"P6M\" }\n")
        daemon.hangup()
        #expect(eventually(timeout: 20) { daemon.output.contains("configuration reloaded") })
        try drop(box, "newco-1", tenant: nil, into: box.inbox + "/newco")
        try drop(box, "second-inbox-1", tenant: "newco", into: inbox2)
        #expect(try eventually { try box.count("SELECT count(*) FROM recordings WHERE tenant = 'newco'") == 2 })
        #expect(try box.count("SELECT count(*) FROM rejections") == 0)
        // The edited file is recorded as a policy change by the daemon that took it.
        #expect(try box.count(policyChanges) == changesBefore + 1)

        // A broken file: one line naming the key; the configuration in force stays (newco still known).
        try appendConfig(box, "\n[tenants.broken]\nretention = { audio = \"forever\" }\n")
        daemon.hangup()
        #expect(eventually(timeout: 20) { daemon.output.contains("configuration not reloaded") })
        let line = daemon.output.split(separator: "\n").first { $0.contains("configuration not reloaded") } ?? ""
        #expect(line.contains("tenants.broken"), "names the key: \(line)")
        try drop(box, "newco-2", tenant: "newco", into: box.inbox + "/newco")
        #expect(try eventually { try box.count("SELECT count(*) FROM recordings WHERE tenant = 'newco'") == 3 })
        #expect(try box.count("SELECT count(*) FROM rejections") == 0)
        let stopped = daemon.stop()
        #expect(stopped.status == 0, "SIGHUP never ends the daemon")
    }

    // MARK: metrics port

    @Test func aBusyMetricsPortIsOneLineAndExit1BeforeWatching() throws {
        let box = Sandbox()
        try ready(box)
        let port = freePort()
        let fd = occupy(port: port)
        defer { close(fd) }
        let r = try box.run(["watch", box.inbox, "--metrics", "127.0.0.1:\(port)"])
        #expect(r.status == 1)
        #expect(r.stderr == "callvault: cannot listen on 127.0.0.1:\(port): address already in use\n")
        #expect(!r.stderr.contains("watching"))
    }

    // MARK: names and privacy

    @Test func aNameThatIsNotUTF8IsReportedAndCountedNotSkippedInSilence() throws {
        let box = Sandbox()
        try ready(box)
        // Bytes 0xFF 0xFE are no UTF-8: no Swift path can name this file, the shell can.
        #expect(shell("printf 'RIFF' > '\(box.inbox)/acme-energy/'\"$(printf '\\377\\376')\"'.wav'") == 0)
        let port = freePort()
        let daemon = try RunningDaemon(box, ["--metrics", "127.0.0.1:\(port)"])
        daemon.waitReady()
        try drop(box, "good-1", tenant: "acme-energy", into: box.inbox + "/acme-energy")
        #expect(try eventually { try box.count("SELECT count(*) FROM recordings") == 1 })
        #expect(eventually { daemon.output.contains("input name not valid UTF-8") })
        let line = daemon.output.split(separator: "\n").first { $0.contains("input name not valid UTF-8") } ?? ""
        #expect(line.contains("reason=unsafe_name") && line.contains("tenant=acme-energy"), "\(line)")
        #expect(eventually { httpGet(port: port, "/metrics").flatMap { metric($0.body, "callvault_inputs_invalid_name") } == 1 })
        usleep(2_500_000)  // past a periodic rescan: still reported once, not once per scan
        #expect(daemon.output.components(separatedBy: "input name not valid UTF-8").count - 1 == 1)
        #expect(box.files(under: box.inbox + "/acme-energy").count == 1, "left in place")
        #expect(daemon.stop().status == 0)
    }

    @Test func inboxNamesNeverReachTheLogsOrHealthz() throws {
        let box = Sandbox()
        try ready(box)
        try box.setConfig("pair_timeout", "\"PT2S\"")
        let port = freePort()
        let daemon = try RunningDaemon(box, ["--metrics", "127.0.0.1:\(port)"])
        daemon.waitReady()
        // Recorders name files after the caller: stored, rejected and alone.
        try drop(box, "c-stored", into: box.inbox + "/acme-energy", name: "+32470123456")
        try drop(box, "c-rejected", into: box.inbox, name: "+32470123457", played: false)
        try drop(box, "c-alone", into: box.inbox, name: "+32470123458", sidecar: false)
        #expect(try eventually { try box.count("SELECT count(*) FROM recordings") == 1 && box.count("SELECT count(*) FROM rejections") == 2 })
        let health = httpGet(port: port, "/healthz")
        #expect(health?.status == 200)
        let metrics = httpGet(port: port, "/metrics")?.body ?? ""
        #expect(daemon.stop().status == 0)
        for text in [daemon.output, health?.body ?? "", metrics] {
            #expect(!text.contains("3247012345"), "\(text)")
            #expect(!text.contains(box.inbox), "\(text)")
        }
    }
}

/// The daemon as the service user it runs as in production, meeting inputs of other owners. Needs root (to
/// act as `nobody` and to own files nobody cannot read).
@Suite(.serialized) struct WatchPermissionTests {
    static let isRoot = geteuid() == 0

    /// A store, an inbox and a daemon all of `nobody`, who is an admin of the store.
    func nobodysStore(_ box: Sandbox) throws {
        try box.initStore()
        let h = try FileHandle(forWritingTo: URL(fileURLWithPath: box.store + "/callvault.toml"))
        try h.seekToEnd()
        try h.write(contentsOf: Data("\n[users.nobody]\nrole = \"admin\"\n".utf8))
        try h.close()
        try FileManager.default.createDirectory(atPath: box.inbox + "/acme-energy", withIntermediateDirectories: true)
        #expect(shell("chmod 755 '\(box.dir)' && chown -R nobody:nogroup '\(box.store)' '\(box.inbox)'") == 0)
    }

    /// A good pair owned by `owner`, mode 0600, renamed into `folder` as `name` (default: the call id).
    func dropOwned(_ box: Sandbox, _ callID: String, into folder: String, name: String? = nil, owner: String = "nobody:nogroup") throws {
        // No tenant in the sidecar: the tenant folder it is dropped into gives it.
        let (a, s) = try box.stagePair(callID, tenant: nil, in: box.dir + "/staging")
        #expect(shell("chown \(owner) '\(a)' '\(s)' && chmod 600 '\(a)' '\(s)'") == 0)
        try FileManager.default.moveItem(atPath: a, toPath: folder + "/" + (name ?? callID) + ".wav")
        try FileManager.default.moveItem(atPath: s, toPath: folder + "/" + (name ?? callID) + ".json")
    }

    @Test(.enabled(if: isRoot, "needs root to act as nobody"))
    func anInputTheServiceUserCannotReadWaitsWhileEveryOtherPairIsStored() throws {
        let box = Sandbox()
        try nobodysStore(box)
        let folder = box.inbox + "/acme-energy"
        // Written by a recorder of another user with umask 077; named after the caller.
        try dropOwned(box, "c-unreadable", into: folder, name: "+32470123456", owner: "root:root")
        for i in 0..<3 { try dropOwned(box, "good-\(i)", into: folder) }
        let port = freePort()
        let daemon = try RunningDaemon(box, ["--metrics", "127.0.0.1:\(port)"], asUser: "nobody")
        daemon.waitReady()
        // The good pairs go through; the unreadable one stays where it is.
        #expect(eventually { box.files(under: folder) == ["+32470123456.json", "+32470123456.wav"] })
        #expect(eventually { daemon.output.contains("input not readable") })
        #expect(eventually { httpGet(port: port, "/metrics").flatMap { metric($0.body, "callvault_inputs_unreadable") } == 1 })
        let health = httpGet(port: port, "/healthz")
        #expect(health?.status == 200 && health?.body == "ok\n", "an unreadable input is no vault failure")
        let metrics = httpGet(port: port, "/metrics")?.body ?? ""
        #expect((metric(metrics, "callvault_vault_failures_total") ?? 0) == 0)
        #expect(metric(metrics, "callvault_ingested_total") == 3)
        let line = daemon.output.split(separator: "\n").first { $0.contains("input not readable") } ?? ""
        #expect(line.contains("reason=permission denied") && line.contains("tenant=acme-energy"), "\(line)")

        // Made readable: IN_ATTRIB wakes it at once (long before the one-minute retry).
        #expect(shell("chmod 644 '\(folder)/+32470123456.wav' '\(folder)/+32470123456.json'") == 0)
        #expect(eventually(timeout: 20) { box.files(under: folder).isEmpty })
        #expect(eventually { httpGet(port: port, "/metrics").flatMap { metric($0.body, "callvault_inputs_unreadable") } == 0 })
        #expect(httpGet(port: port, "/metrics").flatMap { metric($0.body, "callvault_ingested_total") } == 4)
        let healthText = httpGet(port: port, "/healthz")?.body ?? ""
        _ = daemon.stop()
        #expect(daemon.output.components(separatedBy: "input not readable").count - 1 == 1, "reported once")
        #expect(!daemon.output.contains("vault failure"))
        #expect(!daemon.output.contains("3247012345") && !healthText.contains("3247012345"), "no caller number: \(daemon.output)")
        #expect(try box.count("SELECT count(*) FROM recordings") == 4)
    }

    @Test(.enabled(if: isRoot, "needs root to act as nobody"))
    func aTenantFolderTheServiceUserCannotReadIsReportedThenIngestedWhenReadable() throws {
        let box = Sandbox()
        try nobodysStore(box)
        let locked = box.inbox + "/telco-be"
        try FileManager.default.createDirectory(atPath: locked, withIntermediateDirectories: true)
        try dropOwned(box, "locked-1", into: locked)
        #expect(shell("chown nobody:nogroup '\(locked)' && chmod 000 '\(locked)'") == 0)
        try dropOwned(box, "open-1", into: box.inbox + "/acme-energy")
        let port = freePort()
        let daemon = try RunningDaemon(box, ["--metrics", "127.0.0.1:\(port)"], asUser: "nobody")
        daemon.waitReady()
        #expect(eventually { box.files(under: box.inbox + "/acme-energy").isEmpty })
        #expect(eventually { daemon.output.contains("inbox folder not readable") })
        let line = daemon.output.split(separator: "\n").first { $0.contains("inbox folder not readable") } ?? ""
        #expect(line.contains("tenant=telco-be") && !line.contains(box.inbox), "\(line)")
        #expect(eventually { httpGet(port: port, "/metrics").flatMap { metric($0.body, "callvault_inbox_folders_unreadable") } == 1 })

        #expect(shell("chmod 700 '\(locked)'") == 0)
        #expect(eventually(timeout: 20) { box.files(under: locked).isEmpty })
        #expect(eventually { httpGet(port: port, "/metrics").flatMap { metric($0.body, "callvault_inbox_folders_unreadable") } == 0 })
        _ = daemon.stop()
        #expect(daemon.output.components(separatedBy: "inbox folder not readable").count - 1 == 1, "reported once")
        #expect(daemon.output.contains("inbox folder readable again"))
        #expect(try box.count("SELECT count(*) FROM recordings") == 2)
    }
}
