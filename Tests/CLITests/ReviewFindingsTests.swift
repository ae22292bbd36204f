// Review of issue 9 (evidence integrity), attacked as a hostile recorder, a careless operator, a coach and a DPO
// would. Each test fails on the reviewed commit (ba89ac6) and states the promise it holds the vault to.
import CallVaultTesting
import Foundation
import CallVaultStore
import Testing
#if canImport(Glibc)
import Glibc
#endif

private func sh(_ cmd: String) -> Int32 {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/bin/sh")
    p.arguments = ["-c", cmd]
    try? p.run()
    p.waitUntilExit()
    return p.terminationStatus
}

private let reviewCanMount: Bool = {
    let dir = NSTemporaryDirectory() + "callvault-review-mount-" + UUID().uuidString
    try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { rmdir(dir) }
    return sh("mount -t tmpfs -o size=1m tmpfs '\(dir)' 2>/dev/null && umount '\(dir)'") == 0
}()

@Suite(.serialized) struct ReviewFindingsTests {
    /// F1. `quarantine retry` of a lone sidecar kept as `duplicate_conflict` quarantines the entry's own file a
    /// second time: a new entry appears, the file is moved out of the first one (which stays open, now empty),
    /// and every further retry adds one more entry.
    @Test func retryOfAConflictingLoneSidecarDoesNotMultiplyTheQuarantine() throws {
        let box = Sandbox()
        try box.initStore()
        try box.addCall(callID: "r1", startedAt: recent())
        let sidecarPath = box.inbox + "/acme-energy/r1.json"
        let sidecar = try Data(contentsOf: URL(fileURLWithPath: sidecarPath))
        #expect(try box.run(["ingest", "inbox"]).status == 0)

        var changed = try JSONSerialization.jsonObject(with: sidecar) as! [String: Any]
        changed["agent"] = ["id": "a-other", "team": "billing-nl"]
        try JSONSerialization.data(withJSONObject: changed).write(to: URL(fileURLWithPath: sidecarPath))
        let first = try box.run(["ingest", "--json", "inbox"])
        #expect(first.status == 4)
        let rejected = try #require((try first.json()["rejected"] as? [[String: Any]])?.first)
        #expect(rejected["reason"] as? String == "duplicate_conflict")
        let qdir = box.store + "/" + (rejected["quarantine"] as! String)
        let id = URL(fileURLWithPath: qdir).lastPathComponent

        let retry = try box.run(["quarantine", "retry", id, "--json"])
        #expect(retry.status == 4, "\(retry.stdout) \(retry.stderr)")
        #expect(try box.count("SELECT count(*) FROM rejections") == 1, "a retry must not create another quarantine entry")
        #expect(FileManager.default.fileExists(atPath: qdir + "/files/r1.json"), "the entry keeps its sidecar")
    }

    /// F2. The inbox file is rewritten in place (same inode: a recorder fixing up its WAV header, appending) after
    /// the vault staged its copy. The vault stores the earlier bytes — correct — but then removes the inbox file
    /// although its current bytes were never stored: the identity check is device + inode only.
    @Test func anInPlaceRewriteAfterStagingIsNotDeleted() throws {
        let box = Sandbox()
        try box.initStore()
        try box.addCall(callID: "r2", startedAt: recent())
        let name = box.inbox + "/acme-energy/r2.wav"
        let (p, _) = try box.start(["ingest", "--json", "inbox"], env: ["CALLVAULT_STOP_AT": "ingest.after-stage"])
        #expect(waitUntilStopped(p))
        let fd = open(name, O_WRONLY)
        #expect(fd >= 0)
        let patch = [UInt8](repeating: 0x41, count: 4096)
        #expect(pwrite(fd, patch, patch.count, 4096) == patch.count)
        close(fd)
        let rewritten = try sha256sum(name)
        kill(p.processIdentifier, SIGCONT)
        p.waitUntilExit()
        let (path, _) = try #require(try box.stored("r2"))
        let storedNow = try sha256sum(path)
        #expect(FileManager.default.fileExists(atPath: name) || storedNow == rewritten,
                "the rewritten bytes are neither stored nor left in the inbox: lost")
    }

    /// F3. Quarantine re-opens the inbox files by path instead of keeping the descriptor that was checked: a file
    /// renamed over a rejected input between the check and the quarantine is copied (never checked) under the
    /// first file's reason, and removed from the inbox.
    @Test func quarantineKeepsTheBytesThatWereChecked() throws {
        let box = Sandbox()
        try box.initStore()
        // "a-bad" sorts first: checked (audio_unreadable), then "z-good" is staged and the run stops.
        try box.addCall(callID: "z-good", startedAt: recent())
        try box.addCall(callID: "a-bad", startedAt: recent())
        let bad = box.inbox + "/acme-energy/a-bad.wav"
        try Data(repeating: 0x20, count: 5000).write(to: URL(fileURLWithPath: bad))
        let checked = try sha256sum(bad)
        let (p, out) = try box.start(["ingest", "--json", "inbox"], env: ["CALLVAULT_STOP_AT": "ingest.after-stage"])
        #expect(waitUntilStopped(p))
        let replacement = box.dir + "/replacement.wav"
        try FileManager.default.copyItem(atPath: Sandbox.fixtures + "/inbox/acme-energy/call-0002.wav", toPath: replacement)
        #expect(rename(replacement, bad) == 0)
        kill(p.processIdentifier, SIGCONT)
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let json = try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:]
        let rejected = try #require((json["rejected"] as? [[String: Any]])?.first)
        #expect(rejected["reason"] as? String == "audio_unreadable")
        let q = box.store + "/" + (rejected["quarantine"] as! String)
        #expect(try sha256sum(q + "/files/a-bad.wav") == checked, "quarantine holds the bytes that earned the reason")
        #expect(FileManager.default.fileExists(atPath: bad), "the replacement is new input: left in the inbox")
    }

    /// F4. `fixity` misses a stray file under audio/ whose name is not UTF-8: the name is decoded lossily, the
    /// lossy path does not exist, and the stray is dropped as "vanished meanwhile". Exit 0, "all match".
    @Test func fixityReportsAStrayWithANonUTF8Name() throws {
        let box = Sandbox()
        try box.initStore()
        try box.addCall(callID: "r4", startedAt: recent())
        #expect(try box.run(["ingest", "inbox"]).status == 0)
        let dir = box.store + "/audio/acme-energy"
        var raw = Array((dir + "/planted-").utf8) + [0xff] + Array(".wav".utf8) + [0]
        let fd = raw.withUnsafeMutableBufferPointer { open(UnsafeRawPointer($0.baseAddress!).assumingMemoryBound(to: CChar.self), O_WRONLY | O_CREAT, 0o600) }
        #expect(fd >= 0)
        _ = write(fd, "RIFF", 4)
        close(fd)
        let r = try box.run(["fixity", "--json"])
        #expect(r.status == 1, "\(r.stdout) \(r.stderr)")
        #expect((try r.json()["unexpected"] as? [Any])?.count == 1)
    }

    /// F5. A hostile recorder drops a sparse file over `max_audio_bytes` (`truncate -s 1T`): it is rejected
    /// `too_large`, and quarantine then copies every byte of it — unbounded, dense — into the store. When the
    /// store fills, the whole batch fails as a vault failure: the good pair beside it is not stored, and every
    /// later run (and the daemon, forever) fails the same way.
    @Test(.enabled(if: reviewCanMount, "mounting a small tmpfs is not permitted here"))
    func aSparseOversizedInputCannotFillTheStoreAndBlockGoodPairs() throws {
        let box = Sandbox()
        let mountPoint = box.dir + "/small"
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
        #expect(sh("mount -t tmpfs -o size=8m,mode=0700 tmpfs '\(mountPoint)'") == 0)
        defer { _ = sh("umount -l '\(mountPoint)'") }
        let store = mountPoint + "/store"
        #expect(try box.run(["init", "--simulation", "--store", store, "--tenant", "acme-energy", "--tenant", "telco-be"]).status == 0)
        let config = store + "/callvault.toml"
        let text = try String(contentsOfFile: config, encoding: .utf8)
        try text.replacingOccurrences(of: "max_audio_bytes = 4294967296", with: "max_audio_bytes = 1048576")
            .write(toFile: config, atomically: true, encoding: .utf8)

        try box.addCall(callID: "good", startedAt: recent())
        try box.addCall(callID: "big", startedAt: recent())
        #expect(truncate(box.inbox + "/acme-energy/big.wav", 64 << 20) == 0)  // sparse: no space taken in the inbox

        let r = try box.run(["ingest", "--store", store, "--json", "inbox"])
        #expect(r.status == 4, "rejected, not a vault failure: \(r.stderr)")
        let db = try box.catalog(store: store)
        #expect(try db.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM recordings WHERE call_id = 'good'") } == 1,
                "the good pair of the batch is stored")
    }
    /// F6. SPEC §2/§12: a file is settled when it arrived by rename, or was *closed* after writing and then stayed
    /// unchanged. The daemon takes a file its writer still holds open as soon as it stayed unchanged for `settle`
    /// (a recorder pausing on hold, a slow network write): the head is quarantined as `audio_truncated` and the
    /// inbox name removed, so everything the writer writes afterwards goes to an unlinked inode — lost.
    @Test func theDaemonDoesNotTakeAFileStillOpenForWriting() throws {
        let box = Sandbox()
        try box.initStore()
        try FileManager.default.createDirectory(atPath: box.inbox, withIntermediateDirectories: true)
        try box.setConfig("settle", "\"PT2S\"")
        let daemon = try RunningDaemon(box)
        daemon.waitReady()
        let (a, s) = try box.stagePair("held-open", in: box.dir + "/staging")
        let full = try [UInt8](Data(contentsOf: URL(fileURLWithPath: a)))
        try FileManager.default.moveItem(atPath: s, toPath: box.inbox + "/held-open.json")
        let fd = open(box.inbox + "/held-open.wav", O_WRONLY | O_CREAT, 0o644)
        #expect(fd >= 0)
        let half = full.count / 2
        #expect(write(fd, Array(full[..<half]), half) == half)
        usleep(5_000_000)  // the writer pauses, the file still open
        #expect(write(fd, Array(full[half...]), full.count - half) == full.count - half)
        close(fd)
        #expect(try eventually { try box.count("SELECT count(*) FROM recordings") + box.count("SELECT count(*) FROM rejections") >= 1 })
        usleep(1_000_000)
        let reasons = try box.catalog().read { try String.fetchAll($0, sql: "SELECT reason || ' ' || detail FROM rejections") }
        #expect(try box.count("SELECT count(*) FROM rejections") == 0, "no head quarantined while the writer still held the file: \(reasons)")
        #expect(try box.count("SELECT audio_bytes FROM recordings WHERE call_id = 'held-open'") == full.count, "stored whole")
        #expect(daemon.stop().status == 0)
    }
    /// F7. `quarantine retry` killed at any step after the recording is committed — before the entry is resolved,
    /// or after it is resolved but before its folder is removed — leaves no open entry for a stored call and no
    /// orphan folder: the next retry (or repair) finishes it.
    @Test(arguments: ["ingest.after-commit", "retry.after-resolve"])
    func aRetryKilledPartWayLeavesNoOpenEntryBehind(point: String) throws {
        let box = Sandbox()
        try box.initStore()
        try box.addCall(tenant: "newco", callID: "k1", startedAt: recent())
        #expect(try box.run(["ingest", "--json", "inbox"]).status == 4)
        let config = box.store + "/callvault.toml"
        let text = try String(contentsOfFile: config, encoding: .utf8)
        try (text + "\n[tenants.newco]\n").write(toFile: config, atomically: true, encoding: .utf8)

        let killed = try box.run(["quarantine", "retry", "--reason", "tenant_unknown"], env: ["CALLVAULT_CRASH_AT": point])
        #expect(killed.killed)
        #expect(try box.stored("k1") != nil, "the call is stored")
        let again = try box.run(["quarantine", "retry", "--reason", "tenant_unknown", "--json"])
        #expect(again.status == 0, "\(again.stdout) \(again.stderr)")
        #expect(try box.count("SELECT count(*) FROM rejections WHERE deleted_at IS NULL") == 0, "no open entry for a stored call")
        #expect(box.files(under: box.store + "/quarantine").isEmpty, "no orphan quarantine folder")
        #expect(try box.count("SELECT count(*) FROM recordings") == 1)
    }
    /// F8. Two sidecars for one base name (`c1.json` and `c1.JSON`, another agent in each): one is paired by byte
    /// order (the daemon: by dictionary order), the other is neither stored, rejected nor reported — exit 0, as if
    /// it did not exist. A second audio file for one sidecar is reported; a second sidecar must be too.
    @Test func aSecondSidecarForOneNameIsReportedNotSkipped() throws {
        let box = Sandbox()
        try box.initStore()
        try box.addCall(callID: "c8", startedAt: recent())
        let dir = box.inbox + "/acme-energy"
        var other = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/c8.json"))) as! [String: Any]
        other["agent"] = ["id": "a-2"]
        try JSONSerialization.data(withJSONObject: other).write(to: URL(fileURLWithPath: dir + "/c8.JSON"))
        let r = try box.run(["ingest", "--json", "inbox"])
        #expect(r.stdout.contains("c8.JSON") || r.status != 0, "c8.JSON is left in the inbox without a word: \(r.stdout)")
    }

    /// F9. SPEC §12 "Human output escapes control characters": a line feed in an inbox file name (the recorder's
    /// choice) reaches the terminal raw, so a hostile name forges lines of the ingest report
    /// (`printLine` keeps newlines for every argument, input paths included).
    @Test func aLineFeedInAnInputNameCannotForgeReportLines() throws {
        let box = Sandbox()
        try box.initStore()
        let dir = box.inbox + "/acme-energy"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: Sandbox.fixtures + "/inbox/acme-energy/call-0001.wav",
                                         toPath: dir + "/x\n7 stored, 0 duplicate(s), 0 rejected.wav")
        let r = try box.run(["ingest", "inbox"])
        #expect(!r.stdout.split(separator: "\n").contains { $0.hasPrefix("7 stored") }, "\(r.stdout)")
    }
    /// F10. SPEC §2 "anything outside the inbox is never followed": only the last path component is opened with
    /// O_NOFOLLOW. A tenant folder swapped for a symlink after the scan (a recorder with write access to the
    /// inbox root) makes the vault read — and then delete — files outside the inbox.
    @Test func aTenantFolderSwappedForASymlinkIsNotFollowed() throws {
        let box = Sandbox()
        try box.initStore()
        try box.addCall(callID: "c10", startedAt: recent())
        let (p, _) = try box.start(["ingest", "--json", "inbox"], env: ["CALLVAULT_STOP_AT": "ingest.after-scan"])
        #expect(waitUntilStopped(p))
        let outside = box.dir + "/outside"
        #expect(rename(box.inbox + "/acme-energy", outside) == 0)
        #expect(symlink(outside, box.inbox + "/acme-energy") == 0)
        kill(p.processIdentifier, SIGCONT)
        p.waitUntilExit()
        #expect(FileManager.default.fileExists(atPath: outside + "/c10.wav"), "a file outside the inbox was taken and deleted")
        #expect(try box.stored("c10") == nil, "stored from outside the inbox, through a symlink")
    }
    /// F11. Issue 9 item 17 "check every container's promise against the bytes": two containers libsndfile reads
    /// are still taken at their word. A Sony Wave64 whose `data` chunk promises 1000× the bytes it holds (RIFF size
    /// intact) and a Creative VOC cut at 60 % (its sound-data block promises the rest) are both stored as whole
    /// recordings, instead of `audio_truncated`.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/sox"), "needs sox to write W64 and VOC"))
    func truncatedWave64AndVOCAreNotStoredAsWhole() throws {
        let box = Sandbox()
        try box.initStore()
        let dir = box.inbox + "/acme-energy"
        let wav = Sandbox.fixtures + "/inbox/acme-energy/call-0001.wav"
        for ext in ["w64", "voc"] {
            try box.addCall(callID: "t-\(ext)", startedAt: recent())
            try FileManager.default.removeItem(atPath: dir + "/t-\(ext).wav")
            #expect(sh("sox '\(wav)' -e signed-integer -b 16 '\(dir)/t-\(ext).\(ext)'") == 0)
        }
        // W64: the data chunk (GUID "data" + f3acd311…, then a 64-bit LE size) claims 1000× its bytes.
        var w64 = try Data(contentsOf: URL(fileURLWithPath: dir + "/t-w64.w64"))
        let guid = Data([0x64, 0x61, 0x74, 0x61, 0xf3, 0xac, 0xd3, 0x11])
        let at = try #require(w64.range(of: guid)).lowerBound + 16
        let size = w64[at..<(at + 8)].enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        let claimed = size * 1000
        for k in 0..<8 { w64[at + k] = UInt8((claimed >> (8 * UInt64(k))) & 0xff) }
        try w64.write(to: URL(fileURLWithPath: dir + "/t-w64.w64"))
        // VOC: cut at 60 %.
        let voc = try Data(contentsOf: URL(fileURLWithPath: dir + "/t-voc.voc"))
        try voc.prefix(voc.count * 6 / 10).write(to: URL(fileURLWithPath: dir + "/t-voc.voc"))

        let r = try box.run(["ingest", "--json", "inbox"])
        let rejected = (try r.json()["rejected"] as? [[String: Any]]) ?? []
        for ext in ["w64", "voc"] {
            #expect(rejected.contains { ($0["input"] as? String)?.hasSuffix("t-\(ext).\(ext)") == true && $0["reason"] as? String == "audio_truncated" },
                    "\(ext): \(r.stdout)")
        }
    }
    /// F12. One stored file the vault user cannot open (chowned to root by an operator's `cp -a`, or by an
    /// intruder) aborts the whole fixity run: exit 1 with "cannot open", no report of the other files (a modified
    /// one goes unnamed), no `fixity.checked` event, and the recorded summary — what `/metrics` shows as
    /// `callvault_fixity_ok` — stays at the last good run. It must be reported (modified/unreadable) and the run
    /// go on.
    @Test func oneUnreadableStoredFileDoesNotAbortFixity() throws {
        let box = Sandbox()
        box.handToNobody()
        #expect(try box.run(["init", "--simulation", "--tenant", "acme-energy", "--tenant", "telco-be"], as: "nobody").status == 0)
        try box.addCall(callID: "f1", startedAt: recent())
        try box.addCall(callID: "f2", startedAt: recent())
        _ = sh("chown -R nobody '\(box.inbox)'")
        #expect(try box.run(["ingest", box.inbox], as: "nobody").status == 0)
        #expect(try box.run(["fixity", "--json"], as: "nobody").status == 0)
        let (p1, _) = try #require(try box.stored("f1"))
        let (p2, _) = try #require(try box.stored("f2"))
        #expect(chown(p1, 0, 0) == 0)
        let h = try #require(FileHandle(forWritingAtPath: p2))
        try h.seek(toOffset: 300)
        h.write(Data(repeating: 0x11, count: 64))
        try h.close()

        let r = try box.run(["fixity", "--json"], as: "nobody")
        #expect(r.status == 1)
        let modified = (try? r.json()["modified"] as? [String]) ?? nil
        let ids = try box.recordingIDs()
        #expect(modified?.contains(ids["f2"]!) == true, "the altered recording is named: \(r.stdout) \(r.stderr)")
        #expect(try box.count("SELECT count(*) FROM audit_events WHERE action = 'fixity.checked'") == 2, "the run is audited")
    }
    /// F13. A rejected pair whose base name is long but legal (248 bytes: `NAME.wav` and `NAME.json` fit in 255)
    /// cannot be quarantined: the copy's temporary name `NAME.json.part` exceeds NAME_MAX, ENAMETOOLONG is a vault
    /// failure, the batch is abandoned — the good pair beside it is not stored, exit 1 — and the same happens on
    /// every run (the daemon retries it forever with /healthz at 503).
    @Test func aLongInputNameDoesNotBlockTheBatch() throws {
        let box = Sandbox()
        try box.initStore()
        try box.addCall(callID: "good13", startedAt: recent())
        try box.addCall(callID: "long13", startedAt: recent())
        let dir = box.inbox + "/acme-energy"
        let long = String(repeating: "x", count: 248)
        // Rejected (announcement_missing) so that it goes to quarantine.
        var sidecar = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/long13.json"))) as! [String: Any]
        sidecar["announcement"] = ["played": false]
        try JSONSerialization.data(withJSONObject: sidecar).write(to: URL(fileURLWithPath: dir + "/" + long + ".json"))
        try FileManager.default.removeItem(atPath: dir + "/long13.json")
        try FileManager.default.moveItem(atPath: dir + "/long13.wav", toPath: dir + "/" + long + ".wav")

        let r = try box.run(["ingest", "--json", "inbox"])
        #expect(r.status == 4, "\(r.stderr)")
        #expect(try box.stored("good13") != nil, "the good pair is stored")
        #expect(try box.count("SELECT count(*) FROM rejections WHERE reason = 'announcement_missing'") == 1)
    }
    /// F14. Issue 9 item 18 "never skip quietly": a pair deeper than PATH_MAX below the inbox (2100 nested
    /// folders) is skipped in silence — `lstat` fails with ENAMETOOLONG and the scan `continue`s: exit 0, nothing
    /// stored, rejected or reported.
    @Test func aPairBeyondPathMaxIsReportedNotSkipped() throws {
        let box = Sandbox()
        try box.initStore()
        let top = box.inbox + "/acme-energy"
        try FileManager.default.createDirectory(atPath: top, withIntermediateDirectories: true)
        defer { _ = sh("rm -rf '\(top)/a'") }  // deeper than FileManager removes
        var fd = open(top, O_RDONLY | O_DIRECTORY)
        for _ in 0..<2100 {
            #expect(mkdirat(fd, "a", 0o755) == 0)
            let next = openat(fd, "a", O_RDONLY | O_DIRECTORY)
            close(fd)
            fd = next
        }
        let audio = try Data(contentsOf: URL(fileURLWithPath: Sandbox.fixtures + "/inbox/acme-energy/call-0001.wav"))
        let sidecar = Data(#"{"schema":"callvault.call/1","call_id":"deep","started_at":"\#(recent())","direction":"inbound","agent":{"id":"a"},"announcement":{"played":true}}"#.utf8)
        for (name, data) in [("deep.wav", audio), ("deep.json", sidecar)] {
            let f = openat(fd, name, O_WRONLY | O_CREAT, 0o644)
            _ = data.withUnsafeBytes { write(f, $0.baseAddress, data.count) }
            close(f)
        }
        close(fd)
        let r = try box.run(["ingest", "--json", "inbox"])
        #expect(r.status != 0 || r.stdout.contains("deep"), "\(r.stdout)")
    }
}
