// Hearing the announcement in the audio, through ingest and `announcement check`, with real speech fixtures.
import CallVaultAudio
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
        let report = try box.run(["report", "--json", "--from", shifted("2026-11-01"), "--to", shifted("2026-11-30")]).json()
        let acme = (report["tenants"] as! [[String: Any]]).first { $0["tenant"] as? String == "acme-energy" }!
        #expect(acme["announcement_verified_rate"] as? Double == 0.5)
        #expect(acme["announcement_compliance"] as? Double == 0.5)
        let queues = acme["queues"] as! [[String: Any]]
        #expect(queues.count == 1 && queues[0]["queue"] as? String == "billing" && queues[0]["announcement_verified_rate"] as? Double == 0.5)
    }

    /// SPEC §17: a prompt that stops in mid-call is stored for review under enforce — not refused, not heard. Coaches
    /// do not get it until an officer listened and decided; the decision and its note are kept and audited (the
    /// note is not in the audit); the report counts each verdict.
    @Test func aBargeInIsStoredForReviewHiddenFromCoachesUntilAnOfficerDecides() throws {
        let box = try store(verify: "enforce")
        try drop(box, "announced", audio: "inbox/acme-energy/call-0001.wav")
        try drop(box, "barge-in", audio: "announcement/barge-in.wav")
        try drop(box, "barge-in-2", audio: "announcement/barge-in.wav")
        try drop(box, "silent-ivr", audio: "announcement/no-announcement.wav")
        let r = try box.run(["ingest", "--json", "inbox"])
        #expect(outcomes(try r.json()) == ["announced.wav": "stored", "barge-in.wav": "stored", "barge-in-2.wav": "stored",
                                           "silent-ivr.wav": "announcement_not_detected"])
        #expect(try row(box, "barge-in")?["announcement_verified"] as String? == "review")
        let ids = try box.recordingIDs()

        // Hidden from the coach: not listed, not shown.
        let coach = try box.run(["--as", "coach-an", "list", "--json"]).json()["recordings"] as! [[String: Any]]
        #expect(coach.map { $0["call_id"] as! String } == ["announced"])
        #expect(try box.run(["--as", "coach-an", "show", ids["barge-in"]!]).status == 3)

        // The review list: officers only, oldest first, where to listen from.
        #expect(try box.run(["--as", "coach-an", "announcement", "review", "list"]).status == 3)
        let list = try box.run(["announcement", "review", "list", "--json"])
        #expect(list.status == 0, "\(list.stderr)")
        let calls = try list.json()["calls"] as! [[String: Any]]
        #expect(Set(calls.map { $0["recording_id"] as! String }) == [ids["barge-in"]!, ids["barge-in-2"]!])
        for c in calls {
            #expect(c["reason"] as? String == "partial")
            #expect((c["offset_ms"] as? Int ?? 9999) < 100, "the prompt starts the call")
            #expect((c["matched_share"] as? Double ?? 1) < 1, "only a part of the prompt")
        }
        // More than listed is said, not hidden.
        let first = try box.run(["announcement", "review", "list", "--json", "--limit", "1"]).json()
        #expect((first["calls"] as? [Any])?.count == 1 && first["more"] as? Bool == true)
        #expect(try box.run(["announcement", "review", "list", "--json"]).json()["more"] as? Bool == false)
        #expect(try box.run(["announcement", "review", "list", "--limit", "1"]).stdout.contains("more calls await review"))
        let human = try box.run(["announcement", "review", "list"])
        #expect(human.stdout.contains(ids["barge-in"]!) && human.stdout.contains("partial"))

        // Deciding needs a note and one of the two verdicts.
        #expect(try box.run(["announcement", "review", "decide", ids["barge-in"]!, "heard", "--note", "  "]).status == 2)
        #expect(try box.run(["announcement", "review", "decide", ids["barge-in"]!, "maybe", "--note", "x"]).status == 2)
        #expect(try box.run(["--as", "coach-an", "announcement", "review", "decide", ids["barge-in"]!, "heard", "--note", "x"]).status == 3)
        let decided = try box.run(["announcement", "review", "decide", ids["barge-in"]!, "heard", "--note", "Prompt heard to the word 'opgenomen'; caller answered"])
        #expect(decided.status == 0, "\(decided.stderr)")
        #expect(try box.run(["announcement", "review", "decide", ids["barge-in-2"]!, "not_heard", "--note", "Agent talked over the notice"]).status == 0)
        // Decided once: a second decision is refused.
        let again = try box.run(["announcement", "review", "decide", ids["barge-in"]!, "not_heard", "--note", "changed my mind"])
        #expect(again.status == 2 && again.stderr.contains("not awaiting review"))

        #expect(try row(box, "barge-in")?["announcement_verified"] as String? == "yes")
        #expect(try row(box, "barge-in")?["announcement_review_note"] as String? == "Prompt heard to the word 'opgenomen'; caller answered")
        #expect(try row(box, "barge-in-2")?["announcement_verified"] as String? == "no")
        // The decision shows with the call, to officers: who, when, the note; a coach is told none of it.
        let shown = try box.run(["show", "--json", ids["barge-in"]!]).json()["announcement_review"] as? [String: Any]
        #expect(shown?["note"] as? String == "Prompt heard to the word 'opgenomen'; caller answered" && shown?["decided_by"] is String)
        #expect(try box.run(["--as", "coach-an", "show", "--json", ids["barge-in"]!]).json()["announcement_review"] == nil)
        let afterCoach = try box.run(["--as", "coach-an", "list", "--json"]).json()["recordings"] as! [[String: Any]]
        #expect(Set(afterCoach.map { $0["call_id"] as! String }) == ["announced", "barge-in"])
        #expect((try box.run(["announcement", "review", "list", "--json"]).json()["calls"] as! [Any]).isEmpty)

        // Audited: who decided what, never the note.
        let events = try box.catalog().read { db in
            try SQLRow.fetchAll(db, sql: "SELECT actor, target, details FROM audit_events WHERE action = 'announcement.reviewed' ORDER BY seq")
        }
        #expect(events.count == 2)
        #expect(events.map { $0["target"] as String } == [ids["barge-in"]!, ids["barge-in-2"]!])
        #expect((events[0]["details"] as String).contains("\"decision\":\"heard\""))
        #expect(!events.contains { ($0["details"] as String).contains("opgenomen") || ($0["details"] as String).contains("talked") })

        // The report counts each verdict, for the tenant and its queue.
        let report = try box.run(["report", "--json", "--from", shifted("2026-11-01"), "--to", shifted("2026-11-30")]).json()
        let acme = (report["tenants"] as! [[String: Any]]).first { $0["tenant"] as? String == "acme-energy" }!
        #expect(acme["announcement_verdicts"] as? [String: Int] == ["heard": 2, "not_heard": 1, "review": 0, "not_checked": 0])
        #expect((acme["rejected"] as? [String: Int])?["announcement_not_detected"] == 1)
        let queue = (acme["queues"] as! [[String: Any]]).first!
        #expect(queue["announcement_verdicts"] as? [String: Int] == ["heard": 2, "not_heard": 1, "review": 0])
    }

    @Test func theCheckCommandSaysReviewForABargeInAndNotHeardForANearMiss() throws {
        let box = try store(verify: "enforce")
        let barge = try box.run(["announcement", "check", "--json", "--tenant", "acme-energy", Sandbox.fixtures + "/announcement/barge-in.wav"])
        #expect(barge.status == 0, "\(barge.stderr)")
        let b = try barge.json()
        #expect(b["verdict"] as? String == "review" && b["review_reason"] as? String == "partial" && b["detected"] as? Bool == false)
        let human = try box.run(["announcement", "check", "--tenant", "acme-energy", Sandbox.fixtures + "/announcement/barge-in.wav"])
        #expect(human.stdout.contains("announcement to review") && human.stdout.contains("stops in mid-call"))
        let whole = try box.run(["announcement", "check", "--json", "--tenant", "acme-energy", Sandbox.fixtures + "/inbox/acme-energy/call-0001.wav"]).json()
        #expect(whole["verdict"] as? String == "heard" && whole["detected"] as? Bool == true)
    }

    /// A mono 16-bit 8 kHz WAV of `samples`.
    func wav(_ samples: [Float], to path: String) throws {
        var d = Data()
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { d.append(contentsOf: $0) } }
        func u16(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { d.append(contentsOf: $0) } }
        d.append(contentsOf: Array("RIFF".utf8)); u32(UInt32(36 + samples.count * 2)); d.append(contentsOf: Array("WAVEfmt ".utf8))
        u32(16); u16(1); u16(1); u32(8000); u32(16000); u16(2); u16(16)
        d.append(contentsOf: Array("data".utf8)); u32(UInt32(samples.count * 2))
        for x in samples { u16(UInt16(bitPattern: Int16(max(-1, min(1, x)) * 32767))) }
        try d.write(to: URL(fileURLWithPath: path))
    }

    /// SPEC §17: `audio check` gives both checks; the hold check finds the registered track wherever it starts,
    /// looping, and not music that is not registered.
    @Test func audioCheckGivesTheAnnouncementAndTheHeldSegments() throws {
        let box = try store(verify: "warn")
        try FileManager.default.createDirectory(atPath: box.store + "/moh", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: Sandbox.fixtures + "/moh/acme-loop.wav", toPath: box.store + "/moh/acme-loop.wav")
        var config = try String(contentsOfFile: box.store + "/callvault.toml", encoding: .utf8)
        config = config.replacingOccurrences(of: "[tenants.acme-energy]\n", with: "[tenants.acme-energy]\nhold_music = { tracks = [\"moh/acme-loop.wav\"], policy = \"off\" }\n")
        try config.write(toFile: box.store + "/callvault.toml", atomically: true, encoding: .utf8)
        let read = { (p: String) in try PCMReader.read(path: Sandbox.fixtures + "/" + p, maxSeconds: 600, rate: 8000).channels[0] }
        let call = try read("inbox/acme-energy/call-0001.wav"), track = try read("moh/acme-loop.wav"), radio = try read("moh/radio.wav")
        // The announced call, then 30 s of the track from 11 s into it (it loops), then the call's talk again.
        let held = (0..<240_000).map { track[(88_000 + $0) % track.count] }
        try wav(call + held + call, to: box.dir + "/held.wav")
        try wav(call + radio + radio + call, to: box.dir + "/radio.wav")

        let r = try box.run(["audio", "check", "--json", "--tenant", "acme-energy", box.dir + "/held.wav"])
        #expect(r.status == 0, "\(r.stderr)")
        let o = try r.json()
        #expect((o["announcement"] as? [String: Any])?["verdict"] as? String == "heard")
        let segments = o["on_hold"] as? [[String: Any]] ?? []
        #expect(segments.count == 1, "\(segments)")
        let start = Double(call.count) / 8000
        #expect(segments.first?["track"] as? String == "acme-loop")
        #expect(abs((segments.first?["start_s"] as? Double ?? 0) - start) <= 1)
        #expect(abs((segments.first?["end_s"] as? Double ?? 0) - (start + 30)) <= 2)
        let human = try box.run(["audio", "check", "--tenant", "acme-energy", box.dir + "/held.wav"])
        #expect(human.stdout.contains("announcement: heard") && human.stdout.contains("acme-loop"), "\(human.stdout)")

        let other = try box.run(["audio", "check", "--json", "--tenant", "acme-energy", box.dir + "/radio.wav"]).json()
        #expect((other["on_hold"] as? [Any])?.isEmpty == true, "music that is not registered: \(other)")
        // Officers only; a tenant with neither check configured is told so.
        #expect(try box.run(["--as", "coach-an", "audio", "check", "--tenant", "acme-energy", box.dir + "/held.wav"]).status == 3)
        let none = try box.run(["audio", "check", "--tenant", "telco-be", box.dir + "/held.wav"])
        #expect(none.status == 2 && none.stderr.contains("hold_music.tracks"))
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
