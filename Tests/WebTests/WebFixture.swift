// A store with the sample calls, three users with passwords, and the app's router, for in-process route tests.
import CallVault
import CallVaultCore
import CallVaultWeb
import CallVaultTesting
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Synchronization

/// A clock the test moves by hand (session idle time, lockouts): a wall clock and a monotonic one.
final class ManualClock: CallVaultCore.Clock {
    let readings: Mutex<(wall: Date, uptime: TimeInterval)>
    init(_ start: Date = TestDays.now) { readings = Mutex((start, 5000)) }
    func now() -> Date { readings.withLock { $0.wall } }
    func uptime() -> TimeInterval { readings.withLock { $0.uptime } }
    /// Time passes: both clocks run.
    func advance(_ seconds: TimeInterval) { readings.withLock { $0.wall += seconds; $0.uptime += seconds } }
    /// The host's wall clock is set (NTP, a VM resumed from a snapshot); the monotonic clock does not move.
    func step(_ seconds: TimeInterval) { readings.withLock { $0.wall += seconds } }
}

final class WebFixture: @unchecked Sendable {
    let dir: String
    var store: String { dir + "/store" }
    let clock: ManualClock
    let vault: Vault
    static let password = "correct horse battery"

    static var packageRoot: String {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }

    /// `extraConfiguration` is appended to callvault.toml (a `[web]` table, say).
    /// `tenantSettings` are lines added to a tenant's table (`["telco-be": "channels = [\"agent\", \"caller\"]"]`).
    init(extraConfiguration: String = "", tenantSettings: [String: String] = [:]) throws {
        dir = NSTemporaryDirectory() + "callvault-web-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        clock = ManualClock()
        _ = try Vault.create(at: dir + "/store", tenants: ["acme-energy", "telco-be"], simulation: false, actor: "root", clock: clock)
        let config = dir + "/store/callvault.toml"
        var text = try String(contentsOfFile: config, encoding: .utf8)
        for (tenant, lines) in tenantSettings {
            text = text.replacingOccurrences(of: "[tenants.\(tenant)]\n", with: "[tenants.\(tenant)]\n\(lines)\n")
        }
        text += """

            [users.cora]
            role = "coach"
            teams = ["billing-nl"]

            [users.dana]
            role = "compliance"

            \(extraConfiguration)
            """
        try text.write(toFile: config, atomically: false, encoding: .utf8)
        // The sample calls, dated yesterday (their audio is kept a month from then), as `make demo` does.
        let inbox = dir + "/inbox"
        let yesterday = String(Timestamp.utc(clock.now().addingTimeInterval(-86_400)).prefix(10))
        for (tenant, names) in [("acme-energy", ["call-0001", "call-0002", "call-0003"]), ("telco-be", ["call-1001", "call-1002", "call-1003"])] {
            try FileManager.default.createDirectory(atPath: inbox + "/" + tenant, withIntermediateDirectories: true)
            for name in names {
                let src = Self.packageRoot + "/fixtures/inbox/\(tenant)/\(name)"
                let sidecar = try String(contentsOfFile: src + ".json", encoding: .utf8).replacingOccurrences(of: "2026-11-20T", with: yesterday + "T")
                try sidecar.write(toFile: inbox + "/\(tenant)/\(name).json", atomically: false, encoding: .utf8)
                for ext in ["wav", "flac"] where FileManager.default.fileExists(atPath: src + "." + ext) {
                    try FileManager.default.copyItem(atPath: src + "." + ext, toPath: inbox + "/\(tenant)/\(name).\(ext)")
                }
            }
        }
        let admin = try Vault.open(at: dir + "/store", actor: "root", clock: clock)
        _ = try Ingestor(vault: admin).ingest(paths: [inbox])
        for user in ["root", "cora", "dana"] { try Accounts(vault: admin).setPassword(user: user, password: Self.password) }
        vault = admin
    }

    deinit { try? FileManager.default.removeItem(atPath: dir) }

    func router() -> Router<WebContext> { WebApp.router(env: WebEnvironment(vault: vault)) }

    /// Recording ids by tenant and team, straight from the catalog.
    func recordings(team: String? = nil, notTeam: String? = nil) throws -> [String] {
        try vault.catalog.db.read { db in
            try String.fetchAll(db, sql: "SELECT id FROM recordings WHERE (? IS NULL OR team = ?) AND (? IS NULL OR coalesce(team, '') != ?) ORDER BY id",
                                arguments: [team, team, notTeam, notTeam])
        }
    }

    func auditCount(action: String, target: String? = nil) throws -> Int {
        try vault.catalog.db.read { db in
            try Int.fetchOne(db, sql: "SELECT count(*) FROM audit_events WHERE action = ? AND (? IS NULL OR target = ?)", arguments: [action, target, target]) ?? 0
        }
    }
}

/// A signed-in browser: its cookie and CSRF token.
struct Browser {
    var cookie: String
    var csrf: String

    var headers: HTTPFields { [.cookie: "callvault_session=\(cookie)"] }
    func headers(_ extra: HTTPFields) -> HTTPFields { var h = headers; h.append(contentsOf: extra); return h }
}

extension TestClientProtocol {
    /// Logs in through POST /login and reads the CSRF token from the calls page.
    func login(_ user: String, password: String = WebFixture.password) async throws -> Browser {
        let cookie = try await execute(uri: "/login", method: .post, headers: [.contentType: "application/x-www-form-urlencoded"],
                                       body: ByteBuffer(string: "user=\(user)&password=\(password.replacingOccurrences(of: " ", with: "+"))")) { r -> String in
            guard r.status == .seeOther, let set = r.headers[.setCookie], let value = set.split(separator: ";").first?.split(separator: "=", maxSplits: 1).last else {
                throw LoginFailed(status: r.status.code)
            }
            return String(value)
        }
        let csrf = try await execute(uri: "/calls", method: .get, headers: [.cookie: "callvault_session=\(cookie)"]) { r -> String in
            let html = String(buffer: r.body)
            guard let range = html.range(of: "name=\"csrf\" value=\"") else { throw LoginFailed(status: r.status.code) }
            return String(html[range.upperBound...].prefix { $0 != "\"" })
        }
        return Browser(cookie: cookie, csrf: csrf)
    }
}

struct LoginFailed: Error { let status: Int }

func form(_ fields: [(String, String)]) -> ByteBuffer {
    ByteBuffer(string: fields.map { "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")" }.joined(separator: "&"))
}
