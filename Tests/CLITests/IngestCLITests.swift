// Black-box tests of `callvault init` and `callvault ingest` over the sample inbox.
import CallVaultTesting
import Foundation
import CallVaultStore
import Testing

/// The outcome every fixture input must get (SPEC §3), by audio (or lone sidecar) file name.
let expectedOutcomes: [String: String] = [
    "call-0001.wav": "stored", "call-0002.wav": "stored", "call-0003.wav": "stored",
    "call-1001.wav": "stored", "call-1002.flac": "stored", "call-1003.wav": "stored",
    "bad-sidecar-missing.wav": "sidecar_missing", "bad-audio-missing.json": "audio_missing",
    "bad-too-large.wav": "too_large", "bad-sidecar-invalid.wav": "sidecar_invalid",
    "bad-unsafe-name.wav": "unsafe_name", "bad-tenant-unknown.wav": "tenant_unknown",
    "bad-timestamp.wav": "timestamp_invalid", "bad-announcement-missing.wav": "announcement_missing",
    "bad-audio-unreadable.wav": "audio_unreadable", "bad-audio-empty.wav": "audio_empty",
    "bad-audio-truncated.wav": "audio_truncated", "bad-duration-mismatch.wav": "duration_mismatch",
    "zz-duplicate-conflict.wav": "duplicate_conflict",
]

func outcomes(_ json: [String: Any]) -> [String: String] {
    var o: [String: String] = [:]
    for s in json["stored"] as? [[String: Any]] ?? [] { o[URL(fileURLWithPath: s["input"] as! String).lastPathComponent] = "stored" }
    for s in json["duplicates"] as? [[String: Any]] ?? [] { o[URL(fileURLWithPath: s["input"] as! String).lastPathComponent] = "duplicate" }
    for s in json["rejected"] as? [[String: Any]] ?? [] { o[URL(fileURLWithPath: s["input"] as! String).lastPathComponent] = s["reason"] as? String }
    return o
}

@Suite struct IngestCLITests {
    @Test func sampleInboxGetsExactlyTheExpectedOutcomes() throws {
        let box = Sandbox()
        try box.initStore()
        try box.copyFixtures()
        let r = try box.run(["ingest", "--json", "inbox"])
        #expect(r.status == 4, "some inputs are rejected: exit 4")
        #expect(outcomes(try r.json()) == expectedOutcomes)

        // Only the incomplete halves stay in the inbox; every other input moved to the store or quarantine.
        #expect(box.files(under: box.inbox) == ["acme-energy/bad-audio-missing.json", "acme-energy/bad-sidecar-missing.wav"])
        #expect(try box.count("SELECT count(*) FROM recordings") == 6)
        #expect(try box.count("SELECT count(*) FROM rejections") == 11)
        #expect(try box.catalog().read { try Sandbox.integrityCheck($0) } == "ok")

        // Each stored row points to a file that exists; no other file is in audio/.
        let paths = try box.catalog().read { try String.fetchAll($0, sql: "SELECT audio_path FROM recordings ORDER BY audio_path") }
        #expect(box.files(under: box.store + "/audio").map { "audio/" + $0 } == paths)

        // Each quarantined pair lies with a reason.json naming its code.
        let rejected = (try r.json()["rejected"] as? [[String: Any]] ?? []).filter { $0["quarantine"] is String }
        #expect(rejected.count == 11)
        for item in rejected {
            let dir = box.store + "/" + (item["quarantine"] as! String)
            let reason = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/reason.json"))) as! [String: Any]
            #expect(reason["reason"] as? String == item["reason"] as? String)
            let names = box.files(under: dir)
            #expect(names.contains("files/" + URL(fileURLWithPath: item["input"] as! String).lastPathComponent), "inputs under files/")
            #expect(names.count == 3, "audio, sidecar and reason.json")
        }
    }

    @Test func reingestGivesOnlyDuplicates() throws {
        let box = Sandbox()
        try box.initStore()
        let good = ["acme-energy/call-0001.wav", "acme-energy/call-0001.json", "telco-be/call-1002.flac", "telco-be/call-1002.json"]
        try box.copyFixtures(good)
        let first = try box.run(["ingest", "--json", "inbox"])
        #expect(first.status == 0)
        let ids = (try first.json()["stored"] as? [[String: Any]] ?? []).map { $0["recording_id"] as! String }.sorted()
        #expect(ids.count == 2)
        try box.copyFixtures(good)
        let again = try box.run(["ingest", "--json", "inbox"])
        #expect(again.status == 0)
        let json = try again.json()
        #expect((json["stored"] as? [Any])?.count == 0)
        #expect((json["duplicates"] as? [[String: Any]] ?? []).map { $0["recording_id"] as! String }.sorted() == ids)
        #expect(box.files(under: box.inbox).isEmpty)
        #expect(try box.count("SELECT count(*) FROM recordings") == 2)
    }

    /// Checks run concurrently, verdicts in order: one call delivered three times in one batch is stored once,
    /// then a duplicate (same bytes), then a conflict (other audio) — as in three runs — and no staged copy is left.
    @Test func oneCallThreeTimesInOneBatchIsDecidedInOrder() throws {
        let box = Sandbox()
        try box.initStore()
        try box.addCall(callID: "twice", startedAt: "2026-11-20T10:00:00+01:00")
        let dir = box.inbox + "/acme-energy/"
        for (name, audio) in [("u1-twice", "call-0001.wav"), ("u2-twice", "call-0002.wav")] {
            try FileManager.default.copyItem(atPath: Sandbox.fixtures + "/inbox/acme-energy/" + audio, toPath: dir + name + ".wav")
            try FileManager.default.copyItem(atPath: dir + "twice.json", toPath: dir + name + ".json")
        }
        let r = try box.run(["ingest", "--json", "inbox"])
        #expect(outcomes(try r.json()) == ["twice.wav": "stored", "u1-twice.wav": "duplicate", "u2-twice.wav": "duplicate_conflict"])
        #expect(try box.count("SELECT count(*) FROM recordings") == 1)
        #expect(box.files(under: box.store + "/staging").isEmpty)
        #expect(box.files(under: box.inbox).isEmpty)
    }

    @Test func storedRecordingKeepsMetadataAndExpiry() throws {
        let box = Sandbox()
        try box.initStore()
        try box.copyFixtures(["acme-energy/call-0001.wav", "acme-energy/call-0001.json"])
        let sidecar = try #require(FileManager.default.contents(atPath: box.inbox + "/acme-energy/call-0001.json"))
        #expect(try box.run(["ingest", "inbox"]).status == 0)
        let row = try box.catalog().read { try SQLRow.fetchOne($0, sql: "SELECT * FROM recordings")! }
        // The sidecar as the recorder wrote it is kept with the call, byte for byte, under a name of the store's.
        let native = box.store + "/" + Placement.nativeFolder(forAudioPath: row["audio_path"]) + "/sidecar.json"
        #expect(FileManager.default.contents(atPath: native) == sidecar)
        #expect(box.files(under: box.store + "/native").count == 1)
        #expect(row["tenant"] as String == "acme-energy")
        #expect(row["call_id"] as String == "pbx1-1732180443.4711")
        #expect(row["format"] as String == "wav/ulaw")
        #expect(row["sample_rate"] as Int == 8000)
        // The sample call of 2026-11-20 10:14:03 in Brussels, moved to two days ago by `copyFixtures`.
        let started = TestDays.instant(shifted("2026-11-20T10:14:03+01:00"))
        #expect(row["started_at"] as String == isoUTC(started))
        // P1M and P6M on the Brussels wall clock: 10:14 local stays 10:14 local across a DST change.
        #expect(row["audio_expires_at"] as String == isoUTC(TestDays.adding(months: 1, to: started)))
        #expect(row["metadata_expires_at"] as String == isoUTC(TestDays.adding(months: 6, to: started)))
        #expect(row["extra"] as String == #"{"pbx_node":"ast-02"}"#)
        #expect(row["announcement_verified"] as String == "not_checked")
        // The audit event names ids only: no phone number.
        let details = try box.catalog().read { try String.fetchAll($0, sql: "SELECT details FROM audit_events") }.joined()
        #expect(!details.contains("+32470123456"))
        #expect(details.contains("pbx1-1732180443.4711"))
    }

    @Test func storeIsPrivate() throws {
        let box = Sandbox()
        try box.initStore()
        try box.copyFixtures()
        _ = try box.run(["ingest", "inbox"])
        let fm = FileManager.default
        for rel in try fm.subpathsOfDirectory(atPath: box.store) + [""] {
            let path = box.store + "/" + rel
            let mode = (try fm.attributesOfItem(atPath: path)[.posixPermissions] as! NSNumber).intValue
            #expect(mode == (box.isDir(path) ? 0o700 : 0o600), "\(rel) has mode \(String(mode, radix: 8))")
        }
    }

    @Test func vaultFailureLeavesInputsUntouched() throws {
        let box = Sandbox()
        try box.initStore()
        // A file where the tenant's audio folder must go: every placement fails like an I/O error would.
        _ = FileManager.default.createFile(atPath: box.store + "/audio/acme-energy", contents: Data())
        try box.copyFixtures(["acme-energy/call-0001.wav", "acme-energy/call-0001.json"])
        let before = box.files(under: box.inbox)
        let r = try box.run(["ingest", "inbox"])
        #expect(r.status == 1)
        #expect(r.stderr.hasPrefix("callvault: cannot create directory"))
        #expect(r.stderr.split(separator: "\n").count == 1)
        #expect(box.files(under: box.inbox) == before)
        #expect(try box.count("SELECT count(*) FROM recordings") == 0)
        #expect(try box.count("SELECT count(*) FROM pending_placements") == 0)
        #expect(box.files(under: box.store + "/audio") == ["acme-energy"], "nothing placed beside the obstacle")
    }

    @Test func missingStoreAndUsageErrorsExitTwo() throws {
        let box = Sandbox()
        let r = try box.run(["ingest", "inbox"])
        #expect(r.status == 2)
        #expect(r.stderr.contains("no store at"))
        try box.initStore()
        #expect(try box.run(["ingest", "does-not-exist"]).status == 2)
        #expect(try box.run(["init", "--tenant", "acme-energy"]).status == 2, "a second init over a store is refused")
        #expect(try box.run(["init", "--store", box.dir + "/other", "--tenant", "Bad/Name"]).status == 2)
    }

    @Test(arguments: [
        ("[retention]\naudio = \"P7M\"\n", "retention.audio"),
        ("[retention]\naudio = \"one month\"\n", "retention.audio"),
        ("[users.x]\nrole = \"boss\"\n", "users.x.role"),
        ("colour = \"blue\"\n", "colour: unknown key"),
        ("[tenants.acme]\nretention = { audio = \"P2M\", metadata = \"P1M\" }\n", "tenants.acme.retention.audio"),
        ("[tenants.acme]\ntime_zone = \"Mars/Olympus\"\n", "tenants.acme.time_zone"),
        ("[tenants.acme]\nchannels = [\"agent\", \"boss\"]\n", "tenants.acme.channels"),
        ("[tenants.acme]\nchannels = []\n", "tenants.acme.channels"),
        ("[tenants.acme]\nhold_music = { tracks = [\"moh/missing.wav\"] }\n", "tenants.acme.hold_music.tracks: moh/missing.wav: cannot read"),
        ("[tenants.acme]\nhold_music = { tracks = [], policy = \"mute\" }\n", "tenants.acme.hold_music.policy"),
        // A policy that promises a check needs something to check with.
        ("[tenants.acme]\nhold_music = { tracks = [], policy = \"redact\" }\n", "tenants.acme.hold_music.tracks: policy is redact but no track is configured"),
        ("[tenants.acme]\nhold_music = { tracks = [], colour = \"x\" }\n", "tenants.acme.hold_music.colour"),
    ])
    func brokenConfigurationIsRefusedNamingTheKey(config: String, key: String) throws {
        let box = Sandbox()
        try box.initStore()
        try config.write(toFile: box.store + "/callvault.toml", atomically: true, encoding: .utf8)
        try box.copyFixtures(["acme-energy/call-0001.wav", "acme-energy/call-0001.json"])
        let r = try box.run(["ingest", "inbox"])
        #expect(r.status == 2)
        #expect(r.stderr.contains(key), "\(r.stderr)")
        #expect(r.stderr.split(separator: "\n").count == 1)
        #expect(box.files(under: box.inbox).count == 2)
    }

    @Test func aFileGivenDirectlyIsPairedWithItsPartnerWhateverTheCaseOfTheExtension() throws {
        let box = Sandbox()
        try box.initStore()
        try FileManager.default.createDirectory(atPath: box.inbox + "/acme-energy", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: Sandbox.fixtures + "/inbox/acme-energy/call-0001.wav", toPath: box.inbox + "/acme-energy/REC1.WAV")
        try FileManager.default.copyItem(atPath: Sandbox.fixtures + "/inbox/acme-energy/call-0001.json", toPath: box.inbox + "/acme-energy/REC1.JSON")
        let r = try box.run(["ingest", "--json", "inbox/acme-energy/REC1.WAV"])
        #expect(r.status == 0, "\(r.stdout) \(r.stderr)")
        #expect(outcomes(try r.json()) == ["REC1.WAV": "stored"])
        #expect(box.files(under: box.inbox).isEmpty)
    }

    @Test func aTenantFolderGivenDirectlyGivesItsTenant() throws {
        let box = Sandbox()
        try box.initStore()
        // call-1003's sidecar names no tenant: only its folder does.
        try box.copyFixtures(["telco-be/call-1003.wav", "telco-be/call-1003.json"])
        let r = try box.run(["ingest", "--json", "inbox/telco-be"])
        #expect(r.status == 0, "\(r.stdout)")
        #expect((try r.json()["stored"] as? [[String: Any]])?.first?["tenant"] as? String == "telco-be")
    }

    @Test func loneHalvesAreReportedAndLeftInPlace() throws {
        let box = Sandbox()
        try box.initStore()
        try box.copyFixtures(["acme-energy/bad-sidecar-missing.wav", "acme-energy/bad-audio-missing.json"])
        let r = try box.run(["ingest", "--json", "inbox"])
        #expect(r.status == 4)
        #expect(outcomes(try r.json()) == ["bad-sidecar-missing.wav": "sidecar_missing", "bad-audio-missing.json": "audio_missing"])
        #expect(box.files(under: box.inbox).count == 2)
    }
}
