// Data-subject requests through the real binary: the register and its deadlines, finding a subject's calls,
// erasure against holds, restriction against coaches and the sweeper, the access bundle, rectification, audit.
import CallVaultTesting
import Foundation
import CallVaultStore
import Testing

@Suite struct RequestCLITests {
    static let subject = "+32470123456"
    static let other = "+32470999999"

    /// Writes one call into the inbox with the given numbers (real µ-law audio from the fixtures).
    func addCall(_ box: Sandbox, tenant: String = "acme-energy", callID: String, startedAt: String, caller: String?,
                 callee: String? = nil, team: String = "billing-nl", agent: String = "a-1042",
                 audio: String = "inbox/acme-energy/call-0001.wav") throws {
        let dir = box.inbox + "/" + tenant
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: Sandbox.fixtures + "/" + audio, toPath: dir + "/" + callID + ".wav")
        var sidecar: [String: Any] = [
            "schema": "callvault.call/1", "call_id": callID, "tenant": tenant, "started_at": startedAt,
            "direction": "inbound", "agent": ["id": agent, "team": team], "announcement": ["played": true],
        ]
        if let caller { sidecar["caller"] = caller }
        if let callee { sidecar["callee"] = callee }
        try JSONSerialization.data(withJSONObject: sidecar).write(to: URL(fileURLWithPath: dir + "/" + callID + ".json"))
    }

    /// A simulation store: acme-energy in Belgium (Dutch), telco-be without a country; a coach of billing-nl and a
    /// DPO. The subject called acme twice recently (once as callee), once in September, and telco-be once; someone
    /// else called acme.
    func populated() throws -> Sandbox {
        let box = Sandbox()
        try box.initStore(["--simulation"])
        var config = try String(contentsOfFile: box.store + "/callvault.toml", encoding: .utf8)
        config = config.replacingOccurrences(of: "[tenants.acme-energy]\n", with: "[tenants.acme-energy]\ncountry = \"BE\"\nlanguage = \"nl\"\n")
        config += """

        [users.coach-an]
        role = "coach"
        teams = ["billing-nl"]

        [users.dpo]
        role = "compliance"

        """
        try config.write(toFile: box.store + "/callvault.toml", atomically: true, encoding: .utf8)
        try addCall(box, callID: "S1", startedAt: shifted("2026-11-21T08:00:00+01:00"), caller: Self.subject)
        try addCall(box, callID: "S2", startedAt: shifted("2026-11-21T09:00:00+01:00"), caller: "+3225550000", callee: Self.subject,
                    audio: "formats/call-gsm.wav")  // GSM 6.10: browsers do not play it
        try addCall(box, callID: "S4", startedAt: shifted("2026-09-01T10:00:00+02:00"), caller: Self.subject)
        try addCall(box, tenant: "telco-be", callID: "S3", startedAt: shifted("2026-11-21T10:00:00+01:00"), caller: Self.subject)
        try addCall(box, callID: "O1", startedAt: shifted("2026-11-21T11:00:00+01:00"), caller: Self.other)
        let r = try box.run(["ingest", "inbox"])
        #expect(r.status == 0, "\(r.stderr)")
        return box
    }

    func ok(_ box: Sandbox, _ args: [String], as user: String = "dpo") throws -> [String: Any] {
        let r = try box.run(["--as", user] + args + ["--json"])
        #expect(r.status == 0, "\(args): \(r.stderr)")
        return try r.json()
    }

    func open(_ box: Sandbox, kind: String, subjects: [String] = [RequestCLITests.subject], tenant: String? = nil, received: String = shifted("2026-11-20"),
              reference: String = "DSR-\(UUID().uuidString.prefix(8))") throws -> String {
        var args = ["request", "open", "--kind", kind, "--received", received, "--reference", reference]
        for s in subjects { args += ["--subject", s] }
        if let tenant { args += ["--tenant", tenant] }
        return try ok(box, args)["request_id"] as! String
    }

    func findIDs(_ box: Sandbox, _ request: String) throws -> [String] {
        let ids = try box.recordingIDs()
        let byID = Dictionary(uniqueKeysWithValues: ids.map { ($1, $0) })
        return (try ok(box, ["request", "find", request])["calls"] as! [[String: Any]]).map { byID[$0["recording_id"] as! String] ?? "?" }.sorted()
    }

    /// No trace of a subject's number outside the recordings themselves: register, audit, key file aside.
    func expectNoNumberOutsideRecordings(_ box: Sandbox) throws {
        let q = try box.catalog()
        try q.read { db in
            for (table, columns) in [("audit_events", "details || coalesce(target, '')"), ("requests", "reference || coalesce(note, '')"),
                                     ("request_subjects", "subject_hash"), ("request_items", "recording_id")] {
                let n = try Int.fetchOne(db, sql: "SELECT count(*) FROM \(table) WHERE \(columns) LIKE '%470123456%' OR \(columns) LIKE '%470 12%'")
                #expect(n == 0, "\(table) holds the subject's number")
            }
        }
    }

    @Test func findListsEveryCallOfTheSubjectAsCallerOrCalleeAndNothingElse() throws {
        let box = try populated()
        // National form, read with acme-energy's country; only acme's calls.
        let acme = try open(box, kind: "access", subjects: ["0470 12 34 56"], tenant: "acme-energy")
        #expect(try findIDs(box, acme) == ["S1", "S2", "S4"])
        // Each tenant is a controller of its own: no request across tenants; the subject's telco-be call is
        // another controller's request ("+32 (0)…" read as E.164).
        let across = try box.run(["--as", "dpo", "request", "open", "--kind", "access", "--received", shifted("2026-11-20"),
                                  "--reference", "DSR-ALL", "--subject", Self.subject])
        #expect(across.status == 2 && across.stderr.contains("--tenant") && across.stderr.contains("controller"), "\(across.stderr)")
        let all = try open(box, kind: "access", subjects: ["+32 (0)470 12 34 56"], tenant: "telco-be")
        #expect(try findIDs(box, all) == ["S3"])

        // Audio past its expiry is gone after a sweep: the call is still found, metadata only.
        #expect(try box.run(["sweep", "--now", shifted("2026-11-22T12:00:00Z")]).status == 0)
        let calls = try ok(box, ["request", "find", acme])["calls"] as! [[String: Any]]
        let ids = try box.recordingIDs()
        let s4 = calls.first { $0["recording_id"] as? String == ids["S4"] }!
        #expect(s4["audio_present"] as? Bool == false)
        #expect(Set(s4.keys).isSuperset(of: ["recording_id", "tenant", "started_at", "audio_present", "held", "restricted", "metadata_expires_at"]))
        #expect(calls.first { $0["recording_id"] as? String == ids["S1"] }!["audio_present"] as? Bool == true)
        try expectNoNumberOutsideRecordings(box)
    }

    @Test func anUnreadableNumberIsAUsageErrorNamingTheArgumentNotTheNumber() throws {
        let box = try populated()
        let r = try box.run(["--as", "dpo", "request", "open", "--kind", "access", "--received", shifted("2026-11-20"), "--reference", "R-1",
                             "--subject", Self.subject, "--subject", "0470-12-AB-56"])
        #expect(r.status == 2)
        #expect(r.stderr.contains("--subject #2"))
        #expect(!r.stderr.contains("0470"))
        // telco-be has no country: a national form cannot be read there.
        let t = try box.run(["--as", "dpo", "request", "open", "--kind", "access", "--tenant", "telco-be", "--received", shifted("2026-11-20"),
                             "--reference", "R-2", "--subject", "0470 12 34 56"])
        #expect(t.status == 2)
        #expect(t.stderr.contains("--subject #1") && t.stderr.contains("country"))
        #expect(try ok(box, ["request", "list"])["requests"] as? [Any] != nil)
        #expect((try ok(box, ["request", "list"])["requests"] as! [Any]).isEmpty)
    }

    /// The day of receipt does not count and the last day counts whole (EU Regulation 1182/71, art. 3).
    @Test func aDeadlineRunsToTheEndOfItsDay() throws {
        let box = try populated()
        let late = try open(box, kind: "access", tenant: "acme-energy", received: "2026-10-22T23:30:00+02:00")
        let shown = try ok(box, ["request", "show", late])
        #expect(shown["due_at"] as? String == "2026-11-22T23:00:00Z", "midnight after 22 November, Brussels")
        #expect(shown["due_day"] as? String == "2026-11-22")
        let text = try box.run(["--as", "dpo", "request", "list"])
        #expect(text.stdout.contains("2026-10-22") && text.stdout.contains("2026-11-22"), "\(text.stdout)")
    }

    @Test func deadlinesAreOneMonthInTheTenantsZoneAndExtendOnceBeforeTheyPass() throws {
        let box = try populated()
        // 31 January + 1 month = 28 February, due until the end of that day (Brussels midnight); 31 March (summer
        // time) = 30 April.
        let jan = try open(box, kind: "access", tenant: "acme-energy", received: "2026-01-31")
        let janShown = try ok(box, ["request", "show", jan])
        #expect(janShown["due_at"] as? String == "2026-02-28T23:00:00Z")
        #expect(janShown["due_day"] as? String == "2026-02-28" && janShown["received_day"] as? String == "2026-01-31")
        #expect(janShown["zone"] as? String == "Europe/Brussels")
        let mar = try open(box, kind: "access", tenant: "acme-energy", received: "2026-03-31")
        #expect(try ok(box, ["request", "show", mar])["due_at"] as? String == "2026-04-30T22:00:00Z")

        // Past its first deadline: overdue, and too late to extend.
        let late = try box.run(["--as", "dpo", "request", "extend", jan, "--by", "P2M", "--reason", "complex"])
        #expect(late.status == 2)
        #expect(late.stderr.contains("has passed"))
        let overdue = (try ok(box, ["request", "list", "--overdue"])["requests"] as! [[String: Any]]).map { $0["request_id"] as! String }
        #expect(Set(overdue) == [jan, mar])

        // Received two days ago: extend once by two months from the first deadline, with a reason; never twice.
        let fresh = try open(box, kind: "access", tenant: "acme-energy")
        let before = try ok(box, ["request", "show", fresh])
        #expect(before["overdue"] as? Bool == false)
        #expect(try box.run(["--as", "dpo", "request", "extend", fresh, "--by", "P3M", "--reason", "x"]).status == 2)
        #expect(try box.run(["--as", "dpo", "request", "extend", fresh, "--by", "P2M", "--reason", " "]).status == 2)
        let after = try ok(box, ["request", "extend", fresh, "--by", "P2M", "--reason", "many recordings to review"])
        let first = TestDays.instant((before["due_at"] as! String))
        #expect(after["first_due_at"] as? String == before["due_at"] as? String)
        // Two months from the first deadline's last day, to the end of that day.
        #expect(after["due_at"] as? String == isoUTC(TestDays.move(TestDays.adding(months: 2, to: TestDays.move(first, days: -1)), days: 1)))
        #expect(after["extended_by"] as? String == "P2M")
        #expect(try box.run(["--as", "dpo", "request", "extend", fresh, "--by", "P1M", "--reason", "again"]).status == 2)

        // Received 26 days ago: due within the week. The register counts what monitoring watches.
        let soon = try open(box, kind: "erasure", tenant: "acme-energy", received: shifted("2026-10-27"))
        #expect(try ok(box, ["request", "show", soon])["due_soon"] as? Bool == true)
        let counts = try ok(box, ["request", "list"])
        #expect(counts["open"] as? Int == 4 && counts["due_soon"] as? Int == 1 && counts["overdue"] as? Int == 2)

        // Received tomorrow: refused. Closed requests leave the open list.
        #expect(try box.run(["--as", "dpo", "request", "open", "--kind", "access", "--subject", Self.subject, "--received",
                             shifted("2026-11-24"), "--reference", "FUTURE"]).status == 2)
        _ = try ok(box, ["request", "close", jan, "--outcome", "answered late, subject informed"])
        let open = (try ok(box, ["request", "list", "--open"])["requests"] as! [[String: Any]]).map { $0["request_id"] as! String }
        #expect(Set(open) == [mar, fresh, soon])
    }

    @Test func erasureKeepsHeldCallsAndErasesThemWhenTheirLastHoldIsReleased() throws {
        let box = try populated()
        let ids = try box.recordingIDs()
        let legalS1 = try ok(box, ["hold", "place", "--kind", "legal", "--case", "C-1", "--recording", ids["S1"]!])["hold_id"] as! String
        let legalS2 = try ok(box, ["hold", "place", "--kind", "legal", "--case", "C-2", "--recording", ids["S2"]!])["hold_id"] as! String
        let incidentS2 = try ok(box, ["hold", "place", "--kind", "incident", "--case", "I-2", "--recording", ids["S2"]!])["hold_id"] as! String
        let req = try open(box, kind: "erasure", tenant: "acme-energy")

        // The plan changes nothing.
        let plan = try ok(box, ["request", "erase", req, "--dry-run"])["calls"] as! [[String: Any]]
        let planned = Dictionary(uniqueKeysWithValues: plan.map { ($0["recording_id"] as! String, $0["action"] as! String) })
        #expect(planned == [ids["S1"]!: "kept_under_hold", ids["S2"]!: "kept_under_hold", ids["S4"]!: "delete"])
        #expect(try box.state().rows == ["O1", "S1", "S2", "S3", "S4"])

        let done = try ok(box, ["request", "erase", req])["calls"] as! [[String: Any]]
        let outcome = Dictionary(uniqueKeysWithValues: done.map { ($0["recording_id"] as! String, $0["action"] as! String) })
        #expect(outcome[ids["S4"]!] == "deleted" && outcome[ids["S3"]!] == nil, "S3 is telco-be's: another controller")
        #expect((done.first { $0["recording_id"] as? String == ids["S2"] }!["holds"] as! [String]).sorted() == [legalS2, incidentS2].sorted())
        var st = try box.state()
        #expect(st.rows == ["O1", "S1", "S2", "S3"])
        #expect(st.audio == ["O1", "S1", "S2", "S3"])
        #expect(box.files(under: box.store + "/audio").count == 4)
        let pending = try ok(box, ["request", "find", req])["calls"] as! [[String: Any]]
        #expect(pending.allSatisfy { $0["erasure_pending"] as? Bool == true && $0["held"] as? Bool == true })
        // Kept for the legal case only: no longer a coaching call (S1 is in coach-an's team).
        #expect(!(try ok(box, ["list"], as: "coach-an")["recordings"] as! [[String: Any]]).contains { $0["recording_id"] as? String == ids["S1"] })
        #expect(try box.run(["--as", "coach-an", "show", ids["S1"]!]).status == 3)
        #expect(try ok(box, ["show", ids["S1"]!])["recording_id"] as? String == ids["S1"], "compliance still sees it")

        // Releasing S1's only hold erases it: refused unless confirmed, saying how many calls for which request.
        let silent = try box.run(["hold", "release", legalS1, "--note", "case closed"])
        #expect(silent.status == 2, "\(silent.stdout)")
        #expect(silent.stderr.contains("erases 1 call(s) now") && silent.stderr.contains("request \(req): 1") && silent.stderr.contains("--confirm-erasure"),
                "\(silent.stderr)")
        #expect(try box.state().rows == ["O1", "S1", "S2", "S3"], "the refused release changed nothing")
        let shownHold = try ok(box, ["hold", "show", legalS1])
        #expect(shownHold["released_at"] is NSNull)
        #expect((shownHold["erasure_pending"] as? [[String: Any]])?.first?["request_id"] as? String == req, "\(shownHold)")
        // Confirmed, it erases S1 in the same step, without a sweep.
        #expect(try box.run(["hold", "release", legalS1, "--note", "case closed", "--confirm-erasure"]).status == 0)
        st = try box.state()
        #expect(st.rows == ["O1", "S2", "S3"])
        // S2 has a second hold: kept until that one goes too (releasing the first erases nothing: no confirmation).
        #expect(try box.run(["hold", "release", legalS2, "--note", "case closed"]).status == 0)
        #expect(try box.state().rows == ["O1", "S2", "S3"])
        #expect(try box.run(["hold", "release", incidentS2, "--note", "incident closed"]).status == 2)
        #expect(try box.run(["hold", "release", incidentS2, "--note", "incident closed", "--confirm-erasure"]).status == 0)
        st = try box.state()
        #expect(st.rows == ["O1", "S3"])
        #expect(box.files(under: box.store + "/audio").count == 2)
        #expect(try box.catalogDiskMismatches().isEmpty)

        // Tombstones: which calls, which tenant, when, under which request — and nothing personal.
        let show = try ok(box, ["request", "show", req])
        let gone = show["gone"] as! [[String: Any]]
        #expect(Set(gone.map { $0["recording_id"] as! String }) == Set(["S1", "S2", "S4"].map { ids[$0]! }))
        #expect(gone.allSatisfy { $0["erased_at"] is String })
        let erasedEvents = try box.catalog().read { db in
            try SQLRow.fetchAll(db, sql: "SELECT target, details FROM audit_events WHERE action = 'request.erased'")
        }
        #expect(Set(erasedEvents.map { $0["target"] as String }) == Set(["S1", "S2", "S4"].map { ids[$0]! }))
        #expect(erasedEvents.allSatisfy { ($0["details"] as String).contains(req) })
        try expectNoNumberOutsideRecordings(box)
        // An access request cannot erase.
        let access = try open(box, kind: "access", tenant: "acme-energy")
        #expect(try box.run(["--as", "dpo", "request", "erase", access]).status == 2)
    }

    @Test func aRestrictedCallIsHiddenFromCoachesEverywhereButNotFromCompliance() throws {
        let box = try populated()
        let s1 = try box.recordingIDs()["S1"]!
        func coachSees() throws -> (list: Bool, show: Int32, export: Int32) {
            let list = try ok(box, ["list"], as: "coach-an")["recordings"] as! [[String: Any]]
            let show = try box.run(["--as", "coach-an", "show", s1]).status
            let export = try box.run(["--as", "coach-an", "export", s1, "--to", box.dir + "/coach-" + UUID().uuidString]).status
            return (list.contains { $0["recording_id"] as? String == s1 }, show, export)
        }
        var seen = try coachSees()
        #expect(seen.list && seen.show == 0 && seen.export == 0)

        let req = try open(box, kind: "restriction", tenant: "acme-energy")
        #expect(try box.run(["--as", "dpo", "request", "restrict", req]).status == 2)  // a ground is required
        #expect(try ok(box, ["request", "restrict", req, "--ground", "accuracy"])["calls"] as? Int == 3)
        seen = try coachSees()
        #expect(!seen.list && seen.show == 3 && seen.export == 3)
        // Compliance still sees it, marked restricted.
        #expect(try ok(box, ["show", s1])["recording_id"] as? String == s1)
        #expect((try ok(box, ["request", "find", req])["calls"] as! [[String: Any]]).allSatisfy { $0["restricted"] as? Bool == true })
        // O1, someone else's call, and S3, the subject's call to telco-be (another controller), are untouched.
        #expect((try ok(box, ["list"], as: "coach-an")["recordings"] as! [[String: Any]]).count == 2)
        // A call of the subject stored later is restricted once the request looks again with the subject's number.
        // Started yesterday evening: a time of today would be in the future when the suite runs before it.
        try addCall(box, callID: "S5", startedAt: shifted("2026-11-21T20:00:00+01:00"), caller: Self.subject)
        #expect(try box.run(["ingest", "inbox"]).status == 0)
        #expect((try ok(box, ["list"], as: "coach-an")["recordings"] as! [[String: Any]]).count == 3)
        #expect((try ok(box, ["request", "find", req, "--subject", "+32470123456"])["calls"] as! [[String: Any]]).count == 4)
        #expect((try ok(box, ["list"], as: "coach-an")["recordings"] as! [[String: Any]]).count == 2)

        // Lifting needs the subject told first (art. 18(3)); then the coach sees the call again.
        let refused = try box.run(["--as", "dpo", "request", "restrict", req, "--lift"])
        #expect(refused.status == 2 && refused.stderr.contains("--subject-informed"))
        _ = try ok(box, ["request", "restrict", req, "--lift", "--subject-informed"])
        seen = try coachSees()
        #expect(seen.list && seen.show == 0)
        #expect(try box.run(["--as", "coach-an", "request", "list"]).status == 3)
    }

    @Test func aLegalClaimsRestrictionKeepsCallsPastExpiryAnAccuracyOneDoesNot() throws {
        let box = try populated()
        let kept = try open(box, kind: "restriction", tenant: "acme-energy")
        _ = try ok(box, ["request", "restrict", kept, "--ground", "legal-claims"])
        let accuracy = try open(box, kind: "restriction", tenant: "telco-be")
        _ = try ok(box, ["request", "restrict", accuracy, "--ground", "accuracy"])
        // Far past every metadata period: the acme calls of the subject stay whole; S3 and O1 go.
        let s = try ok(box, ["sweep", "--now", shifted("2028-01-01T00:00:00Z")])
        #expect(s["held"] as? Int == 3)
        var st = try box.state()
        #expect(st.rows == ["S1", "S2", "S4"])
        #expect(st.audio == ["S1", "S2", "S4"])
        // Lifted: the next sweep applies retention again.
        _ = try ok(box, ["request", "restrict", kept, "--lift", "--subject-informed"])
        _ = try ok(box, ["sweep", "--now", shifted("2028-01-01T00:00:00Z")])
        st = try box.state()
        #expect(st.rows.isEmpty)
    }

    /// S1's caller is rectified to another person's number after the subject's access request found it: the
    /// request's export no longer sends S1 (it would show the other person's number).
    @Test func anAccessExportReChecksItsCallsAfterARectification() throws {
        let box = try populated()
        let ids = try box.recordingIDs()
        let access = try open(box, kind: "access", tenant: "acme-energy", reference: "DSR-ACCESS")
        #expect(try findIDs(box, access) == ["S1", "S2", "S4"])
        let fix = try open(box, kind: "rectification", tenant: "acme-energy")
        _ = try ok(box, ["request", "rectify", fix, "--recording", ids["S1"]!, "--field", "caller", "--value", "+32470555000"])
        _ = try ok(box, ["request", "export", access, "--to", box.dir + "/out"])
        let calls = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: box.dir + "/out/DSR-ACCESS/calls.json")))
        let text = String(describing: calls)
        #expect(!text.contains(ids["S1"]!) && text.contains(ids["S2"]!) && !text.contains("470555000"), "\(text)")
        #expect(!box.files(under: box.dir + "/out/DSR-ACCESS").contains { $0.contains(ids["S1"]!) })
    }

    @Test func theAccessBundleHoldsEveryCallOfTheSubjectNothingElseAndHashesThatVerify() throws {
        let box = try populated()
        let ids = try box.recordingIDs()
        #expect(try box.run(["sweep", "--now", shifted("2026-11-22T12:00:00Z")]).status == 0)  // S4: metadata only
        let req = try open(box, kind: "access", subjects: ["0470/12.34.56"], tenant: "acme-energy", reference: "DSR-2026-042")
        let r = try ok(box, ["request", "export", req, "--to", box.dir + "/out"])
        let folder = box.dir + "/out/DSR-2026-042"
        #expect(r["folder"] as? String == folder)
        let files = box.files(under: folder)
        // S1 is µ-law and S2 GSM: neither plays in Chromium as it is, so each gets the WAV the web player plays.
        #expect(files == ["README.txt", "audio/\(ids["S1"]!).playable.wav", "audio/\(ids["S1"]!).wav", "audio/\(ids["S2"]!).playable.wav",
                          "audio/\(ids["S2"]!).wav", "calls.csv", "calls.json", "manifest.json"].sorted())
        // S2's GSM original gets a PCM copy a browser plays: 16-bit PCM WAV, as long as the call.
        let copy = try Data(contentsOf: URL(fileURLWithPath: folder + "/audio/\(ids["S2"]!).playable.wav"))
        let u16 = { (o: Int) in Int(copy[o]) | Int(copy[o + 1]) << 8 }
        let u32 = { (o: Int) in u16(o) | u16(o + 2) << 16 }
        #expect(String(decoding: copy[0..<4], as: UTF8.self) == "RIFF" && String(decoding: copy[8..<12], as: UTF8.self) == "WAVE")
        #expect(u16(20) == 1 && u16(34) == 16)
        let seconds = Double(u32(40)) / Double(u32(28))
        let stored = try box.catalog().read { try Double.fetchOne($0, sql: "SELECT duration_s FROM recordings WHERE call_id = 'S2'") }!
        #expect(abs(seconds - stored) < 0.05 && u32(40) + 44 == copy.count)

        // calls.json: exactly the subject's acme calls, the expired one included; nothing of the agent.
        let jsonText = try String(contentsOfFile: folder + "/calls.json", encoding: .utf8)
        let calls = (try JSONSerialization.jsonObject(with: Data(jsonText.utf8)) as! [String: Any])["calls"] as! [[String: Any]]
        #expect(Set(calls.map { $0["recording_id"] as! String }) == Set(["S1", "S2", "S4"].map { ids[$0]! }))
        #expect(!jsonText.contains("a-1042") && !jsonText.contains("billing-nl") && !jsonText.contains(Self.other))
        let s4 = calls.first { $0["recording_id"] as? String == ids["S4"] }!
        #expect(s4["audio_file"] is NSNull)
        let csv = try String(contentsOfFile: folder + "/calls.csv", encoding: .utf8)
        #expect(csv.split(separator: "\r\n").count == 4)
        #expect(csv.contains(Self.subject) && !csv.contains("a-1042") && !csv.contains("billing-nl"))
        // README in the tenant's language, naming what art. 15 requires.
        let readme = try String(contentsOfFile: folder + "/README.txt", encoding: .utf8)
        #expect(readme.contains("AVG art. 15") && readme.contains("6 maanden") && !readme.contains("P6M") && readme.contains("art. 17"))

        // Every file is in the manifest with the SHA-256 and size it has on disk.
        let manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: folder + "/manifest.json"))) as! [String: Any]
        let listed = manifest["files"] as! [[String: Any]]
        #expect(listed.map { $0["path"] as! String } == files.filter { $0 != "manifest.json" })
        for f in listed {
            let path = folder + "/" + (f["path"] as! String)
            #expect(try sha256sum(path) == f["sha256"] as? String)
            #expect((try FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.intValue == f["bytes"] as? Int)
        }
        // The audio is the stored original.
        let original = try box.catalog().read { try String.fetchOne($0, sql: "SELECT sha256 FROM recordings WHERE call_id = 'S2'") }
        #expect(try sha256sum(folder + "/audio/\(ids["S2"]!).wav") == original)

        // Audited with the files and their hashes; never written over.
        let event = try box.catalog().read { try String.fetchOne($0, sql: "SELECT details FROM audit_events WHERE action = 'request.exported'") }
        #expect(event?.contains(listed[0]["sha256"] as! String) == true)
        #expect(try box.run(["--as", "dpo", "request", "export", req, "--to", box.dir + "/out"]).status == 2)
        try expectNoNumberOutsideRecordings(box)
    }

    @Test func rectificationChangesOneFieldAndAuditsOnlyHashes() throws {
        let box = try populated()
        let ids = try box.recordingIDs()
        let req = try open(box, kind: "rectification", tenant: "acme-energy")
        _ = try ok(box, ["request", "rectify", req, "--recording", ids["S1"]!, "--field", "queue", "--value", "Facturatie NL"])
        _ = try ok(box, ["request", "rectify", req, "--recording", ids["S2"]!, "--field", "callee", "--value", "0470 12 34 57"])
        let q = try box.catalog()
        #expect(try q.read { try String.fetchOne($0, sql: "SELECT queue FROM recordings WHERE call_id = 'S1'") } == "Facturatie NL")
        #expect(try q.read { try String.fetchOne($0, sql: "SELECT callee FROM recordings WHERE call_id = 'S2'") } == "+32470123457")
        let details = try q.read { try String.fetchAll($0, sql: "SELECT details FROM audit_events WHERE action = 'request.rectified'") }
        #expect(details.count == 2)
        #expect(details.allSatisfy { $0.contains("new_hash") && !$0.contains("Facturatie") && !$0.contains("470123457") })
        // Someone else's call is not the request's to correct; a bad number is refused by position.
        #expect(try box.run(["--as", "dpo", "request", "rectify", req, "--recording", ids["O1"]!, "--field", "queue", "--value", "x"]).status == 2)
        let bad = try box.run(["--as", "dpo", "request", "rectify", req, "--recording", ids["S1"]!, "--field", "caller", "--value", "12ab"])
        #expect(bad.status == 2 && bad.stderr.contains("--value"))
    }

    /// A rectified value obeys the sidecar's rule for its field: no path-like agent id, no phone number in an agent,
    /// team or queue, and `list --agent` finds a rectified agent.
    @Test func aRectifiedValueObeysItsFieldsRule() throws {
        let box = try populated()
        let ids = try box.recordingIDs()
        let req = try open(box, kind: "rectification", tenant: "acme-energy")
        for (field, value) in [("agent", "../../etc passwd +32470111222"), ("agent", "a 1042"), ("team", "call +32 470 11 12 22"),
                               ("queue", "0470111222"), ("agent", String(repeating: "a", count: 129))] {
            let r = try box.run(["--as", "dpo", "request", "rectify", req, "--recording", ids["S1"]!, "--field", field, "--value", value])
            #expect(r.status == 2, "\(field) \(value)")
            #expect(!r.stderr.contains("470111222") && !r.stderr.contains("etc passwd"), "\(r.stderr)")
        }
        #expect(try box.catalog().read { try String.fetchOne($0, sql: "SELECT agent_id FROM recordings WHERE call_id = 'S1'") } == "a-1042")
        _ = try ok(box, ["request", "rectify", req, "--recording", ids["S1"]!, "--field", "agent", "--value", "a-2077"])
        let listed = try ok(box, ["list", "--agent", "a-2077"])["recordings"] as? [[String: Any]]
        #expect(listed?.map { $0["recording_id"] as? String } == [ids["S1"]])
    }

    @Test func everyStepOfARequestIsAuditedUnderItsIDWithoutTheNumber() throws {
        let box = try populated()
        let req = try open(box, kind: "objection", tenant: "acme-energy")
        _ = try ok(box, ["request", "show", req])
        _ = try ok(box, ["request", "find", req, "--subject", "+32 470 12 34 56"])
        // A number that is not the request's subject cannot be used to widen it.
        let widen = try box.run(["--as", "dpo", "request", "find", req, "--subject", Self.other])
        #expect(widen.status == 2 && !widen.stderr.contains("470999999"))
        _ = try ok(box, ["request", "restrict", req, "--ground", "objection"])
        _ = try ok(box, ["request", "erase", req, "--dry-run"])
        _ = try ok(box, ["request", "erase", req])
        _ = try ok(box, ["request", "close", req, "--outcome", "erased"])
        let actions = try box.catalog().read { db in
            try String.fetchAll(db, sql: "SELECT action FROM audit_events WHERE target = ? ORDER BY seq", arguments: [req])
        }
        #expect(actions == ["request.opened", "request.show", "request.refreshed", "request.find", "request.restricted",
                            "request.erase_planned", "request.erase", "request.closed"])
        let actors = try box.catalog().read { db in
            try String.fetchAll(db, sql: "SELECT DISTINCT actor FROM audit_events WHERE target = ?", arguments: [req])
        }
        #expect(actors == ["dpo"])
        try expectNoNumberOutsideRecordings(box)
        // The key the hashes are made with is the store's own, private.
        let mode = (try FileManager.default.attributesOfItem(atPath: box.store + "/subject.key")[.posixPermissions] as? NSNumber)?.intValue
        #expect(mode == 0o600)
        // A closed request takes no more action.
        #expect(try box.run(["--as", "dpo", "request", "erase", req]).status == 2)
    }
}
