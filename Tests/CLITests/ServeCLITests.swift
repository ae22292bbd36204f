// `callvault serve` as an operator runs it: the built binary, a real port, SIGTERM, TLS, beside `watch`.
import CallVaultTesting
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A running `callvault serve`; killed at deinit if still running.
final class RunningServer {
    let process = Process()
    let port: Int
    let log: String

    init(_ box: Sandbox, port: Int = freePort(), listen: String? = nil, extra: [String] = []) throws {
        self.port = port
        log = box.dir + "/serve-\(UUID().uuidString.prefix(6)).log"
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        process.executableURL = URL(fileURLWithPath: Sandbox.binary)
        process.arguments = ["--store", box.store, "serve", "--listen", listen ?? "127.0.0.1:\(port)"] + extra
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle(forWritingAtPath: log)
        try process.run()
    }

    var output: String { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }

    func stop() -> Int32 {
        process.terminate()
        process.waitUntilExit()
        return process.terminationStatus
    }

    deinit { if process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() } }
}

/// Runs curl; its standard output (with `-w`, the status code last).
func curl(_ args: [String]) -> String {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
    p.arguments = ["-s", "--max-time", "20"] + args
    let out = Pipe()
    p.standardOutput = out
    p.standardError = FileHandle.nullDevice
    try? p.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return String(decoding: data, as: UTF8.self)
}

@Suite(.serialized) struct ServeCLITests {
    static let password = "correct horse battery"

    func setPassword(_ box: Sandbox, _ user: String) {
        #expect((try? box.run(["user", "password", user], input: Self.password + "\n"))?.status == 0)
    }

    @Test func servesUntilSIGTERMAndExitsCleanly() throws {
        let box = Sandbox()
        try box.initStore()
        let server = try RunningServer(box)
        #expect(eventually(timeout: 20) { httpGet(port: server.port, "/healthz")?.status == 200 })
        #expect(httpGet(port: server.port, "/calls")?.status == 303)
        #expect(server.stop() == 0)
        #expect(server.output.contains("listening on http://127.0.0.1:\(server.port)"))
    }

    @Test func aBusyPortIsOneLineAndExit1() throws {
        let box = Sandbox()
        try box.initStore()
        let port = freePort()
        let fd = occupy(port: port)
        defer { close(fd) }
        let r = try box.run(["serve", "--listen", "127.0.0.1:\(port)"])
        #expect(r.status == 1)
        #expect(r.stderr == "callvault: cannot listen on 127.0.0.1:\(port): address already in use\n")
    }

    @Test func wrongWebSettingsAreNamed() throws {
        let box = Sandbox()
        try box.initStore()
        let config = box.store + "/callvault.toml"
        let base = try String(contentsOfFile: config, encoding: .utf8)
        for (web, key) in [("listen = \"localhost\"", "web.listen"), ("tls_certificate = \"/x.pem\"", "web.tls_key"),
                           ("trusted_proxies = [\"10.0.0.0/33\"]", "web.trusted_proxies"), ("session_idle = \"P2D\"", "web.session_idle"),
                           ("session_idle = \"PT0S\"", "web.session_idle"), ("session_idle = \"PT30S\"", "web.session_idle"),
                           ("coach_download = \"yes\"", "web.coach_download"), ("colour = \"blue\"", "web.colour")] {
            try (base + "\n[web]\n" + web + "\n").write(toFile: config, atomically: false, encoding: .utf8)
            let r = try box.run(["serve", "--listen", "127.0.0.1:\(freePort())"])
            #expect(r.status == 2, "\(web)")
            #expect(r.stderr.contains(key), "\(web): \(r.stderr)")
        }
        let r = try box.run(["serve", "--listen", "nonsense"])
        #expect(r.status == 2)
    }

    @Test func onlyTheVaultsAdminServes() throws {
        let box = Sandbox()
        try box.initStore()
        _ = shell("chmod -R a+rwX '\(box.dir)'")
        let r = try box.run(["serve", "--listen", "127.0.0.1:\(freePort())"], as: "nobody")
        #expect(r.status == 3)
        #expect(r.stderr.contains("belongs to root"), "\(r.stderr)")
    }

    @Test func tlsServesHTTPSWithSecureCookies() throws {
        let box = Sandbox()
        try box.initStore()
        let cert = box.dir + "/cert.pem", key = box.dir + "/key.pem"
        #expect(shell("openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 -keyout '\(key)' -out '\(cert)' 2>/dev/null") == 0)
        let config = box.store + "/callvault.toml"
        try (String(contentsOfFile: config, encoding: .utf8) + "\n[web]\ntls_certificate = \"\(cert)\"\ntls_key = \"\(key)\"\n")
            .write(toFile: config, atomically: false, encoding: .utf8)
        setPassword(box, "root")
        let server = try RunningServer(box)
        let url = "https://127.0.0.1:\(server.port)"
        #expect(eventually(timeout: 20) { curl(["-k", "-o", "/dev/null", "-w", "%{http_code}", url + "/healthz"]) == "200" })
        let headers = curl(["-k", "-D", "-", "-o", "/dev/null", "--data-urlencode", "user=root", "--data-urlencode", "password=\(Self.password)", url + "/login"])
        #expect(headers.contains("HTTP/1.1 303"))
        let cookie = headers.split(separator: "\r\n").first { $0.lowercased().hasPrefix("set-cookie:") } ?? ""
        #expect(cookie.contains("Secure") && cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"))
        // Plain HTTP on the TLS port gets nothing.
        #expect(httpGet(port: server.port, "/healthz")?.status != 200)
        #expect(server.stop() == 0)
    }

    /// An operator edits callvault.toml: a removed user is out on the next request, a broken file keeps the
    /// configuration in force (and says so), and SIGHUP reads it again rather than ending the server.
    @Test func aRemovedUserIsOutWithoutARestartAndSIGHUPReloads() throws {
        let box = Sandbox()
        try box.initStore()
        let config = box.store + "/callvault.toml"
        let base = try String(contentsOfFile: config, encoding: .utf8)
        try (base + "\n[users.cora]\nrole = \"coach\"\nteams = [\"billing-nl\"]\n").write(toFile: config, atomically: true, encoding: .utf8)
        setPassword(box, "cora")
        let server = try RunningServer(box)
        let url = "http://127.0.0.1:\(server.port)"
        #expect(eventually(timeout: 20) { httpGet(port: server.port, "/healthz")?.status == 200 })
        let jar = box.dir + "/cora-cookies"
        let login = curl(["-c", jar, "-o", "/dev/null", "-w", "%{http_code}", "--data-urlencode", "user=cora", "--data-urlencode", "password=\(Self.password)", url + "/login"])
        #expect(login == "303")
        let calls = { curl(["-b", jar, "-H", "Accept: application/json", "-o", "/dev/null", "-w", "%{http_code}", url + "/calls"]) }
        #expect(calls() == "200")

        // A half-edited file: the configuration in force stays, and the log says why.
        try (base + "\n[users.cora\n").write(toFile: config, atomically: true, encoding: .utf8)
        Thread.sleep(forTimeInterval: 1.2)
        #expect(calls() == "200")
        #expect(eventually(timeout: 5) { server.output.contains("does not load") })

        try base.write(toFile: config, atomically: true, encoding: .utf8)
        #expect(eventually(timeout: 5) { calls() == "401" }, "cora's session ends once she is no longer a user")
        let again = curl(["-o", "/dev/null", "-w", "%{http_code}", "--data-urlencode", "user=cora", "--data-urlencode", "password=\(Self.password)", url + "/login"])
        #expect(again == "401")

        kill(server.process.processIdentifier, SIGHUP)
        Thread.sleep(forTimeInterval: 0.5)
        #expect(server.process.isRunning, "SIGHUP reloads, it does not end the server")
        #expect(httpGet(port: server.port, "/healthz")?.status == 200)
        #expect(server.stop() == 0)
    }

    @Test func servesBesideWatchWithoutErrorsWhileCallsArrive() throws {
        let box = Sandbox()
        try box.initStore()
        setPassword(box, "root")
        let server = try RunningServer(box)
        #expect(eventually(timeout: 20) { httpGet(port: server.port, "/healthz")?.status == 200 })
        let jar = box.dir + "/cookies"
        _ = curl(["-c", jar, "-o", "/dev/null", "--data-urlencode", "user=root", "--data-urlencode", "password=\(Self.password)", "http://127.0.0.1:\(server.port)/login"])
        try FileManager.default.createDirectory(atPath: box.inbox, withIntermediateDirectories: true)
        let daemon = try RunningDaemon(box)
        daemon.waitReady()
        try box.copyFixtures(["acme-energy/call-0001.json", "acme-energy/call-0001.wav", "acme-energy/call-0002.json", "acme-energy/call-0002.wav",
                              "telco-be/call-1001.json", "telco-be/call-1001.wav", "telco-be/call-1002.json", "telco-be/call-1002.flac"])
        var statuses: [String: Int] = [:]
        let end = Date().addingTimeInterval(60)
        var stored = 0
        while Date() < end {
            let code = curl(["-b", jar, "-H", "Accept: application/json", "-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:\(server.port)/calls"])
            statuses[code, default: 0] += 1
            stored = (try? box.count("SELECT count(*) FROM recordings")) ?? 0
            if stored == 4 && statuses.values.reduce(0, +) >= 50 { break }
        }
        #expect(stored == 4)
        #expect(statuses.keys.sorted() == ["200"], "\(statuses)")
        #expect(daemon.stop().status == 0)
        #expect(server.stop() == 0)
        #expect(!server.output.contains("locked"))
    }
}
