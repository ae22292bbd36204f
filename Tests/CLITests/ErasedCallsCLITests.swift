// Erased stays erased (issue 20): a tombstone per erased call refuses its re-delivery and its retry from quarantine.
import CallVaultStore
import CallVaultTesting
import Foundation
import Testing

extension RequestCLITests {
    /// Erases the subject's acme-energy calls (S1, S2, S4); returns the request.
    func eraseSubject(_ box: Sandbox) throws -> String {
        let req = try open(box, kind: "erasure", tenant: "acme-energy")
        _ = try ok(box, ["request", "erase", req])
        #expect(try box.state().rows == ["O1", "S3"], "S3 is telco-be's: another controller")
        return req
    }

    @Test func aReDeliveredErasedCallIsRefusedAndItsInputsRemoved() throws {
        let box = try populated()
        let req = try eraseSubject(box)
        let tombstones = try box.catalog().read { db in try SQLRow.fetchAll(db, sql: "SELECT * FROM erased_calls") }
        #expect(tombstones.count == 3)
        // No personal data in a tombstone: keyed hashes, the tenant, when, and the request.
        for t in tombstones {
            let values = ["tenant", "call_key", "audio_key", "erased_at", "request_id"].map { t[$0] as String? ?? "" }.joined(separator: " ")
            #expect(!values.contains("S1") && !values.contains("S2") && !values.contains("470123456"), "\(values)")
        }

        // The recorder delivers S1 again, as it was (a retry, a backup restored into the inbox).
        try addCall(box, callID: "S1", startedAt: shifted("2026-11-21T08:00:00+01:00"), caller: Self.subject)
        let r = try box.run(["ingest", "--json", "inbox"])
        #expect(r.status == 0, "\(r.stderr)")
        let json = try r.json()
        #expect((json["stored"] as? [Any])?.isEmpty == true)
        #expect((json["rejected"] as? [Any])?.isEmpty == true, "not quarantined: no copy of an erased call is kept")
        let erased = try #require(json["erased"] as? [[String: Any]])
        #expect(erased.count == 1 && erased.first?["reason"] as? String == "erased" && erased.first?["request"] as? String == req)
        #expect(box.files(under: box.inbox + "/acme-energy").isEmpty, "its inputs are removed")
        #expect(try box.state().rows == ["O1", "S3"])
        #expect(try box.count("SELECT count(*) FROM rejections") == 0)
        let refusals = try box.catalog().read { db in
            try SQLRow.fetchAll(db, sql: "SELECT target, details FROM audit_events WHERE action = 'ingest.erased_refused'")
        }
        #expect(refusals.count == 1 && refusals.first?["target"] as String? == req)
        #expect(refusals.allSatisfy { !($0["details"] as String).contains("S1") })
        // Human output says what happened, in words.
        try addCall(box, callID: "S2", startedAt: shifted("2026-11-21T09:00:00+01:00"), caller: "+3225550000", callee: Self.subject,
                    audio: "formats/call-gsm.wav")
        let human = try box.run(["ingest", "inbox"])
        #expect(human.status == 0)
        #expect(human.stdout.contains("erased at a data subject's request") && human.stdout.contains("1 erased call(s) refused"), "\(human.stdout)")
        // `request find` still finds nothing stored of the subject.
        #expect(try box.state().rows == ["O1", "S3"])
    }

    /// A copy the erasure cannot tell is the subject's (its sidecar gives no number) is still refused by retry:
    /// the tombstone knows the call id.
    @Test func aQuarantinedCopyOfAnErasedCallIsNotBroughtBackByRetry() throws {
        let box = try populated()
        // Before the erasure, another version of S1 arrived and was quarantined as a duplicate_conflict.
        try addCall(box, callID: "S1", startedAt: shifted("2026-11-21T08:00:00+01:00"), caller: "withheld", audio: "formats/call-gsm.wav")
        #expect(try box.run(["ingest", "inbox"]).status == 4)
        let entry = try #require(try box.catalog().read { db in
            try String.fetchOne(db, sql: "SELECT id FROM rejections WHERE reason = 'duplicate_conflict'")
        })
        let req = try eraseSubject(box)
        #expect(try box.count("SELECT count(*) FROM rejections WHERE deleted_at IS NULL") == 1, "the copy names no number: left to retry")

        let r = try box.run(["quarantine", "retry", "--json", entry])
        #expect(r.status == 0, "\(r.stdout) \(r.stderr)")
        let retried = try #require(try r.json()["retried"] as? [[String: Any]])
        #expect(retried.first?["outcome"] as? String == "erased" && retried.first?["request"] as? String == req)
        #expect(try box.state().rows == ["O1", "S3"], "the erased call did not come back")
        #expect(try box.count("SELECT count(*) FROM rejections WHERE deleted_at IS NULL") == 0, "the entry is resolved")
        #expect(box.files(under: box.store + "/quarantine").isEmpty, "and its copies deleted")
    }

    /// Quarantines one pair of `tenant` whose sidecar is refused (no started_at) and names `caller`; returns its id.
    func quarantineCopy(_ box: Sandbox, tenant: String = "acme-energy", callID: String, caller: String, callee: String? = nil) throws -> String {
        let dir = box.inbox + "/" + tenant
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: Sandbox.fixtures + "/inbox/acme-energy/call-0001.wav", toPath: dir + "/" + callID + ".wav")
        var sidecar: [String: Any] = ["schema": "callvault.call/1", "call_id": callID, "tenant": tenant, "direction": "inbound", "caller": caller]
        if let callee { sidecar["callee"] = callee }
        try JSONSerialization.data(withJSONObject: sidecar).write(to: URL(fileURLWithPath: dir + "/" + callID + ".json"))
        let before = Set(try box.catalog().read { db in try String.fetchAll(db, sql: "SELECT id FROM rejections") })
        #expect(try box.run(["ingest", "inbox"]).status == 4)
        let after = Set(try box.catalog().read { db in try String.fetchAll(db, sql: "SELECT id FROM rejections") })
        return try #require(after.subtracting(before).first)
    }

    /// A pair refused at ingest is the subject's data too: an access request lists it (show, find, the bundle's
    /// calls.json and letter), an erasure plans it and deletes it, audited by request; another controller's copy
    /// and a copy of someone else stay.
    @Test func anErasureDeletesTheQuarantineCopiesNamingTheSubjectAndAccessListsThem() throws {
        let box = try populated()
        // National form with a trunk zero, as callee: still the subject's number in acme's country (BE).
        let mine = try quarantineCopy(box, callID: "Q1", caller: "+3225550000", callee: "0470 12 34 56")
        let broken = box.inbox + "/acme-energy/Q2"
        try FileManager.default.copyItem(atPath: Sandbox.fixtures + "/inbox/acme-energy/call-0001.wav", toPath: broken + ".wav")
        try Data("{\"call_id\": \"Q2\", \"caller\": \"+32 470 12 34 56\",".utf8).write(to: URL(fileURLWithPath: broken + ".json"))
        #expect(try box.run(["ingest", "inbox"]).status == 4)
        let unreadable = try #require(try box.catalog().read { db in
            try String.fetchOne(db, sql: "SELECT id FROM rejections WHERE id <> ? ORDER BY at DESC, id DESC LIMIT 1", arguments: [mine])
        })
        let someoneElse = try quarantineCopy(box, callID: "Q3", caller: Self.other)
        let otherController = try quarantineCopy(box, tenant: "telco-be", callID: "Q4", caller: Self.subject)
        let ours = Set([mine, unreadable])

        let access = try open(box, kind: "access", tenant: "acme-energy")
        let listed = try #require(try ok(box, ["request", "show", access])["quarantine"] as? [[String: Any]])
        #expect(Set(listed.compactMap { $0["quarantine_id"] as? String }) == ours, "\(listed)")
        #expect(listed.allSatisfy { ($0["reason"] as? String) == "sidecar_invalid" })
        let found = try #require(try ok(box, ["request", "find", access])["quarantine"] as? [[String: Any]])
        #expect(found.count == 2)
        let human = try box.run(["--as", "dpo", "request", "show", access])
        #expect(human.stdout.contains("2 quarantine copy(ies) name the subject"), "\(human.stdout)")
        #expect(!human.stdout.contains("470 12 34 56") && !human.stdout.contains("Q1"), "no number, no file name")

        let out = box.dir + "/out"
        _ = try ok(box, ["request", "export", access, "--to", out])
        let folder = try #require(try FileManager.default.contentsOfDirectory(atPath: out).first)
        let calls = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(out)/\(folder)/calls.json"))) as? [String: Any])
        let held = try #require(calls["quarantine"] as? [[String: Any]])
        #expect(held.count == 2 && held.allSatisfy { $0["deleted_at_the_latest"] is String })
        let letter = try String(contentsOfFile: "\(out)/\(folder)/README.txt", encoding: .utf8)
        #expect(letter.contains("Daarnaast bewaard: 2 kopie"), "the letter, in the tenant's language, says so")

        let erasure = try open(box, kind: "erasure", tenant: "acme-energy")
        let plan = try ok(box, ["request", "erase", erasure, "--dry-run"])
        #expect(Set((plan["quarantine"] as? [[String: Any]] ?? []).compactMap { $0["quarantine_id"] as? String }) == ours)
        #expect(try box.count("SELECT count(*) FROM rejections WHERE deleted_at IS NULL") == 4, "a plan changes nothing")
        let done = try ok(box, ["request", "erase", erasure])
        #expect((done["quarantine"] as? [[String: Any]])?.allSatisfy { $0["action"] as? String == "deleted" } == true)
        let open = Set(try box.catalog().read { db in try String.fetchAll(db, sql: "SELECT id FROM rejections WHERE deleted_at IS NULL") })
        #expect(open == [someoneElse, otherController], "someone else's copy and another controller's stay")
        let folders = Set(box.files(under: box.store + "/quarantine").compactMap { path in ours.union([someoneElse, otherController]).first { path.contains($0) } })
        #expect(folders == [someoneElse, otherController], "the copies' folders are gone")
        let events = try box.catalog().read { db in
            try SQLRow.fetchAll(db, sql: "SELECT target, details FROM audit_events WHERE action = 'request.quarantine_erased'")
        }
        #expect(Set(events.map { $0["target"] as String }) == ours)
        #expect(events.allSatisfy { ($0["details"] as String).contains(erasure) && !($0["details"] as String).contains("470") })
    }

    /// Killed after a copy's entry is resolved and before its folder is removed: no open entry is left, and the
    /// next ingest's repair removes the folder.
    @Test func anErasureKilledBetweenResolvingACopyAndRemovingItLeavesNoOrphan() throws {
        let box = try populated()
        let copy = try quarantineCopy(box, callID: "Q1", caller: Self.subject)
        let erasure = try open(box, kind: "erasure", tenant: "acme-energy")
        let killed = try box.run(["--as", "dpo", "request", "erase", erasure], env: ["CALLVAULT_CRASH_AT": "erase.after-quarantine-resolve"])
        #expect(killed.killed)
        #expect(try box.count("SELECT count(*) FROM rejections WHERE deleted_at IS NULL") == 0, "resolved before its files go")
        #expect(box.files(under: box.store + "/quarantine").contains { $0.contains(copy) }, "the folder is still there")
        #expect(try box.run(["ingest", "inbox"]).status == 0)
        #expect(!box.files(under: box.store + "/quarantine").contains { $0.contains(copy) }, "repair removed it")
        #expect(try box.state().rows == ["O1", "S3"])
    }

    /// An access bundle is a way out too: a stored file altered after ingest (same size) stops the export,
    /// leaves no half bundle, and the refusal is audited under the recording.
    @Test func anAccessExportRefusesAlteredAudio() throws {
        let box = try populated()
        let s1 = try #require(try box.recordingIDs()["S1"])
        let path = try box.catalog().read { db in try String.fetchOne(db, sql: "SELECT audio_path FROM recordings WHERE id = ?", arguments: [s1]) }!
        var bytes = try Data(contentsOf: URL(fileURLWithPath: box.store + "/" + path))
        bytes[200] ^= 0xFF
        try bytes.write(to: URL(fileURLWithPath: box.store + "/" + path))
        let req = try open(box, kind: "access", tenant: "acme-energy", reference: "DSR-ALTERED")
        let r = try box.run(["--as", "dpo", "request", "export", req, "--to", box.dir + "/out"])
        #expect(r.status == 1 && r.stderr.contains("no longer matches"), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: box.dir + "/out/DSR-ALTERED"), "no half bundle")
        #expect(try box.count("SELECT count(*) FROM audit_events WHERE action = 'recording.export_refused' AND target = '\(s1)'") == 1)
        #expect(try box.count("SELECT count(*) FROM audit_events WHERE action = 'request.exported'") == 0)
    }

    /// S2's caller (subject B) restricted it for a legal claim; the callee (subject A) asks for erasure. The call
    /// is kept, as under a hold: the plan says why and names B's request, and lifting B's restriction erases it.
    @Test func anotherSubjectsLegalClaimsRestrictionKeepsTheCallFromAnErasure() throws {
        let box = try populated()
        let claim = try open(box, kind: "restriction", subjects: ["+3225550000"], tenant: "acme-energy")
        #expect(try ok(box, ["request", "restrict", claim, "--ground", "legal-claims"])["calls"] as? Int == 1)
        let ids = try box.recordingIDs()
        let req = try open(box, kind: "erasure", tenant: "acme-energy")

        let plan = try ok(box, ["request", "erase", req, "--dry-run"])["calls"] as! [[String: Any]]
        let s2 = try #require(plan.first { $0["recording_id"] as? String == ids["S2"] })
        #expect(s2["action"] as? String == "kept_for_legal_claims", "\(plan)")
        #expect(s2["restricted_by"] as? [String] == [claim])
        let human = try box.run(["--as", "dpo", "request", "erase", req, "--dry-run"])
        #expect(human.stdout.contains("legal claims") && human.stdout.contains(claim), "\(human.stdout)")

        _ = try ok(box, ["request", "erase", req])
        #expect(try box.state().rows == ["O1", "S2", "S3"], "S2 kept; S1 and S4 erased")
        // Lifting B's restriction lets A's erasure reach S2 in the same step.
        _ = try ok(box, ["request", "restrict", claim, "--lift", "--subject-informed"])
        #expect(try box.state().rows == ["O1", "S3"], "erased once the legal claim no longer needs it")
        #expect(try box.count("SELECT count(*) FROM erased_calls") == 3)
    }

    /// A reference made of digits may be the subject's number typed into the wrong field: it would go verbatim
    /// into the append-only audit log and name the bundle's folder.
    @Test(arguments: ["0470123456", "0470.12.34.56", "3247012345"])
    func aReferenceOfDigitsOnlyIsRefused(reference: String) throws {
        let box = try populated()
        let r = try box.run(["--as", "dpo", "request", "open", "--kind", "access", "--subject", Self.subject, "--received", shifted("2026-11-20"),
                             "--reference", reference])
        #expect(r.status == 2, "\(r.stdout)")
        #expect(r.stderr.contains("case reference") && !r.stderr.contains(reference), "\(r.stderr)")
        #expect(try box.count("SELECT count(*) FROM requests") == 0)
        #expect(try box.count("SELECT count(*) FROM audit_events WHERE details LIKE '%\(reference)%'") == 0)
        // A case reference with a number in it is fine.
        _ = try open(box, kind: "access", tenant: "acme-energy", reference: "DSR-2026-042")
    }

    /// A lost subject.key is never replaced while the register holds hashes made with it: every request would be
    /// orphaned and every erased call could come back. Restored, everything works again.
    @Test func aLostSubjectKeyIsAVaultFailureNotANewKey() throws {
        let box = try populated()
        let req = try open(box, kind: "erasure", tenant: "acme-energy")
        let keyPath = box.store + "/subject.key"
        let saved = try Data(contentsOf: URL(fileURLWithPath: keyPath))
        try FileManager.default.removeItem(atPath: keyPath)

        for args in [["request", "open", "--kind", "access", "--tenant", "acme-energy", "--subject", Self.subject, "--received", shifted("2026-11-20"), "--reference", "R-2"],
                     ["request", "find", req, "--subject", Self.subject], ["request", "erase", req]] {
            let r = try box.run(["--as", "dpo"] + args)
            #expect(r.status == 1, "\(args): \(r.stderr)")
            #expect(r.stderr.contains("subject.key is missing") && r.stderr.contains("restore it from the store's backup"), "\(r.stderr)")
            #expect(!FileManager.default.fileExists(atPath: keyPath), "no new key was made")
        }
        #expect(try box.state().rows == ["O1", "S1", "S2", "S3", "S4"], "the refused erasure removed nothing")
        #expect(try box.catalogDiskMismatches().isEmpty)
        #expect(try box.count("SELECT count(*) FROM requests") == 1)

        try saved.write(to: URL(fileURLWithPath: keyPath))
        chmod(keyPath, 0o600)
        _ = try ok(box, ["request", "erase", req])
        #expect(try box.state().rows == ["O1", "S3"])
    }
}
