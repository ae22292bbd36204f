// Coaches, compliance officers and admins through the real binary: scope, refusals, output formats,
// reports, quarantine, and a tamper-evident audit log.
import Foundation
import GRDB
import Testing

@Suite struct AccessCLITests {
    /// A simulation store with the sample inbox ingested, a coach for team billing-nl, another for tenant telco-be,
    /// a compliance officer; plus a few calls across months for acme-energy.
    func populated() throws -> Sandbox {
        let box = Sandbox()
        try box.initStore(["--simulation"])
        var config = try String(contentsOfFile: box.store + "/callvault.toml", encoding: .utf8)
        config += """

        [users.coach-an]
        role = "coach"
        teams = ["billing-nl"]

        [users.coach-tb]
        role = "coach"
        tenants = ["telco-be"]

        [users.dpo]
        role = "compliance"

        """
        try config.write(toFile: box.store + "/callvault.toml", atomically: true, encoding: .utf8)
        try box.copyFixtures()
        try box.addCall(callID: "old-billing", startedAt: "2026-09-01T10:00:00+02:00", agent: "a-1042", team: "billing-nl")
        try box.addCall(callID: "new-billing", startedAt: "2026-11-21T08:00:00+01:00", agent: "a-1099", team: "billing-nl")
        try box.addCall(callID: "other-team", startedAt: "2026-11-21T08:30:00+01:00", agent: "a-7", team: "retention-nl")
        #expect(try box.run(["ingest", "inbox"]).status == 4)
        return box
    }

    func ids(_ r: CLIResult) throws -> [String] {
        (try r.json()["recordings"] as? [[String: Any]] ?? []).map { $0["call_id"] as! String }
    }

    @Test func aCoachSeesExactlyTheirScope() throws {
        let box = try populated()
        // Audio of old-billing is gone after a sweep; a second billing call fails audio verification.
        #expect(try box.run(["sweep", "--now", "2026-11-21T12:00:00Z"]).status == 0)
        let q = try DatabaseQueue(path: box.store + "/catalog.sqlite")
        try q.write { try $0.execute(sql: "UPDATE recordings SET announcement_verified = 'no' WHERE call_id = 'pbx1-1732181000.4712'") }

        let an = try box.run(["--as", "coach-an", "list", "--json"])
        #expect(an.status == 0)
        #expect(try ids(an) == ["new-billing", "pbx1-1732180443.4711"], "billing-nl only, compliant, with audio, newest first")
        let tb = try box.run(["--as", "coach-tb", "list", "--json"])
        #expect(try ids(tb) == ["sbc7-20261120-0003", "sbc7-20261120-0002", "sbc7-20261120-0001"])
        // A filter cannot widen the scope.
        #expect(try ids(box.run(["--as", "coach-an", "list", "--json", "--team", "retention-nl"])).isEmpty)
        #expect(try ids(box.run(["--as", "coach-an", "list", "--json", "--tenant", "telco-be"])).isEmpty)
        // Officers see everything that has metadata.
        #expect(try ids(box.run(["--as", "dpo", "list", "--json", "--limit", "100"])).count == 9)

        // Every listing is audited with its filters and result count.
        let listed = try box.catalog().read { try Row.fetchAll($0, sql: "SELECT actor, principal, details FROM audit_events WHERE action = 'list'") }
        #expect(listed.count == 5)
        #expect(listed.contains { ($0["actor"] as String) == "coach-an" && ($0["principal"] as String?) == "root" && ($0["details"] as String).contains(#""results":"2""#) })
    }

    @Test func aCoachIsRefusedWhatIsOutsideTheirRoleOrScopeAndEveryAttemptIsAudited() throws {
        let box = try populated()
        let all = try box.recordingIDs()
        let outside = all["sbc7-20261120-0001"]!, inside = all["new-billing"]!

        let show = try box.run(["--as", "coach-an", "show", outside])
        #expect(show.status == 3)
        #expect(show.stderr.split(separator: "\n").count == 1)
        #expect(try box.run(["--as", "coach-an", "export", outside, "--to", box.dir + "/x"]).status == 3)
        #expect(!FileManager.default.fileExists(atPath: box.dir + "/x/\(outside).wav"))
        #expect(try box.run(["--as", "coach-an", "hold", "place", "--kind", "legal", "--case", "C", "--recording", inside]).status == 3)
        #expect(try box.run(["--as", "coach-an", "report"]).status == 3)
        #expect(try box.run(["--as", "coach-an", "audit", "verify"]).status == 3)
        #expect(try box.run(["--as", "coach-an", "quarantine", "list"]).status == 3)
        #expect(try box.run(["--as", "dpo", "quarantine", "list"]).status == 3, "quarantine is for admins")
        #expect(try box.run(["--as", "nobody", "list"]).status == 3, "an unknown user can do nothing")

        // Allowed: show and export inside the scope; the coach's export has no phone numbers.
        #expect(try box.run(["--as", "coach-an", "show", inside]).status == 0)
        let exported = try box.run(["--as", "coach-an", "export", inside, "--to", box.dir + "/out"])
        #expect(exported.status == 0, "\(exported.stderr)")
        let meta = try String(contentsOfFile: box.dir + "/out/\(inside).json", encoding: .utf8)
        #expect(!meta.contains("+3247"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: box.dir + "/out/\(inside).wav")).count > 1000)
        let officer = try box.run(["--as", "dpo", "export", inside, "--to", box.dir + "/evidence"])
        #expect(officer.status == 0)
        #expect(try String(contentsOfFile: box.dir + "/evidence/\(inside).json", encoding: .utf8).contains("+32470000001"))

        try box.catalog().read { db in
            let denied = try Int.fetchOne(db, sql: "SELECT count(*) FROM audit_events WHERE action = 'access.denied'")!
            #expect(denied == 8)
            #expect(try Int.fetchOne(db, sql: "SELECT count(*) FROM audit_events WHERE action = 'show' AND target = ?", arguments: [inside]) == 1)
            #expect(try Int.fetchOne(db, sql: "SELECT count(*) FROM audit_events WHERE action = 'export' AND target = ?", arguments: [inside]) == 2)
            let details = try String.fetchAll(db, sql: "SELECT details FROM audit_events").joined()
            #expect(!details.contains("+3247"), "no phone number in the audit log")
        }
    }

    @Test func systemDutiesNeedTheirRole() throws {
        let box = try populated()
        #expect(try box.run(["--as", "coach-an", "ingest", "inbox"]).status == 3)
        #expect(try box.run(["--as", "coach-an", "sweep", "--dry-run"]).status == 3)
        #expect(try box.run(["--as", "dpo", "ingest", "inbox"]).status == 3)
        #expect(try box.run(["--as", "dpo", "sweep", "--dry-run"]).status == 0)
        #expect(try box.count("SELECT count(*) FROM audit_events WHERE action = 'access.denied'") == 3)
    }

    @Test func anEditedConfigurationIsRecordedAsAPolicyChange() throws {
        let box = Sandbox()
        try box.initStore()
        #expect(try box.run(["hold", "list"]).status == 0)
        #expect(try box.count("SELECT count(*) FROM audit_events WHERE action LIKE 'policy.%'") == 0, "unchanged since init")
        try box.setConfig("audio", "\"P14D\"")
        #expect(try box.run(["hold", "list"]).status == 0)
        #expect(try box.run(["hold", "list"]).status == 0)
        let changes = try box.catalog().read { try String.fetchAll($0, sql: "SELECT details FROM audit_events WHERE action = 'policy.changed'") }
        #expect(changes.count == 1, "recorded once, by the first command that read it")
        #expect(changes.first?.contains("previous_sha256") == true)
    }

    @Test func adminMayActForAnotherOnlyAsAdmin() throws {
        let box = try populated()
        // Make the OS user a coach: it may no longer use --as.
        var config = try String(contentsOfFile: box.store + "/callvault.toml", encoding: .utf8)
        config = config.replacingOccurrences(of: "role = \"admin\"", with: "role = \"coach\"\nteams = [\"billing-nl\"]")
        try config.write(toFile: box.store + "/callvault.toml", atomically: true, encoding: .utf8)
        let r = try box.run(["--as", "dpo", "report"])
        #expect(r.status == 3)
        #expect(r.stderr.contains("only an admin"))
    }

    @Test func jsonCsvAndTableAgree() throws {
        let box = try populated()
        let json = try box.run(["--as", "dpo", "list", "--json", "--limit", "100"]).json()["recordings"] as! [[String: Any]]
        let csv = try box.run(["--as", "dpo", "list", "--format", "csv", "--limit", "100"])
        // Parse with Python's csv module, as a spreadsheet or script would.
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", "import csv,sys,json; print(json.dumps(list(csv.DictReader(sys.stdin))))"]
        let input = Pipe(), output = Pipe()
        p.standardInput = input
        p.standardOutput = output
        try p.run()
        input.fileHandleForWriting.write(Data(csv.stdout.utf8))
        try input.fileHandleForWriting.close()
        let parsed = try JSONSerialization.jsonObject(with: output.fileHandleForReading.readDataToEndOfFile()) as! [[String: String]]
        p.waitUntilExit()
        #expect(parsed.count == json.count)
        for (c, j) in zip(parsed, json) {
            #expect(c["recording_id"] == j["recording_id"] as? String)
            #expect(c["agent_id"] == j["agent_id"] as? String)
            #expect(Double(c["duration_s"]!) == j["duration_s"] as? Double)
        }
        let table = try box.run(["--as", "dpo", "list", "--limit", "100"]).stdout.split(separator: "\n")
        #expect(table.first?.hasPrefix("started") == true)
        #expect(table.count == json.count + 1)
        #expect(zip(table.dropFirst(), json).allSatisfy { line, j in line.contains(j["agent_id"] as! String) })
        #expect(table.allSatisfy { $0.count <= 80 }, "fits a terminal")
    }

    @Test func pagesWithACursorVisitEveryRowOnceNewestFirst() throws {
        let box = try populated()
        var seen: [String] = []
        var cursor: String? = nil
        repeat {
            let r = try box.run(["--as", "dpo", "list", "--json", "--limit", "2"] + (cursor.map { ["--cursor", $0] } ?? [])).json()
            seen += (r["recordings"] as! [[String: Any]]).map { $0["started_at"] as! String + "|" + ($0["recording_id"] as! String) }
            cursor = r["next_cursor"] as? String
        } while cursor != nil
        #expect(seen.count == 9)
        #expect(Set(seen).count == 9)
        #expect(seen == seen.sorted(by: >))
    }

    @Test func filters() throws {
        let box = try populated()
        func calls(_ args: [String]) throws -> [String] { try ids(box.run(["--as", "dpo", "list", "--json", "--limit", "100"] + args)) }
        #expect(try calls(["--agent", "a-1042"]) == ["pbx1-1732180443.4711", "old-billing"])
        #expect(try calls(["--from", "2026-11-21", "--to", "2026-11-22"]) == ["other-team", "new-billing"])
        #expect(try calls(["--direction", "outbound"]) == ["sbc7-20261120-0002", "pbx1-1732182000.4713"])
        #expect(try calls(["--tenant", "telco-be", "--min-duration", "8"]) == ["sbc7-20261120-0002"])
        #expect(try calls(["--tenant", "telco-be", "--max-duration", "PT8S"]) == ["sbc7-20261120-0003", "sbc7-20261120-0001"])
        // old-billing's audio expired in October (a backfill): it is "expiring within" any window. The other
        // calls join as the real clock reaches a day before their expiry (the listing runs on the real clock).
        let dayAhead = isoUTC(Date().addingTimeInterval(86_400))
        let expiring = try box.catalog().read {
            try String.fetchAll($0, sql: "SELECT call_id FROM recordings WHERE audio_deleted_at IS NULL AND audio_expires_at <= ? ORDER BY started_at DESC", arguments: [dayAhead])
        }
        #expect(expiring.contains("old-billing"))
        #expect(try calls(["--expiring-within", "P1D"]) == expiring)
        #expect(try box.run(["list", "--direction", "sideways"]).status == 2)
    }

    @Test func reportCountsPerTenant() throws {
        let box = try populated()
        _ = try box.run(["hold", "place", "--kind", "incident", "--case", "I-1", "--call-id", "new-billing"])
        let r = try box.run(["--as", "dpo", "report", "--json", "--from", "2026-08-01", "--to", "2026-12-01"])
        #expect(r.status == 0, "\(r.stderr)")
        let tenants = try r.json()["tenants"] as! [[String: Any]]
        let acme = tenants.first { $0["tenant"] as? String == "acme-energy" }!
        #expect(acme["stored"] as? Int == 6)
        let rejected = acme["rejected"] as! [String: Int]
        #expect(rejected["announcement_missing"] == 1)
        #expect(rejected["duplicate_conflict"] == 1)
        #expect(rejected.values.reduce(0, +) == 11)
        #expect(abs((acme["announcement_compliance"] as! Double) - 6.0 / 7.0) < 1e-9)
        #expect(acme["active_holds"] as? Int == 1)
        // Overdue as of the real clock: old-billing's audio (past due until a sweep), and, once the real date
        // passes them, the other calls' audio — except new-billing, which is held.
        let now = isoUTC(Date())
        let due = try box.catalog().read {
            try String.fetchAll($0, sql: "SELECT call_id FROM recordings WHERE tenant = 'acme-energy' AND ((audio_deleted_at IS NULL AND audio_expires_at <= ?) OR metadata_expires_at <= ?)", arguments: [now, now])
        }.filter { $0 != "new-billing" }
        #expect(due.contains("old-billing"))
        #expect(acme["overdue"] as? Int == due.count)
        let telco = tenants.first { $0["tenant"] as? String == "telco-be" }!
        #expect(telco["stored"] as? Int == 3)
        #expect(telco["active_holds"] as? Int == 0)
        let table = try box.run(["report", "--from", "2026-08-01", "--to", "2026-12-01"]).stdout
        #expect(table.contains("acme-energy") && table.contains("85.7 %"))
    }

    @Test func quarantineForAdmins() throws {
        let box = try populated()
        let list = try box.run(["quarantine", "list", "--json"]).json()["quarantine"] as! [[String: Any]]
        #expect(list.count == 11)
        let truncated = list.first { $0["reason"] as? String == "audio_truncated" }!
        let show = try box.run(["quarantine", "show", "--json", truncated["id"] as! String]).json()
        #expect(show["detail"] as? String == truncated["detail"] as? String)
        #expect((show["files"] as? [String])?.sorted() == ["files/bad-audio-truncated.json", "files/bad-audio-truncated.wav", "reason.json"])
    }
}

@Suite struct AuditTamperTests {
    func store() throws -> Sandbox {
        let box = Sandbox()
        try box.initStore()
        try box.copyFixtures(["acme-energy/call-0001.wav", "acme-energy/call-0001.json", "telco-be/call-1002.flac", "telco-be/call-1002.json"])
        #expect(try box.run(["ingest", "inbox"]).status == 0)
        _ = try box.run(["list"])
        _ = try box.run(["report"])
        return box
    }

    func verify(_ box: Sandbox) throws -> (Int32, [String: Any]) {
        let r = try box.run(["audit", "verify", "--json"])
        return (r.status, try r.json())
    }

    /// The sqlite3 shell, as someone with file access would use it.
    func sqlite(_ box: Sandbox, _ sql: String) throws -> Int32 {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["sqlite3", box.store + "/catalog.sqlite", sql]
        p.standardError = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        return p.terminationStatus
    }

    @Test func intactLogVerifies() throws {
        let box = try store()
        let (status, json) = try verify(box)
        #expect(status == 0)
        #expect(json["ok"] as? Bool == true)
        #expect((json["events"] as? Int ?? 0) >= 5)
        #expect(json["first_bad_seq"] is NSNull)
    }

    @Test func triggersRefuseUpdateAndDelete() throws {
        let box = try store()
        #expect(try sqlite(box, "UPDATE audit_events SET actor = 'x' WHERE seq = 2") != 0)
        #expect(try sqlite(box, "DELETE FROM audit_events WHERE seq = 2") != 0)
        #expect(try verify(box).0 == 0)
    }

    @Test func anEditedEventIsNamed() throws {
        let box = try store()
        #expect(try sqlite(box, "DROP TRIGGER audit_events_no_update; UPDATE audit_events SET details = '{}' WHERE seq = 3") == 0)
        let (status, json) = try verify(box)
        #expect(status == 1)
        #expect(json["ok"] as? Bool == false)
        #expect(json["first_bad_seq"] as? Int == 3)
    }

    @Test func aDeletedEventIsFound() throws {
        let box = try store()
        #expect(try sqlite(box, "DROP TRIGGER audit_events_no_delete; DELETE FROM audit_events WHERE seq = 2") == 0)
        let (status, json) = try verify(box)
        #expect(status == 1)
        #expect(json["first_bad_seq"] as? Int == 3, "the event after the gap")
        #expect((json["reason"] as? String)?.contains("event 2 is missing") == true)
    }

    @Test func eventsCutOffTheEndAreFound() throws {
        let box = try store()
        let last = try box.count("SELECT max(seq) FROM audit_events")
        #expect(try sqlite(box, "DROP TRIGGER audit_events_no_delete; DELETE FROM audit_events WHERE seq >= \(last - 1)") == 0)
        let (status, json) = try verify(box)
        #expect(status == 1)
        #expect(json["first_bad_seq"] as? Int == last - 1)
        #expect((json["reason"] as? String)?.contains("cut short") == true)
    }

    @Test func reorderedEventsAreFound() throws {
        let box = try store()
        // Swap events 2 and 3, renumbering them so the sequence still looks whole.
        #expect(try sqlite(box, """
            DROP TRIGGER audit_events_no_update;
            UPDATE audit_events SET seq = -2 WHERE seq = 2;
            UPDATE audit_events SET seq = 2 WHERE seq = 3;
            UPDATE audit_events SET seq = 3 WHERE seq = -2;
            """) == 0)
        let (status, json) = try verify(box)
        #expect(status == 1)
        #expect(json["first_bad_seq"] as? Int == 2)
    }
}

/// RFC 3339 UTC, the catalog's form.
func isoUTC(_ d: Date) -> String {
    let f = ISO8601DateFormatter()
    f.formatOptions = [.withInternetDateTime]
    f.timeZone = TimeZone(identifier: "UTC")
    return f.string(from: d)
}
