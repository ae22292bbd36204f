// `callvault fixity` and `export` of altered evidence, through the real binary (issue 9, section 2; SPEC §12).
import CallVaultTesting
import Foundation
import CallVaultStore
import Testing
#if canImport(Glibc)
import Glibc
#endif

@Suite struct FixityCLITests {
    /// A store with three stored calls (two tenants), a coach and a compliance officer.
    func stored() throws -> Sandbox {
        let box = Sandbox()
        try box.initStore()
        let path = box.store + "/callvault.toml"
        let config = try String(contentsOfFile: path, encoding: .utf8) + """

            [users.coach-an]
            role = "coach"
            teams = ["billing-nl"]

            [users.dpo]
            role = "compliance"

            """
        try config.write(toFile: path, atomically: true, encoding: .utf8)
        try box.addCall(callID: "c1", startedAt: "2026-11-20T10:00:00+01:00")
        try box.addCall(callID: "c2", startedAt: "2026-11-20T11:00:00+01:00")
        try box.addCall(tenant: "telco-be", callID: "t1", startedAt: "2026-11-20T12:00:00+01:00", audio: "telco-be/call-1002.flac")
        let r = try box.run(["ingest", "inbox"])
        #expect(r.status == 0, "\(r.stderr)")
        return box
    }

    /// call_id → (recording id, store-relative audio path, bytes).
    func audio(_ box: Sandbox) throws -> [String: (id: String, path: String, bytes: Int)] {
        try box.catalog().read { db in
            var out: [String: (id: String, path: String, bytes: Int)] = [:]
            for r in try SQLRow.fetchAll(db, sql: "SELECT call_id, id, audio_path, audio_bytes FROM recordings") {
                out[r["call_id"]] = (r["id"], r["audio_path"], r["audio_bytes"])
            }
            return out
        }
    }

    func fixity(_ box: Sandbox, _ extra: [String] = []) throws -> (status: Int32, json: [String: Any], stderr: String) {
        let r = try box.run(["fixity", "--json"] + extra)
        #expect(!r.killed)
        return (r.status, try r.json(), r.stderr)
    }

    func fixityEvents(_ box: Sandbox) throws -> [[String: String]] {
        try box.catalog().read { db in
            try String.fetchAll(db, sql: "SELECT details FROM audit_events WHERE action = 'fixity.checked' ORDER BY seq").map {
                try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: String] ?? [:]
            }
        }
    }

    @Test func aCleanStoreMatchesWithCountsAndOneAuditEvent() throws {
        let box = try stored()
        let a = try audio(box)
        let r = try fixity(box)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(Set(r.json.keys) == ["checked", "bytes", "modified", "missing", "unexpected", "native_absent"])
        #expect(r.json["native_absent"] as? Int == 0)
        #expect(r.json["checked"] as? Int == 3)
        #expect(r.json["bytes"] as? Int == a.values.map(\.bytes).reduce(0, +))
        #expect((r.json["modified"] as? [String])?.isEmpty == true)
        #expect((r.json["missing"] as? [String])?.isEmpty == true)
        #expect((r.json["unexpected"] as? [String])?.isEmpty == true)
        let events = try fixityEvents(box)
        #expect(events.count == 1)
        #expect(events.first?["checked"] == "3" && events.first?["modified"] == "0" && events.first?["ok"] == "true")

        // Human output: a summary line, exit 0.
        let human = try box.run(["fixity"])
        #expect(human.status == 0)
        #expect(human.stdout.contains("3 file(s) checked") && human.stdout.contains("all match"))
        // Scoped runs read only their part.
        #expect(try fixity(box, ["--tenant", "telco-be"]).json["checked"] as? Int == 1)
        #expect(try fixity(box, ["--since", "2999-01-01"]).json["checked"] as? Int == 0)
        #expect(try fixity(box, ["--since", "2000-01-01"]).json["checked"] as? Int == 3)
    }

    @Test func modifiedMissingAndUnexpectedAreReportedWithExit1() throws {
        let box = try stored()
        let a = try audio(box)
        // c1: one byte appended; c2: one byte overwritten in place (same size); t1: removed.
        let c1 = try FileHandle(forWritingTo: URL(fileURLWithPath: box.store + "/" + a["c1"]!.path))
        try c1.seekToEnd()
        try c1.write(contentsOf: Data([0]))
        try c1.close()
        let c2 = try FileHandle(forWritingTo: URL(fileURLWithPath: box.store + "/" + a["c2"]!.path))
        try c2.seek(toOffset: 100)
        let original = try Data(contentsOf: URL(fileURLWithPath: box.store + "/" + a["c2"]!.path))[100]
        try c2.write(contentsOf: Data([original ^ 0xFF]))
        try c2.close()
        try FileManager.default.removeItem(atPath: box.store + "/" + a["t1"]!.path)
        // A stray file, a symlink and an in-flight-looking temporary name that no placement claims.
        let day = a["c1"]!.path.split(separator: "/").dropLast().joined(separator: "/")
        try Data("x".utf8).write(to: URL(fileURLWithPath: box.store + "/audio/acme-energy/stray.wav"))
        try FileManager.default.createSymbolicLink(atPath: box.store + "/" + day + "/link.wav", withDestinationPath: "/etc/passwd")
        try Data("y".utf8).write(to: URL(fileURLWithPath: box.store + "/" + day + "/.0000-fake.wav.tmp"))

        let r = try fixity(box)
        #expect(r.status == 1)
        #expect(Set(r.json["modified"] as? [String] ?? []) == [a["c1"]!.id, a["c2"]!.id])
        #expect(r.json["missing"] as? [String] == [a["t1"]!.id])
        #expect(Set(r.json["unexpected"] as? [String] ?? []) == ["audio/acme-energy/stray.wav", day + "/link.wav", day + "/.0000-fake.wav.tmp"])
        #expect(r.json["checked"] as? Int == 3)
        #expect(r.stderr.isEmpty, "no progress when stderr is not a terminal: \(r.stderr)")

        // The audit event has the counts and ids, never a path.
        let event = try fixityEvents(box).last ?? [:]
        #expect(event["modified"] == "2" && event["missing"] == "1" && event["unexpected"] == "3" && event["ok"] == "false")
        #expect(event["missing_ids"] == a["t1"]!.id)
        #expect(!event.values.contains { $0.contains("stray") || $0.contains("link") })

        // Human output lists the problems.
        let human = try box.run(["fixity"])
        #expect(human.status == 1)
        #expect(human.stdout.contains("modified    \(a["c1"]!.id)"))
        #expect(human.stdout.contains("missing     \(a["t1"]!.id)"))
        #expect(human.stdout.contains("unexpected  audio/acme-energy/stray.wav"))
    }

    /// The sidecar kept under `native/` is evidence as much as the audio: altered, or replaced by a link, the call is
    /// modified; gone (a store older than the native folders), it is counted and told, not failed.
    @Test func theRecorderDocumentKeptWithACallIsCheckedToo() throws {
        let box = try stored()
        let a = try audio(box)
        func sidecar(_ callID: String) -> String {
            box.store + "/" + Placement.nativeFolder(forAudioPath: a[callID]!.path) + "/" + Placement.sidecarDocument
        }
        for id in ["c1", "c2", "t1"] { #expect(FileManager.default.fileExists(atPath: sidecar(id)), "\(id) keeps its sidecar") }

        // c1: one byte of its sidecar changed, same size.
        var bytes = try Data(contentsOf: URL(fileURLWithPath: sidecar("c1")))
        bytes[2] ^= 0x20
        try bytes.write(to: URL(fileURLWithPath: sidecar("c1")))
        // c2: its sidecar replaced by a link to an identical copy elsewhere (a link is never followed).
        let copy = box.dir + "/c2-sidecar-copy.json"
        try FileManager.default.copyItem(atPath: sidecar("c2"), toPath: copy)
        try FileManager.default.removeItem(atPath: sidecar("c2"))
        try FileManager.default.createSymbolicLink(atPath: sidecar("c2"), withDestinationPath: copy)
        var r = try fixity(box)
        #expect(r.status == 1)
        #expect(Set(r.json["modified"] as? [String] ?? []) == [a["c1"]!.id, a["c2"]!.id])
        #expect(r.json["native_absent"] as? Int == 0)
        #expect(try fixityEvents(box).last?["modified"] == "2")

        // Put back, and t1's document removed: counted, told, exit 0.
        bytes[2] ^= 0x20
        try bytes.write(to: URL(fileURLWithPath: sidecar("c1")))
        try FileManager.default.removeItem(atPath: sidecar("c2"))
        try FileManager.default.copyItem(atPath: copy, toPath: sidecar("c2"))
        try FileManager.default.removeItem(atPath: sidecar("t1"))
        r = try fixity(box)
        #expect(r.status == 0, "\(r.json)")
        #expect(r.json["native_absent"] as? Int == 1)
        #expect((r.json["modified"] as? [String])?.isEmpty == true)
        #expect(try fixityEvents(box).last?["native_absent"] == "1")
        #expect(try fixityEvents(box).last?["native_absent_ids"] == a["t1"]!.id, "which call, for a look: it may have been removed")
        let human = try box.run(["fixity"])
        #expect(human.status == 0 && human.stdout.contains("1 stored call(s) have no recorder document"))
    }

    @Test func aTemporaryNameOfAPlacementInFlightIsNotUnexpected() throws {
        let box = try stored()
        let a = try audio(box)
        let day = a["c1"]!.path.split(separator: "/").dropLast().joined(separator: "/")
        let temp = day + "/.01890000-0000-7000-8000-000000000001.wav.tmp"
        try Data("in flight".utf8).write(to: URL(fileURLWithPath: box.store + "/" + temp))
        #expect(try fixity(box).json["unexpected"] as? [String] == [temp])
        let q = try box.catalog()
        try q.write {
            try $0.execute(sql: "INSERT INTO pending_placements (recording_id, audio_path, temp_path) VALUES (?, ?, ?)",
                           arguments: ["01890000-0000-7000-8000-000000000001", day + "/01890000-0000-7000-8000-000000000001.wav", temp])
        }
        let r = try fixity(box)
        #expect(r.status == 0, "\(r.json)")
        #expect((r.json["unexpected"] as? [String])?.isEmpty == true)
    }

    @Test func aSymlinkInPlaceOfAStoredFileIsNeverFollowed() throws {
        let box = try stored()
        let a = try audio(box)
        let stored = box.store + "/" + a["c1"]!.path
        let copy = box.dir + "/elsewhere.wav"
        try FileManager.default.moveItem(atPath: stored, toPath: copy)
        // Same bytes, but behind a link: not the stored file.
        try FileManager.default.createSymbolicLink(atPath: stored, withDestinationPath: copy)
        let r = try fixity(box)
        #expect(r.status == 1)
        #expect(r.json["modified"] as? [String] == [a["c1"]!.id])
        #expect(r.json["unexpected"] as? [String] == [a["c1"]!.path])
    }

    @Test func exportRefusesAlteredEvidenceAndCopiesNothing() throws {
        let box = try stored()
        let a = try audio(box)
        let out = box.dir + "/evidence"
        let fine = try box.run(["export", a["c2"]!.id, "--to", out])
        #expect(fine.status == 0, "\(fine.stderr)")
        #expect(box.files(under: out).count == 2)

        let h = try FileHandle(forWritingTo: URL(fileURLWithPath: box.store + "/" + a["c1"]!.path))
        try h.seek(toOffset: 200)
        try h.write(contentsOf: Data([0x55, 0xAA]))
        try h.close()
        let refusedDir = box.dir + "/evidence-2"
        let r = try box.run(["export", a["c1"]!.id, "--to", refusedDir])
        #expect(r.status == 1)
        #expect(r.stderr.split(separator: "\n").count == 1, "\(r.stderr)")
        #expect(r.stderr.contains("no longer matches"))
        #expect(box.files(under: refusedDir).isEmpty, "nothing copied")
        let refusals = try box.count("SELECT count(*) FROM audit_events WHERE action = 'recording.export_refused' AND target = '\(a["c1"]!.id)'")
        #expect(refusals == 1)
        #expect(try box.count("SELECT count(*) FROM audit_events WHERE action = 'export' AND target = '\(a["c1"]!.id)'") == 0)
    }

    @Test func onlyComplianceAndAdminsRunIt() throws {
        let box = try stored()
        let coach = try box.run(["--as", "coach-an", "fixity", "--json"])
        #expect(coach.status == 3)
        #expect(coach.stderr.split(separator: "\n").count == 1)
        #expect(try fixityEvents(box).isEmpty)
        #expect(try box.run(["--as", "dpo", "fixity"]).status == 0)
        #expect(try box.run(["fixity", "--tenant", "../etc"]).status == 2)
    }

    /// Runs the binary on a pseudo-terminal (util-linux `script`), returning everything the terminal received.
    @Test func progressIsShownOnATerminalOnlyAndErasedAtTheEnd() throws {
        let box = try stored()
        let tty = try onTerminal(box, ["fixity"])
        #expect(tty.status == 0, "\(tty.output)")
        #expect(tty.output.contains("fixity: 0/3 files") || tty.output.contains("/3 files"), "\(tty.output)")
        #expect(tty.output.contains("MB") || tty.output.contains("kB"))
        // Erased before the summary: the last progress draw is followed by a line erase.
        let erase = tty.output.range(of: "\r\u{1B}[K", options: .backwards)
        let summary = tty.output.range(of: "3 file(s) checked")
        #expect(erase != nil && summary != nil && erase!.upperBound <= summary!.lowerBound)

        // --json on a terminal: no progress; not a terminal: nothing on stderr.
        let json = try onTerminal(box, ["fixity", "--json"])
        #expect(!json.output.contains("files,"), "\(json.output)")
        let piped = try box.run(["fixity"])
        #expect(piped.stderr.isEmpty)
    }

    @Test func theDaemonExposesTheLastResult() throws {
        let box = try stored()
        let a = try audio(box)
        try FileManager.default.removeItem(atPath: box.store + "/" + a["c1"]!.path)
        #expect(try fixity(box).status == 1)
        try FileManager.default.createDirectory(atPath: box.inbox, withIntermediateDirectories: true)
        let port = Int.random(in: 20_000...60_000)
        let daemon = try RunningDaemon(box, ["--metrics", "127.0.0.1:\(port)"])
        daemon.waitReady()
        var text = ""
        _ = eventually(timeout: 20) {
            text = curl("http://127.0.0.1:\(port)/metrics")
            return text.contains("callvault_fixity_missing")
        }
        #expect(text.contains("callvault_fixity_missing 1"), "\(text)")
        #expect(text.contains("callvault_fixity_checked 3"))
        #expect(text.contains("callvault_fixity_modified 0"))
        #expect(text.contains("callvault_fixity_unexpected 0"))
        #expect(text.contains("callvault_fixity_last_run_timestamp_seconds "))
        _ = daemon.stop()
    }

    func curl(_ url: String) -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        p.arguments = ["-sf", "--max-time", "5", url]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        guard (try? p.run()) != nil else { return "" }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }
}
