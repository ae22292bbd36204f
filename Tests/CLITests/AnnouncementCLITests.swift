// Hearing the announcement in the audio, through ingest and `announcement check`, with real speech fixtures.
import CallVaultTesting
import Foundation
import CallVaultStore
import Testing

@Suite struct AnnouncementCLITests {
    /// A store whose tenant acme-energy verifies with the nl prompt (as 16 kHz FLAC) and the fr prompt.
    func store(verify: String, prompts: [String] = ["rec-notice-nl-v3-16k.flac", "rec-notice-fr-v1.wav"]) throws -> Sandbox {
        let box = Sandbox()
        try box.initStore()
        try FileManager.default.createDirectory(atPath: box.store + "/prompts", withIntermediateDirectories: true)
        for p in ["rec-notice-nl-v3-16k.flac", "rec-notice-fr-v1.wav"] {
            try FileManager.default.copyItem(atPath: Sandbox.fixtures + "/prompts/" + p, toPath: box.store + "/prompts/" + p)
        }
        var config = try String(contentsOfFile: box.store + "/callvault.toml", encoding: .utf8)
        config = config.replacingOccurrences(of: "[tenants.acme-energy]\nretention = { audio = \"P1M\", metadata = \"P6M\" }", with: """
            [tenants.acme-energy]
            retention = { audio = "P1M", metadata = "P6M" }
            announcement = { verify = "\(verify)", window = "PT20S", prompts = [\(prompts.map { "\"prompts/\($0)\"" }.joined(separator: ", "))] }
            """)
        config += "\n[users.coach-an]\nrole = \"coach\"\ntenants = [\"acme-energy\"]\n"
        try config.write(toFile: box.store + "/callvault.toml", atomically: true, encoding: .utf8)
        return box
    }

    /// A call whose audio is `audio` (relative to fixtures/), announced by its sidecar.
    func drop(_ box: Sandbox, _ callID: String, audio: String) throws {
        let dir = box.inbox + "/acme-energy"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: Sandbox.fixtures + "/" + audio, toPath: dir + "/" + callID + ".wav")
        let sidecar: [String: Any] = ["schema": "callvault.call/1", "call_id": callID, "started_at": shifted("2026-11-20T10:00:00+01:00"),
                                      "direction": "inbound", "agent": ["id": "a-1"], "queue": "billing", "announcement": ["played": true]]
        try JSONSerialization.data(withJSONObject: sidecar).write(to: URL(fileURLWithPath: dir + "/" + callID + ".json"))
    }

    func row(_ box: Sandbox, _ callID: String) throws -> SQLRow? {
        try box.catalog().read { try SQLRow.fetchOne($0, sql: "SELECT * FROM recordings WHERE call_id = ?", arguments: [callID]) }
    }

    @Test func enforceRejectsACallWithoutTheAnnouncementAndRecordsTheMatch() throws {
        let box = try store(verify: "enforce")
        try drop(box, "announced", audio: "inbox/acme-energy/call-0001.wav")
        try drop(box, "silent-ivr", audio: "announcement/no-announcement.wav")
        let r = try box.run(["ingest", "--json", "inbox"])
        #expect(r.status == 4)
        #expect(outcomes(try r.json()) == ["announced.wav": "stored", "silent-ivr.wav": "announcement_not_detected"])
        let stored = try #require(try row(box, "announced"))
        #expect(stored["announcement_verified"] as String == "yes")
        #expect(stored["announcement_match"] as String == "rec-notice-nl-v3-16k")
        #expect((stored["announcement_offset_ms"] as Int) < 100)
        #expect((stored["announcement_score"] as Double) > 0.8)
        let rejected = (try r.json()["rejected"] as! [[String: Any]]).first!
        #expect((rejected["detail"] as! String).contains("first 20 s"))
    }

    @Test func warnStoresAndMarksItAndCoachesDoNotSeeIt() throws {
        let box = try store(verify: "warn")
        try drop(box, "announced", audio: "inbox/acme-energy/call-0001.wav")
        try drop(box, "silent-ivr", audio: "announcement/no-announcement.wav")
        #expect(try box.run(["ingest", "inbox"]).status == 0)
        #expect(try row(box, "silent-ivr")?["announcement_verified"] as String? == "no")
        // Officers see the verdict in the listing; coaches never get a contradicted recording.
        let all = try box.run(["list", "--json"]).json()["recordings"] as! [[String: Any]]
        #expect(Dictionary(uniqueKeysWithValues: all.map { ($0["call_id"] as! String, $0["announcement_verified"] as! String) })
                == ["announced": "yes", "silent-ivr": "no"])
        let coach = try box.run(["--as", "coach-an", "list", "--json"]).json()["recordings"] as! [[String: Any]]
        #expect(coach.map { $0["call_id"] as! String } == ["announced"])
        // The report shows the verified rate per tenant and per queue.
        let report = try box.run(["report", "--json", "--from", shifted("2026-11-01"), "--to", shifted("2026-12-01")]).json()
        let acme = (report["tenants"] as! [[String: Any]]).first { $0["tenant"] as? String == "acme-energy" }!
        #expect(acme["announcement_verified_rate"] as? Double == 0.5)
        #expect(acme["announcement_compliance"] as? Double == 0.5)
        let queues = acme["queues"] as! [[String: Any]]
        #expect(queues.count == 1 && queues[0]["queue"] as? String == "billing" && queues[0]["announcement_verified_rate"] as? Double == 0.5)
    }

    @Test func offStoresWithoutChecking() throws {
        let box = try store(verify: "off")
        try drop(box, "silent-ivr", audio: "announcement/no-announcement.wav")
        #expect(try box.run(["ingest", "inbox"]).status == 0)
        #expect(try row(box, "silent-ivr")?["announcement_verified"] as String? == "not_checked")
    }

    @Test func checkFindsThePromptOnTheSecondChannelAndStoresNothing() throws {
        let box = try store(verify: "enforce")
        let r = try box.run(["announcement", "check", "--json", "--tenant", "acme-energy", Sandbox.fixtures + "/announcement/stereo-announcement-on-channel-2.wav"])
        #expect(r.status == 0, "\(r.stderr)")
        let j = try r.json()
        #expect(j["detected"] as? Bool == true)
        #expect(j["prompt"] as? String == "rec-notice-nl-v3-16k")
        #expect(j["channel"] as? Int == 1)
        #expect(abs((j["offset_ms"] as? Int ?? 0) - 3000) <= 50)
        #expect((j["score"] as? Double ?? 0) >= 0.5)
        let none = try box.run(["announcement", "check", "--json", "--tenant", "acme-energy", Sandbox.fixtures + "/announcement/no-announcement.wav"]).json()
        #expect(none["detected"] as? Bool == false)
        #expect(none["prompt"] is NSNull && none["offset_ms"] is NSNull && none["channel"] is NSNull)
        #expect((none["score"] as? Double ?? 1) < 0.5)
        #expect(try box.count("SELECT count(*) FROM recordings") == 0)
        #expect(try box.run(["announcement", "check", "--tenant", "telco-be", Sandbox.fixtures + "/announcement/no-announcement.wav"]).status == 2,
                "a tenant without prompts")
    }

    @Test func aRecordingThatStartedDuringThePromptIsHeardWithTheShareAndStored() throws {
        // fixtures/announcement/late-start.wav: the nl prompt's last 65 % from 0 s (make-late-start.sh).
        let box = try store(verify: "enforce")
        let r = try box.run(["announcement", "check", "--json", "--tenant", "acme-energy", Sandbox.fixtures + "/announcement/late-start.wav"])
        #expect(r.status == 0, "\(r.stderr)")
        let j = try r.json()
        #expect(j["detected"] as? Bool == true)
        #expect(j["prompt"] as? String == "rec-notice-nl-v3-16k")
        #expect((j["offset_ms"] as? Int ?? 999) <= 50)
        let share = j["matched_share"] as? Double ?? 0
        #expect(share >= 0.55 && share <= 0.75, "\(share)")
        #expect(abs((j["prompt_offset_ms"] as? Int ?? 0) - 1300) <= 300)
        let text = try box.run(["announcement", "check", "--tenant", "acme-energy", Sandbox.fixtures + "/announcement/late-start.wav"])
        #expect(text.stdout.contains("announcement heard: rec-notice-nl-v3-16k at 0.0 s on channel 0"), "\(text.stdout)")
        #expect(text.stdout.contains("% of it from"), "\(text.stdout)")
        // Ingest under enforce stores it, with the share heard in the row.
        try drop(box, "late", audio: "announcement/late-start.wav")
        #expect(try box.run(["ingest", "inbox"]).status == 0)
        let stored = try #require(try row(box, "late"))
        #expect(stored["announcement_verified"] as String == "yes")
        let storedShare = stored["announcement_share"] as Double
        #expect(storedShare >= 0.55 && storedShare <= 0.75)
        #expect(abs((stored["announcement_prompt_offset_ms"] as Int) - 1300) <= 300)
        // A whole prompt is stored whole.
        try drop(box, "whole", audio: "inbox/acme-energy/call-0001.wav")
        #expect(try box.run(["ingest", "inbox"]).status == 0)
        #expect(try row(box, "whole")?["announcement_share"] as Double? == 1)
    }

    @Test func aMinimumShareOutsideItsRangeIsAConfigurationError() throws {
        let box = try store(verify: "enforce")
        var config = try String(contentsOfFile: box.store + "/callvault.toml", encoding: .utf8)
        config = config.replacingOccurrences(of: "window = \"PT20S\",", with: "window = \"PT20S\", min_share = 0.1,")
        try config.write(toFile: box.store + "/callvault.toml", atomically: true, encoding: .utf8)
        let r = try box.run(["announcement", "check", "--tenant", "acme-energy", Sandbox.fixtures + "/announcement/late-start.wav"])
        #expect(r.status == 2)
        #expect(r.stderr.contains("tenants.acme-energy.announcement.min_share"), "\(r.stderr)")
    }

    @Test func aTenantCanAskForTheWholePrompt() throws {
        let box = try store(verify: "enforce")
        var config = try String(contentsOfFile: box.store + "/callvault.toml", encoding: .utf8)
        config = config.replacingOccurrences(of: "window = \"PT20S\",", with: "window = \"PT20S\", min_share = 0.9,")
        try config.write(toFile: box.store + "/callvault.toml", atomically: true, encoding: .utf8)
        let j = try box.run(["announcement", "check", "--json", "--tenant", "acme-energy", Sandbox.fixtures + "/announcement/late-start.wav"]).json()
        #expect(j["detected"] as? Bool == false)
        #expect(j["matched_share"] is NSNull)
    }

    @Test(arguments: ["missing.wav", "not-audio.wav"])
    func aMissingOrUnreadablePromptIsRefusedNamingIt(prompt: String) throws {
        let box = try store(verify: "enforce", prompts: ["rec-notice-fr-v1.wav", prompt])
        try "not audio".write(toFile: box.store + "/prompts/not-audio.wav", atomically: true, encoding: .utf8)
        try drop(box, "announced", audio: "inbox/acme-energy/call-0001.wav")
        let r = try box.run(["ingest", "inbox"])
        #expect(r.status == 2)
        #expect(r.stderr.contains("tenants.acme-energy.announcement.prompts: prompts/\(prompt)"), "\(r.stderr)")
        #expect(r.stderr.split(separator: "\n").count == 1)
        #expect(box.files(under: box.inbox).count == 2, "nothing taken")
    }
}
