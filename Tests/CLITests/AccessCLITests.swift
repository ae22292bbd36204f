// Coaches, compliance officers and admins through the real binary: scope, refusals, output formats,
// reports, quarantine, and a tamper-evident audit log.
import CallVaultTesting
import Foundation
import CallVaultStore
import Testing

@Suite struct AccessCLITests {
    /// A simulation store with the sample inbox ingested, a coach for team billing-nl, another for tenant telco-be,
    /// a compliance officer; plus a few calls across months for acme-energy (dated relative to today: `shifted`).
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
        try box.addCall(callID: "old-billing", startedAt: shifted("2026-09-01T10:00:00+02:00"), agent: "a-1042", team: "billing-nl")
        try box.addCall(callID: "new-billing", startedAt: shifted("2026-11-21T08:00:00+01:00"), agent: "a-1099", team: "billing-nl")
        try box.addCall(callID: "other-team", startedAt: shifted("2026-11-21T08:30:00+01:00"), agent: "a-7", team: "retention-nl")
        #expect(try box.run(["ingest", "inbox"]).status == 4)
        return box
    }

    func ids(_ r: CLIResult) throws -> [String] {
        (try r.json()["recordings"] as? [[String: Any]] ?? []).map { $0["call_id"] as! String }
    }

    @Test func aCoachSeesExactlyTheirScope() throws {
        let box = try populated()
        // Audio of old-billing is gone after a sweep; a second billing call fails audio verification.
        #expect(try box.run(["sweep", "--now", shifted("2026-11-21T12:00:00Z")]).status == 0)
        let q = try box.catalog()
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
        let listed = try box.catalog().read { try SQLRow.fetchAll($0, sql: "SELECT actor, principal, details FROM audit_events WHERE action = 'list'") }
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
        let parsed = try parseCSV(csv.stdout)
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
        #expect(try calls(["--from", shifted("2026-11-21"), "--to", shifted("2026-11-21")]) == ["other-team", "new-billing"])
        #expect(try calls(["--direction", "outbound"]) == ["sbc7-20261120-0002", "pbx1-1732182000.4713"])
        #expect(try calls(["--tenant", "telco-be", "--min-duration", "8"]) == ["sbc7-20261120-0002"])
        #expect(try calls(["--tenant", "telco-be", "--max-duration", "PT8S"]) == ["sbc7-20261120-0003", "sbc7-20261120-0001"])
        // old-billing's audio expired a month after its call, weeks ago (a backfill): it is "expiring within" any
        // window. The other calls would join a day before their expiry (the listing runs on the suite's clock).
        let dayAhead = isoUTC(TestDays.now.addingTimeInterval(86_400))
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
        let r = try box.run(["--as", "dpo", "report", "--json", "--from", shifted("2026-08-01"), "--to", shifted("2026-11-30")])
        #expect(r.status == 0, "\(r.stderr)")
        let tenants = try r.json()["tenants"] as! [[String: Any]]
        let acme = tenants.first { $0["tenant"] as? String == "acme-energy" }!
        #expect(acme["stored"] as? Int == 6)
        let rejected = acme["rejected"] as! [String: Int]
        #expect(rejected["announcement_missing"] == 1)
        #expect(rejected["duplicate_conflict"] == 1)
        #expect(rejected.values.reduce(0, +) == 10, "the eleventh, tenant_unknown, lies at the inbox root")
        #expect(abs((acme["announcement_compliance"] as! Double) - 6.0 / 7.0) < 1e-9)
        #expect(acme["active_holds"] as? Int == 1)
        // Overdue as of the suite's clock: old-billing's audio (past due until a sweep), and, once the real date
        // passes them, the other calls' audio — except new-billing, which is held.
        let now = isoUTC(TestDays.now)
        let due = try box.catalog().read {
            try String.fetchAll($0, sql: "SELECT call_id FROM recordings WHERE tenant = 'acme-energy' AND ((audio_deleted_at IS NULL AND audio_expires_at <= ?) OR metadata_expires_at <= ?)", arguments: [now, now])
        }.filter { $0 != "new-billing" }
        #expect(due.contains("old-billing"))
        #expect(acme["overdue"] as? Int == due.count)
        let telco = tenants.first { $0["tenant"] as? String == "telco-be" }!
        #expect(telco["stored"] as? Int == 3)
        #expect(telco["active_holds"] as? Int == 0)
        let table = try box.run(["report", "--from", shifted("2026-08-01"), "--to", shifted("2026-11-30")]).stdout
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

    @Test func aCoachIsToldNothingAboutHolds() throws {
        let box = try populated()
        // A call of an hour ago: inside coach-an's scope whatever the date the tests run on.
        try box.addCall(callID: "recent-billing", startedAt: recent(), agent: "a-1099", team: "billing-nl")
        _ = try box.run(["ingest", "inbox/acme-energy/recent-billing.wav"])
        let inside = try #require(try box.recordingIDs()["recent-billing"])
        let placed = try box.run(["hold", "place", "--json", "--kind", "legal", "--case", "CASE-SECRET-7", "--note", "NOTE-SECRET",
                                  "--recording", inside]).json()
        let holdID = placed["hold_id"] as! String
        for args in [["show", inside], ["show", inside, "--json"], ["list"], ["list", "--json"], ["list", "--format", "csv"]] {
            let r = try box.run(["--as", "coach-an"] + args)
            #expect(r.status == 0, "\(args): \(r.stderr)")
            for secret in ["CASE-SECRET-7", "NOTE-SECRET", holdID, "legal"] { #expect(!r.stdout.contains(secret), "\(args) shows \(secret)") }
            #expect(!r.stdout.contains("held"), "\(args): not even that it is held")
        }
        let shown = try box.run(["--as", "coach-an", "show", inside, "--json"]).json()
        #expect((shown["holds"] as? [Any])?.isEmpty == true)
        #expect(shown["on_hold"] is NSNull)
        #expect(try box.run(["--as", "coach-an", "export", inside, "--to", box.dir + "/out"]).status == 0)
        #expect(!(try String(contentsOfFile: box.dir + "/out/\(inside).json", encoding: .utf8)).contains(holdID))
        // Officers see the hold as before.
        let officer = try box.run(["--as", "dpo", "show", inside, "--json"]).json()
        #expect(officer["on_hold"] as? Bool == true)
        #expect(((officer["holds"] as? [[String: Any]])?.first?["case_ref"] as? String) == "CASE-SECRET-7")
    }

    @Test func aCoachDoesNotSeeHeldRecordingsPastTheirNormalAudioExpiry() throws {
        let box = try populated()
        // old-billing (September) is past its audio expiry; the hold keeps its audio for the case, not for coaching.
        let old = try box.recordingIDs()["old-billing"]!
        #expect(try box.run(["hold", "place", "--kind", "incident", "--case", "I-9", "--recording", old]).status == 0)
        #expect(try box.run(["sweep"]).status == 0)
        #expect(FileManager.default.fileExists(atPath: box.store + "/" + (try box.catalog().read {
            try String.fetchOne($0, sql: "SELECT audio_path FROM recordings WHERE id = ?", arguments: [old])! })), "held: audio kept")
        #expect(!(try ids(box.run(["--as", "coach-an", "list", "--json"]))).contains("old-billing"))
        #expect(try box.run(["--as", "coach-an", "show", old]).status == 3)
        #expect(try box.run(["--as", "coach-an", "export", old, "--to", box.dir + "/x"]).status == 3)
        #expect(try ids(box.run(["--as", "dpo", "list", "--json", "--limit", "100"])).contains("old-billing"))
        #expect(try box.run(["--as", "dpo", "show", old]).status == 0)
    }

    @Test func typedValuesThatAreNotIdsNeverReachTheAuditLog() throws {
        let box = try populated()
        let phone = "+32470123456"
        let attempts: [[String]] = [
            ["--as", "coach-an", "show", phone], ["--as", "coach-an", "export", phone, "--to", box.dir + "/x"],
            ["show", phone], ["hold", "show", phone], ["hold", "release", phone, "--note", "n"], ["quarantine", "show", phone],
        ]
        for args in attempts {
            let r = try box.run(args)
            #expect(r.status == 2, "\(args): \(r.stderr)")
            #expect(r.stderr.split(separator: "\n").count == 1)
            #expect(!r.stderr.contains(phone))
        }
        #expect(try box.run(["--as", "coach-an", "list", "--agent", phone]).status == 2)
        // Digits only have the form of an id: the listing runs, the number is withheld from its event.
        for (option, typed) in [("--agent", "0032470123456"), ("--team", "0470 12 34 56"), ("--queue", "32470123456")] {
            #expect(try box.run(["--as", "coach-an", "list", option, typed]).status == 0, "\(option)")
        }
        #expect(try box.run(["--as", phone, "list"]).status == 3)
        #expect(try box.run(["audit", "list", "--target", phone]).status == 0)
        #expect(try box.run(["audit", "list", "--actor", phone, "--action", phone]).status == 0)
        try box.catalog().read { db in
            let texts = try SQLRow.fetchAll(db, sql: "SELECT actor, coalesce(principal, '') AS p, coalesce(target, '') AS t, details FROM audit_events")
                .map { "\($0["actor"] as String)|\($0["p"] as String)|\($0["t"] as String)|\($0["details"] as String)" }
            #expect(!texts.contains { $0.contains("32470123456") || $0.contains("0470 12 34 56") }, "the typed number is nowhere in the log")
            let invalid = try Int.fetchOne(db, sql: """
                SELECT count(*) FROM audit_events WHERE action = 'access.denied' AND target IS NULL AND details LIKE '%"target":"invalid_id"%'
                """)
            #expect(invalid == attempts.count, "each attempt recorded as an invalid id")
        }
    }

    @Test func underAsEveryEventCarriesBothUsers() throws {
        let box = try populated()
        let inside = try box.recordingIDs()["new-billing"]!
        let first = try box.count("SELECT max(seq) FROM audit_events")
        #expect(try box.run(["--as", "dpo", "list"]).status == 0)
        #expect(try box.run(["--as", "dpo", "show", inside]).status == 0)
        let hold = try box.run(["--as", "dpo", "hold", "place", "--json", "--kind", "legal", "--case", "C-1", "--recording", inside]).json()["hold_id"] as! String
        #expect(try box.run(["--as", "dpo", "hold", "list"]).status == 0)
        #expect(try box.run(["--as", "dpo", "hold", "show", hold]).status == 0)
        #expect(try box.run(["--as", "dpo", "hold", "release", hold, "--note", "closed"]).status == 0)
        #expect(try box.run(["--as", "dpo", "sweep", "--now", "2099-01-01T00:00:00Z"]).status == 0)
        #expect(try box.run(["--as", "dpo", "audit", "head"]).status == 0)
        let rows = try box.catalog().read {
            try SQLRow.fetchAll($0, sql: "SELECT action, actor, principal FROM audit_events WHERE seq > ? ORDER BY seq", arguments: [first])
        }
        let actions = Set(rows.map { $0["action"] as String })
        for a in ["list", "show", "hold.placed", "hold.list", "hold.show", "hold.released", "sweep.metadata_deleted", "sweep.finished", "audit.head"] {
            #expect(actions.contains(a), "\(a) audited")
        }
        #expect(rows.allSatisfy { ($0["actor"] as String) == "dpo" && ($0["principal"] as String?) == Self.osUser },
                "\(rows.filter { ($0["principal"] as String?) == nil }.map { $0["action"] as String })")
    }

    /// The OS user the tests run as (the admin `init` configured).
    static var osUser: String { ProcessInfo.processInfo.userName }
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

    /// The database's own shell, as someone with access to it would use it: sqlite3 on the store's file, or psql
    /// on the shared catalog (where the append-only triggers are disabled rather than dropped).
    func sqlite(_ box: Sandbox, _ sql: String) throws -> Int32 {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        if let url = box.catalogURL {
            let pg = sql.replacingOccurrences(of: #"DROP TRIGGER audit_events_no_(update|delete)"#,
                                              with: "ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_update", options: .regularExpression)
            p.arguments = ["PGPASSWORD=" + Sandbox.postgres!.password, "psql", "-q", "-v", "ON_ERROR_STOP=1", url, "-c", pg]
        } else {
            p.arguments = ["sqlite3", box.store + "/catalog.sqlite", sql]
        }
        p.standardError = FileHandle.nullDevice
        p.standardOutput = FileHandle.nullDevice
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

    func head(_ box: Sandbox) throws -> String {
        let r = try box.run(["audit", "head"])
        #expect(r.status == 0, "\(r.stderr)")
        return r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test func aMissingHeadIsAFailure() throws {
        let box = try store()
        #expect(try sqlite(box, "DELETE FROM store_meta WHERE key = 'audit_head'") == 0)
        let (status, json) = try verify(box)
        #expect(status == 1)
        #expect((json["reason"] as? String)?.contains("head") == true)
    }

    @Test func theHeadPrintedIsAnEventOfTheChain() throws {
        let box = try store()
        let text = try head(box)
        #expect(text.range(of: "^[0-9]+:[0-9a-f]{64}$", options: .regularExpression) != nil, "\(text)")
        let seq = try #require(Int(text.split(separator: ":").first ?? ""))
        #expect(try box.catalog().read { try String.fetchOne($0, sql: "SELECT seq || ':' || hash FROM audit_events WHERE action = 'audit.head'") } == text)
        let json = try box.run(["audit", "head", "--json"]).json()
        #expect(json["seq"] as? Int == seq + 1)
        #expect((json["hash"] as? String)?.count == 64)
        // Later events do not disturb an anchored head; a wrong or malformed one does.
        _ = try box.run(["list"])
        #expect(try box.run(["audit", "verify", "--expect-head", text]).status == 0)
        let wrong = String(text.dropLast()) + (text.hasSuffix("0") ? "1" : "0")
        let bad = try box.run(["audit", "verify", "--expect-head", wrong])
        #expect(bad.status == 1)
        #expect(bad.stdout.split(separator: "\n").count == 1)
        #expect(try box.run(["audit", "verify", "--expect-head", "12:nothex"]).status == 2)
    }

    @Test func aTailCutTogetherWithItsHeadIsFoundByTheAnchoredHead() throws {
        let box = try store()
        let anchored = try head(box)
        let seq = try #require(Int(anchored.split(separator: ":").first ?? ""))
        _ = try box.run(["list"])
        _ = try box.run(["report"])
        // The attacker removes the anchored event and everything after it, and rewrites the head to match.
        #expect(try sqlite(box, """
            DROP TRIGGER audit_events_no_delete;
            DELETE FROM audit_events WHERE seq >= \(seq);
            UPDATE store_meta SET value = (SELECT seq || ':' || hash FROM audit_events ORDER BY seq DESC LIMIT 1) WHERE key = 'audit_head';
            """) == 0)
        let r = try box.run(["audit", "verify", "--json", "--expect-head", anchored])
        #expect(r.status == 1)
        #expect((try r.json()["reason"] as? String)?.contains("cut short") == true)
        // Events appended since (each verification is one) take the cut numbers again: still not the anchored one.
        let human = try box.run(["audit", "verify", "--expect-head", anchored])
        #expect(human.status == 1)
        #expect(human.stdout.contains("anchored head"))
        #expect(try verify(box).0 == 0, "a chain cut with its head is whole in itself: only an anchor outside tells")

        // Cut with the head deleted instead of rewritten: the missing head alone fails.
        #expect(try sqlite(box, "DELETE FROM audit_events WHERE seq >= \(seq - 2); DELETE FROM store_meta WHERE key = 'audit_head'") == 0)
        #expect(try verify(box).0 == 1)
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
