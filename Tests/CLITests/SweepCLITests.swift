// Retention and holds through the real binary on a simulation store: which files and rows exist after each step.
import CallVaultTesting
import Foundation
import CallVaultStore
import Testing

@Suite struct SweepCLITests {
    /// Five calls across several months; acme-energy keeps audio P1M and metadata P6M.
    func scenarioStore() throws -> Sandbox {
        let box = Sandbox()
        try box.initStore(["--simulation"])
        try box.addCall(callID: "A", startedAt: shifted("2026-06-01T10:00:00+02:00"), agent: "a-1")
        try box.addCall(callID: "B", startedAt: shifted("2026-08-15T10:00:00+02:00"), agent: "a-1")
        try box.addCall(callID: "C", startedAt: shifted("2026-10-20T10:00:00+02:00"), agent: "a-7")
        try box.addCall(callID: "D", startedAt: shifted("2026-11-20T10:00:00+01:00"), agent: "a-7")
        try box.addCall(callID: "E", startedAt: shifted("2026-11-21T09:00:00+01:00"), agent: "a-2")
        let r = try box.run(["ingest", "--json", "inbox"])
        #expect(r.status == 0)
        // A, B and C are backfills already past their audio expiry (on the real clock): stored, and said so.
        // (The dates are relative to today, see `shifted`: D and E, two days and one day old, are not.)
        let stored = try r.json()["stored"] as! [[String: Any]]
        let expired = stored.filter { $0["already_expired"] as? Bool == true }.map { $0["call_id"] as! String }.sorted()
        #expect(expired == ["A", "B", "C"])
        return box
    }

    func sweep(_ box: Sandbox, _ now: String) throws -> [String: Any] {
        let r = try box.run(["sweep", "--json", "--now", now])
        #expect(r.status == 0, "\(r.stderr)")
        return try r.json()
    }

    func place(_ box: Sandbox, _ args: [String]) throws -> [String: Any] {
        let r = try box.run(["hold", "place", "--json", "--case", "CASE-\(UUID().uuidString.prefix(4))"] + args)
        #expect(r.status == 0, "\(r.stderr)")
        return try r.json()
    }

    @Test func holdsProtectAndReleasedItemsGoAtTheNextSweep() throws {
        let box = try scenarioStore()
        let legalB = try place(box, ["--kind", "legal", "--call-id", "B"])
        let incidentA7 = try place(box, ["--kind", "incident", "--agent", "a-7"])
        #expect(incidentA7["recordings"] as? Int == 2)
        let incidentD = try place(box, ["--kind", "incident", "--recording", try box.recordingIDs()["D"]!, "--review-at", shifted("2027-01-31")])

        // Now: A's audio is due (backfill), B's and C's are due but held.
        var s = try sweep(box, shifted("2026-11-21T12:00:00Z"))
        #expect(s["audio_deleted"] as? Int == 1)
        #expect(s["held"] as? Int == 2)
        #expect(s["overdue"] as? Int == 0)
        var st = try box.state()
        #expect(st.rows == ["A", "B", "C", "D", "E"])
        #expect(st.audio == ["B", "C", "D", "E"])
        #expect(try box.catalogDiskMismatches().isEmpty, "A's sidecar went with its audio")

        // A hold on A, whose audio is gone, holds its metadata and says so.
        let holdA = try place(box, ["--kind", "legal", "--call-id", "A"])
        #expect(holdA["metadata_only"] as? Int == 1)

        // Released: C's audio, past due, goes at the next sweep; D stays under its second hold.
        #expect(try box.run(["hold", "release", incidentA7["hold_id"] as! String, "--note", "incident closed"]).status == 0)
        s = try sweep(box, shifted("2026-12-15T00:00:00Z"))
        #expect(s["audio_deleted"] as? Int == 1)
        st = try box.state()
        #expect(st.rows == ["A", "B", "C", "D", "E"])
        #expect(st.audio == ["B", "D", "E"])

        // Half a year on: every metadata period has passed. Held rows stay whole, the rest goes, audio first.
        s = try sweep(box, shifted("2027-06-01T00:00:00Z"))
        #expect(s["metadata_deleted"] as? Int == 2)
        #expect(s["held"] as? Int == 3)
        #expect(s["overdue"] as? Int == 0)
        st = try box.state()
        #expect(st.rows == ["A", "B", "D"])
        #expect(st.audio == ["B", "D"])

        for h in [legalB, incidentD, holdA] {
            #expect(try box.run(["hold", "release", h["hold_id"] as! String, "--note", "done"]).status == 0)
        }
        s = try sweep(box, shifted("2027-06-01T00:00:00Z"))
        #expect(s["metadata_deleted"] as? Int == 3)
        #expect(s["audio_deleted"] as? Int == 2)
        #expect(s["overdue"] as? Int == 0)
        st = try box.state()
        #expect(st.rows.isEmpty)
        #expect(box.files(under: box.store + "/audio").isEmpty)

        // The audit log tells the story: every recording's audio and metadata deleted exactly once,
        // every hold placed and released once.
        let events = try box.catalog().read { db in
            try SQLRow.fetchAll(db, sql: "SELECT action, target FROM audit_events ORDER BY seq").map { ($0["action"] as String, $0["target"] as String?) }
        }
        // (An audio deletion has its own event, or rides on the metadata deletion of the same sweep.)
        let details = try box.catalog().read { db in
            try SQLRow.fetchAll(db, sql: "SELECT action, target, details FROM audit_events WHERE action LIKE 'sweep.%_deleted'")
                .map { ($0["action"] as String, $0["target"] as String, $0["details"] as String) }
        }
        let audioDeleted = details.filter { $0.0 == "sweep.audio_deleted" || $0.2.contains(#""audio":"retention""#) }.map(\.1)
        let metadataDeleted = details.filter { $0.0 == "sweep.metadata_deleted" }.map(\.1)
        #expect(audioDeleted.count == 5 && Set(audioDeleted).count == 5)
        #expect(metadataDeleted.count == 5 && Set(metadataDeleted).count == 5)
        #expect(events.filter { $0.0 == "hold.placed" }.count == 4)
        #expect(events.filter { $0.0 == "hold.released" }.count == 4)
        #expect(try box.run(["hold", "list", "--json", "--active"]).json()["holds"] as? [Any] != nil)
        #expect((try box.run(["hold", "list", "--json", "--active"]).json()["holds"] as? [Any])?.count == 0)
    }

    @Test func nowIsHonouredOnlyOnSimulationStores() throws {
        let box = Sandbox()
        // A production store reads the real clock, whatever CALLVAULT_TEST_SHIFT_DAYS says.
        try box.initStore(production: true)
        try box.addCall(callID: "X", startedAt: onRealClock("2026-11-01T10:00:00+01:00"))
        #expect(try box.run(["ingest", "inbox"]).status == 0)
        let r = try box.run(["sweep", "--json", "--now", onRealClock("2027-06-01T00:00:00Z")])
        #expect(r.status == 0)
        #expect(r.stderr.contains("implies") || r.stderr.contains("--dry-run"))
        let json = try r.json()
        #expect(json["dry_run"] as? Bool == true)
        #expect(json["metadata_deleted"] as? Int == 1, "reports what would go")
        #expect(try box.state().audio == ["X"], "nothing deleted")
    }

    @Test func dryRunChangesNothing() throws {
        let box = try scenarioStore()
        let s = try box.run(["sweep", "--json", "--dry-run", "--now", shifted("2027-06-01T00:00:00Z")]).json()
        #expect(s["dry_run"] as? Bool == true)
        #expect(s["metadata_deleted"] as? Int == 5)
        #expect(try box.state().audio == ["A", "B", "C", "D", "E"])
    }

    @Test func sweepKilledMidwayFinishesOnRerunWithoutDoubleDeletion() throws {
        let box = try scenarioStore()
        let killed = try box.run(["sweep", "--now", shifted("2027-06-01T00:00:00Z")], env: ["CALLVAULT_CRASH_AT": "sweep.before-remove:3"])
        #expect(killed.killed)
        // Killed inside the deciding transaction: the catalog still says present for files already removed,
        // which the rerun records as found missing — never the reverse.
        let s = try sweep(box, shifted("2027-06-01T00:00:00Z"))
        #expect(s["overdue"] as? Int == 0)
        #expect(try box.state().rows.isEmpty)
        #expect(box.files(under: box.store + "/audio").isEmpty)
        #expect(box.files(under: box.store + "/native").isEmpty, "the sidecars kept with the calls went with them")
        let deleted = try box.catalog().read { try String.fetchAll($0, sql: "SELECT target FROM audit_events WHERE action = 'sweep.metadata_deleted'") }
        #expect(deleted.count == 5 && Set(deleted).count == 5)
        // Each audio removal is recorded once: by itself, or with its metadata deletion (found missing when the
        // killed sweep had already unlinked it inside its uncommitted transaction).
        #expect(try box.count("SELECT count(*) FROM audit_events WHERE action = 'sweep.audio_deleted' OR details LIKE '%\"audio\":%'") == 5)
    }

    /// Killed between a call's audio and its sidecar: the rerun finishes, and no sidecar outlives its audio.
    @Test func sweepKilledBetweenAudioAndSidecarLeavesNoOrphan() throws {
        let box = try scenarioStore()
        let killed = try box.run(["sweep", "--now", shifted("2027-06-01T00:00:00Z")], env: ["CALLVAULT_CRASH_AT": "sweep.between-audio-and-native:2"])
        #expect(killed.killed)
        let s = try sweep(box, shifted("2027-06-01T00:00:00Z"))
        #expect(s["overdue"] as? Int == 0)
        #expect(box.files(under: box.store + "/native").isEmpty, "\(box.files(under: box.store + "/native"))")
        #expect(try box.catalogDiskMismatches().isEmpty)
    }

    @Test func unremovableFileIsReportedAndStaysInTheCatalog() throws {
        let box = try scenarioStore()
        let path = try box.catalog().read { try String.fetchOne($0, sql: "SELECT audio_path FROM recordings WHERE call_id = 'C'")! }
        // A non-empty directory where the file was: unlink fails (EISDIR) like an I/O or permission error would.
        try FileManager.default.removeItem(atPath: box.store + "/" + path)
        try FileManager.default.createDirectory(atPath: box.store + "/" + path, withIntermediateDirectories: false)
        _ = FileManager.default.createFile(atPath: box.store + "/" + path + "/x", contents: Data("x".utf8))
        let r = try box.run(["sweep", "--json", "--now", shifted("2026-12-15T00:00:00Z")])
        #expect(r.status == 1)
        let json = try r.json()
        let errors = json["errors"] as? [[String: Any]] ?? []
        #expect(errors.count == 1)
        #expect(errors.first?["recording_id"] as? String == (try box.recordingIDs()["C"]))
        #expect(json["audio_deleted"] as? Int == 2, "the sweep went on with A and B")
        #expect(json["overdue"] as? Int == 1)
        #expect(try box.count("SELECT count(*) FROM recordings WHERE call_id = 'C' AND audio_deleted_at IS NULL") == 1)
    }

    @Test func missingFileIsRecordedAsSuch() throws {
        let box = try scenarioStore()
        let path = try box.catalog().read { try String.fetchOne($0, sql: "SELECT audio_path FROM recordings WHERE call_id = 'B'")! }
        try FileManager.default.removeItem(atPath: box.store + "/" + path)
        let s = try sweep(box, shifted("2026-12-15T00:00:00Z"))
        #expect(s["audio_found_missing"] as? Int == 1)
        #expect(s["audio_deleted"] as? Int == 2)
        #expect(s["overdue"] as? Int == 0)
        #expect(try box.count("SELECT count(*) FROM recordings WHERE call_id = 'B' AND audio_deletion = 'found_missing'") == 1)
        #expect(try box.catalogDiskMismatches().isEmpty)
    }

    @Test func onlyComplianceAndAdminPlaceHoldsAndRefusalsAreAudited() throws {
        let box = try scenarioStore()
        var config = try String(contentsOfFile: box.store + "/callvault.toml", encoding: .utf8)
        config += "\n[users.coach-an]\nrole = \"coach\"\nteams = [\"billing-nl\"]\n\n[users.dpo]\nrole = \"compliance\"\n"
        try config.write(toFile: box.store + "/callvault.toml", atomically: true, encoding: .utf8)

        let refused = try box.run(["--as", "coach-an", "hold", "place", "--kind", "legal", "--case", "X", "--call-id", "B"])
        #expect(refused.status == 3)
        #expect(refused.stderr.contains("not allowed for coach-an"))
        #expect(refused.stderr.split(separator: "\n").count == 1)
        #expect(try box.count("SELECT count(*) FROM audit_events WHERE action = 'access.denied' AND actor = 'coach-an' AND principal IS NOT NULL") == 1)

        // A kind that is not one is refused before anything is held, listing the kinds there are.
        let unknown = try box.run(["--as", "dpo", "hold", "place", "--kind", "lawsuit", "--case", "X", "--call-id", "B"])
        #expect(unknown.status == 2 && unknown.stderr.contains("incident") && unknown.stderr.contains("legal"), "\(unknown.stderr)")
        #expect(try box.count("SELECT count(*) FROM holds") == 0)
        let placed = try box.run(["--as", "dpo", "hold", "place", "--kind", "legal", "--case", "X", "--call-id", "B", "--json"])
        #expect(placed.status == 0)
        #expect(try box.count("SELECT count(*) FROM audit_events WHERE action = 'hold.placed' AND actor = 'dpo' AND principal IS NOT NULL") == 1)
        #expect(try box.run(["--as", "nobody", "hold", "list"]).status == 3)
    }

    @Test func retentionReapplyMovesExpiriesAndIsAudited() throws {
        let box = try scenarioStore()
        var config = try String(contentsOfFile: box.store + "/callvault.toml", encoding: .utf8)
        config = config.replacingOccurrences(of: "[tenants.acme-energy]\nretention = { audio = \"P1M\", metadata = \"P6M\" }",
                                             with: "[tenants.acme-energy]\nretention = { audio = \"P14D\", metadata = \"P3M\" }")
        try config.write(toFile: box.store + "/callvault.toml", atomically: true, encoding: .utf8)
        let r = try box.run(["retention", "reapply", "--tenant", "acme-energy", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let t = (try r.json()["tenants"] as? [[String: Any]])?.first
        #expect(t?["earlier"] as? Int == 5)
        #expect(t?["later"] as? Int == 0)
        let e = try box.catalog().read { try String.fetchOne($0, sql: "SELECT audio_expires_at FROM recordings WHERE call_id = 'E'") }
        // P14D on the Brussels wall clock from E's start.
        let startE = TestDays.instant(shifted("2026-11-21T09:00:00+01:00"))
        #expect(e == isoUTC(TestDays.calendar.date(byAdding: .day, value: 14, to: startE)!))
        #expect(try box.count("SELECT count(*) FROM audit_events WHERE action = 'retention.reapplied'") == 1)
        // Again: nothing moves.
        #expect((try box.run(["retention", "reapply", "--json"]).json()["tenants"] as? [[String: Any]])?.allSatisfy { ($0["earlier"] as? Int) == 0 && ($0["later"] as? Int) == 0 } == true)
    }
}

@Suite struct HoldSweepRaceTests {
    /// A hold and a sweep started together: whichever transaction commits first decides. A recording the hold
    /// took with its audio keeps its audio; one it took as metadata-only lost its audio before the hold.
    @Test(arguments: 0..<4)
    func holdCommittedBeforeTheDecidingTransactionWins(round: Int) throws {
        let box = Sandbox()
        try box.initStore(["--simulation"])
        for i in 0..<20 { try box.addCall(callID: "R\(i)", startedAt: shifted("2026-09-0\(1 + i % 9)T10:00:00+02:00")) }
        #expect(try box.run(["ingest", "inbox"]).status == 0)

        let sweep = Process(), hold = Process()
        for (p, args) in [(sweep, ["sweep", "--now", shifted("2026-12-01T00:00:00Z")]),
                          (hold, ["hold", "place", "--kind", "legal", "--case", "RACE", "--tenant", "acme-energy"])] {
            p.executableURL = URL(fileURLWithPath: Sandbox.binary)
            p.arguments = ["--store", box.store] + args
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
        }
        if round % 2 == 0 { try sweep.run(); try hold.run() } else { try hold.run(); try sweep.run() }
        sweep.waitUntilExit()
        hold.waitUntilExit()
        #expect(sweep.terminationStatus == 0)
        #expect(hold.terminationStatus == 0)

        try box.catalog().read { db in
            let holdSeq = try Int.fetchOne(db, sql: "SELECT seq FROM audit_events WHERE action = 'hold.placed'")!
            let items = try SQLRow.fetchAll(db, sql: """
                SELECT r.id, r.audio_path, r.audio_deleted_at, hi.metadata_only,
                       (SELECT seq FROM audit_events WHERE action = 'sweep.audio_deleted' AND target = r.id) AS deleted_seq
                FROM hold_items hi JOIN recordings r ON r.id = hi.recording_id
                """)
            #expect(items.count == 20)
            for item in items {
                let onDisk = FileManager.default.fileExists(atPath: box.store + "/" + (item["audio_path"] as String))
                if item["metadata_only"] as Bool {
                    #expect(!onDisk)
                    #expect((item["deleted_seq"] as Int?).map { $0 < holdSeq } == true)
                } else {
                    #expect(onDisk)
                    #expect((item["audio_deleted_at"] as String?) == nil)
                }
            }
        }
    }
}
