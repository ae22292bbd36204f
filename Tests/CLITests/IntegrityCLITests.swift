// Evidence integrity (SPEC §12, issue 9 §1): the stored audio is the vault's own copy of the bytes it checked,
// whatever the recorder does with its own names and descriptors afterwards — attacks written as tests.
import CallVaultTesting
import Foundation
import CallVaultStore
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// SHA-256 of a file, computed by coreutils (independent of the vault's own code).
func sha256sum(_ path: String) throws -> String {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
    p.arguments = [path]
    let out = Pipe()
    p.standardOutput = out
    try p.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return String(String(decoding: data, as: UTF8.self).prefix(64))
}

func fileStat(_ path: String) -> stat {
    var st = stat()
    precondition(lstat(path, &st) == 0, "lstat \(path)")
    return st
}


extension Sandbox {
    /// The stored audio path and catalog SHA-256 of a call.
    func stored(_ callID: String) throws -> (path: String, sha256: String)? {
        try catalog().read { db in
            try SQLRow.fetchOne(db, sql: "SELECT audio_path, sha256 FROM recordings WHERE call_id = ?", arguments: [callID])
                .map { (store + "/" + ($0["audio_path"] as String), $0["sha256"] as String) }
        }
    }

    /// Makes the sandbox usable by `nobody`: the vault runs as that user in permission tests.
    func handToNobody() {
        chown(dir, 65534, 65534)
    }

    /// Starts the binary in the background (for `CALLVAULT_STOP_AT`), returning the process.
    func start(_ args: [String], env: [String: String]) throws -> (Process, Pipe) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Self.binary)
        p.arguments = args
        p.currentDirectoryURL = URL(fileURLWithPath: dir)
        var environment = ProcessInfo.processInfo.environment
        environment["CALLVAULT_STORE"] = store
        for (k, v) in env { environment[k] = v }
        p.environment = environment
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        return (p, out)
    }
}

/// Waits until a process has stopped itself (state `T` in /proc), at most ~30 s.
func waitUntilStopped(_ p: Process) -> Bool {
    for _ in 0..<3000 {
        if let stat = try? String(contentsOfFile: "/proc/\(p.processIdentifier)/stat", encoding: .utf8),
           let close = stat.lastIndex(of: ")"), stat[stat.index(close, offsetBy: 2)] == "T" { return true }
        if !p.isRunning { return false }
        usleep(10_000)
    }
    return false
}

@Suite struct IntegrityCLITests {
    /// `ln spool/c1.wav inbox/acme-energy/c1.wav`: the recorder keeps its own name for the file and writes into
    /// it after ingest. The stored file must not change.
    @Test func recorderHardLinkCannotChangeStoredAudio() throws {
        let box = Sandbox()
        try box.initStore()
        try box.addCall(callID: "c1", startedAt: recent())
        let spool = box.dir + "/spool"
        try FileManager.default.createDirectory(atPath: spool, withIntermediateDirectories: true)
        let inboxName = box.inbox + "/acme-energy/c1.wav"
        try FileManager.default.moveItem(atPath: inboxName, toPath: spool + "/c1.wav")
        #expect(link(spool + "/c1.wav", inboxName) == 0)

        let r = try box.run(["ingest", "--json", "inbox"])
        #expect(r.status == 0, "\(r.stderr)")
        let (path, sha) = try #require(try box.stored("c1"))
        #expect(fileStat(path).st_ino != fileStat(spool + "/c1.wav").st_ino, "an independent copy, not a link")
        #expect(fileStat(path).st_nlink == 1)

        let h = try #require(FileHandle(forWritingAtPath: spool + "/c1.wav"))
        try h.seek(toOffset: 200)
        h.write(Data(repeating: 0x55, count: 4096))
        try h.close()
        #expect(try sha256sum(path) == sha, "the stored bytes are still the bytes the catalog vouches for")
    }

    /// `exec 3>>inbox/x.wav`: a writer still holds the file open during ingest and writes through it afterwards.
    @Test func openWriterCannotChangeStoredAudio() throws {
        let box = Sandbox()
        try box.initStore()
        try box.addCall(callID: "c2", startedAt: recent())
        let writer = try #require(FileHandle(forWritingAtPath: box.inbox + "/acme-energy/c2.wav"))
        let r = try box.run(["ingest", "--json", "inbox"])
        #expect(r.status == 0, "\(r.stderr)")
        let (path, sha) = try #require(try box.stored("c2"))
        try writer.seek(toOffset: 100)
        writer.write(Data(repeating: 0x7f, count: 8192))
        try writer.close()
        #expect(try sha256sum(path) == sha)
        let st = fileStat(path)
        #expect(st.st_mode & 0o777 == 0o600)
    }

    /// The inbox file is replaced by rename after it was checked and before it is placed: what is stored is the
    /// file that was decoded and hashed, and the replacement (new input) is left in the inbox, not deleted.
    @Test func renameBetweenCheckAndPlacementStoresTheCheckedBytes() throws {
        let box = Sandbox()
        try box.initStore()
        try box.addCall(callID: "c3", startedAt: recent())
        let name = box.inbox + "/acme-energy/c3.wav"
        let checkedSHA = try sha256sum(name)
        let (p, _) = try box.start(["ingest", "--json", "inbox"], env: ["CALLVAULT_STOP_AT": "ingest.after-stage"])
        #expect(waitUntilStopped(p), "the ingest reached the point between check and placement")
        // Swap in other audio under the same name, as a recorder's rename would.
        let other = box.dir + "/other.wav"
        try FileManager.default.copyItem(atPath: Sandbox.fixtures + "/inbox/acme-energy/call-0002.wav", toPath: other)
        #expect(rename(other, name) == 0)
        kill(p.processIdentifier, SIGCONT)
        p.waitUntilExit()
        #expect(p.terminationStatus == 0)
        let (path, sha) = try #require(try box.stored("c3"))
        #expect(sha == checkedSHA)
        #expect(try sha256sum(path) == checkedSHA)
        #expect(FileManager.default.fileExists(atPath: name), "the replacement is new input: left in the inbox")
        #expect(try sha256sum(name) != checkedSHA)
    }

    /// The stored file and the quarantined copies belong to the vault user, 0600, whatever the input's owner;
    /// the deployment of the README (recorder uid ≠ vault uid, inbox group-writable).
    @Test func storedAndQuarantinedFilesBelongToTheVaultUser() throws {
        let box = Sandbox()
        box.handToNobody()
        #expect(try box.run(["init", "--simulation", "--tenant", "acme-energy", "--tenant", "telco-be"], as: "nobody").status == 0)
        try box.addCall(callID: "c4", startedAt: recent())
        try box.copyFixtures(["acme-energy/bad-announcement-missing.wav", "acme-energy/bad-announcement-missing.json"])
        // The recorder (root here) owns the inputs, 0644; the inbox folder is writable by the vault's group.
        for f in box.files(under: box.inbox) { chmod(box.inbox + "/" + f, 0o644) }
        chmod(box.inbox, 0o777)
        chmod(box.inbox + "/acme-energy", 0o777)

        let r = try box.run(["ingest", "--json", box.inbox], as: "nobody")
        #expect(r.status == 4, "\(r.stderr)")
        let (path, _) = try #require(try box.stored("c4"))
        let st = fileStat(path)
        #expect(st.st_uid == 65534 && st.st_mode & 0o777 == 0o600)
        let quarantined = box.files(under: box.store + "/quarantine")
        #expect(quarantined.count == 3, "\(quarantined)")
        for f in quarantined {
            let q = fileStat(box.store + "/quarantine/" + f)
            #expect(q.st_uid == 65534 && q.st_mode & 0o777 == 0o600, "\(f)")
        }
        #expect(box.files(under: box.inbox).isEmpty, "the whole pair moved; nothing half-way")
    }

    /// A recorder with umask 077: the vault user cannot open one input. It is reported and left in place, every
    /// other pair is processed, exit 4; readable later, it is stored.
    @Test func unreadableInputIsLeftInPlaceAndOthersGoOn() throws {
        let box = Sandbox()
        box.handToNobody()
        #expect(try box.run(["init", "--simulation", "--tenant", "acme-energy", "--tenant", "telco-be"], as: "nobody").status == 0)
        try box.addCall(callID: "a-first", startedAt: recent())
        try box.addCall(callID: "b-private", startedAt: recent())
        try box.addCall(callID: "c-last", startedAt: recent())
        chmod(box.inbox, 0o777)
        chmod(box.inbox + "/acme-energy", 0o777)
        for f in box.files(under: box.inbox) { chmod(box.inbox + "/" + f, 0o644) }
        chmod(box.inbox + "/acme-energy/b-private.wav", 0o600)

        let r = try box.run(["ingest", "--json", box.inbox], as: "nobody")
        #expect(r.status == 4, "\(r.stderr)")
        let json = try r.json()
        #expect((json["stored"] as? [[String: Any]])?.count == 2)
        let unreadable = try #require(json["unreadable"] as? [[String: Any]])
        #expect(unreadable.count == 1)
        #expect((unreadable.first?["input"] as? String)?.hasSuffix("b-private.wav") == true)
        #expect(box.files(under: box.inbox) == ["acme-energy/b-private.json", "acme-energy/b-private.wav"])
        #expect(try box.count("SELECT count(*) FROM rejections") == 0, "not a rejection: nothing is known to be wrong with it")

        chmod(box.inbox + "/acme-energy/b-private.wav", 0o644)
        let again = try box.run(["ingest", "--json", box.inbox], as: "nobody")
        #expect(again.status == 0, "\(again.stderr)")
        #expect(try box.stored("b-private") != nil)
    }

    /// The sidecar is swapped for a symlink (to another call's sidecar) between scan and read: never followed.
    @Test func sidecarSwappedForSymlinkIsNotRead() throws {
        let box = Sandbox()
        try box.initStore()
        try box.addCall(callID: "victim", startedAt: recent())
        let foreign = box.dir + "/foreign.json"
        let sidecar: [String: Any] = [
            "schema": "callvault.call/1", "call_id": "foreign-call", "tenant": "acme-energy", "started_at": recent(),
            "direction": "inbound", "agent": ["id": "a-9"], "announcement": ["played": true],
        ]
        try JSONSerialization.data(withJSONObject: sidecar).write(to: URL(fileURLWithPath: foreign))
        let (p, out) = try box.start(["ingest", "--json", "inbox"], env: ["CALLVAULT_STOP_AT": "ingest.after-scan"])
        #expect(waitUntilStopped(p))
        let name = box.inbox + "/acme-energy/victim.json"
        unlink(name)
        #expect(symlink(foreign, name) == 0)
        kill(p.processIdentifier, SIGCONT)
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        #expect(p.terminationStatus == 4)
        #expect(try box.count("SELECT count(*) FROM recordings") == 0, "another file's content never becomes the call's metadata")
        let json = try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:]
        #expect((json["unreadable"] as? [[String: Any]])?.count == 1)
        #expect(FileManager.default.fileExists(atPath: box.inbox + "/acme-energy/victim.wav"), "left in place")
    }

    /// A FIFO swapped in for the sidecar is not opened for a blocking read (the ingest does not hang).
    @Test func sidecarSwappedForFIFODoesNotHang() throws {
        let box = Sandbox()
        try box.initStore()
        try box.addCall(callID: "fifo", startedAt: recent())
        let (p, _) = try box.start(["ingest", "--json", "inbox"], env: ["CALLVAULT_STOP_AT": "ingest.after-scan"])
        #expect(waitUntilStopped(p))
        let name = box.inbox + "/acme-energy/fifo.json"
        unlink(name)
        #expect(mkfifo(name, 0o600) == 0)
        kill(p.processIdentifier, SIGCONT)
        p.waitUntilExit()
        #expect(p.terminationStatus == 4)
        #expect(try box.count("SELECT count(*) FROM recordings") == 0)
    }

    /// A pair named reason.wav / reason.json never overwrites the quarantine's own reason.json.
    @Test func pairNamedReasonKeepsTheQuarantineReason() throws {
        let box = Sandbox()
        try box.initStore()
        let dir = box.inbox + "/acme-energy"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: Sandbox.fixtures + "/inbox/acme-energy/bad-announcement-missing.wav", toPath: dir + "/reason.wav")
        try FileManager.default.copyItem(atPath: Sandbox.fixtures + "/inbox/acme-energy/bad-announcement-missing.json", toPath: dir + "/reason.json")
        let input = try Data(contentsOf: URL(fileURLWithPath: dir + "/reason.json"))
        let r = try box.run(["ingest", "--json", "inbox"])
        #expect(r.status == 4)
        let rejected = try #require((try r.json()["rejected"] as? [[String: Any]])?.first)
        let q = box.store + "/" + (rejected["quarantine"] as! String)
        let reason = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: q + "/reason.json"))) as? [String: Any]
        #expect(reason?["reason"] as? String == "announcement_missing")
        #expect(try Data(contentsOf: URL(fileURLWithPath: q + "/files/reason.json")) == input, "the input is kept whole, apart")
        #expect(box.files(under: q) == ["files/reason.json", "files/reason.wav", "reason.json"])
    }

    /// A lone sidecar for an already stored call: identical → the leftover of a finished ingest (removed);
    /// different → `duplicate_conflict`, kept in quarantine (its metadata is not thrown away).
    @Test func loneSidecarOfStoredCallIsDuplicateOnlyWhenIdentical() throws {
        let box = Sandbox()
        try box.initStore()
        try box.addCall(callID: "c5", startedAt: recent())
        let sidecar = try Data(contentsOf: URL(fileURLWithPath: box.inbox + "/acme-energy/c5.json"))
        #expect(try box.run(["ingest", "inbox"]).status == 0)

        try sidecar.write(to: URL(fileURLWithPath: box.inbox + "/acme-energy/c5.json"))
        let same = try box.run(["ingest", "--json", "inbox"])
        #expect(same.status == 0, "\(same.stdout)")
        #expect((try same.json()["duplicates"] as? [[String: Any]])?.count == 1)
        #expect(box.files(under: box.inbox).isEmpty)

        var changed = try JSONSerialization.jsonObject(with: sidecar) as! [String: Any]
        changed["agent"] = ["id": "a-other", "team": "billing-nl"]
        try JSONSerialization.data(withJSONObject: changed).write(to: URL(fileURLWithPath: box.inbox + "/acme-energy/c5.json"))
        let other = try box.run(["ingest", "--json", "inbox"])
        #expect(other.status == 4)
        let rejected = try #require((try other.json()["rejected"] as? [[String: Any]])?.first)
        #expect(rejected["reason"] as? String == "duplicate_conflict")
        #expect(rejected["quarantine"] is String, "kept in quarantine")
        #expect(box.files(under: box.store + "/quarantine").contains { $0.hasSuffix("files/c5.json") })
    }

    /// Names that are not UTF-8 and tenant folders the vault user cannot read are reported, never skipped.
    @Test func undecodableNamesAndUnreadableFoldersAreReported() throws {
        let box = Sandbox()
        box.handToNobody()
        #expect(try box.run(["init", "--simulation", "--tenant", "acme-energy", "--tenant", "telco-be"], as: "nobody").status == 0)
        try box.addCall(callID: "ok1", startedAt: recent())
        try box.addCall(tenant: "telco-be", callID: "hidden", startedAt: recent())
        chmod(box.inbox, 0o777)
        chmod(box.inbox + "/acme-energy", 0o777)
        for f in box.files(under: box.inbox) { chmod(box.inbox + "/" + f, 0o644) }
        chmod(box.inbox + "/telco-be", 0o700)  // root's, unreadable by the vault user
        // A name with an invalid UTF-8 byte (0xff).
        var raw = Array((box.inbox + "/acme-energy/caller-").utf8) + [0xff] + Array(".wav".utf8) + [0]
        let fd = raw.withUnsafeMutableBufferPointer { open(UnsafeRawPointer($0.baseAddress!).assumingMemoryBound(to: CChar.self), O_WRONLY | O_CREAT, 0o644) }
        #expect(fd >= 0)
        close(fd)

        let r = try box.run(["ingest", "--json", box.inbox], as: "nobody")
        #expect(r.status == 4, "\(r.stderr)")
        let json = try r.json()
        #expect((json["stored"] as? [[String: Any]])?.count == 1)
        let rejected = json["rejected"] as? [[String: Any]] ?? []
        #expect(rejected.contains { $0["reason"] as? String == "unsafe_name" && ($0["input"] as? String)?.contains("\\xff") == true })
        let unreadable = json["unreadable"] as? [[String: Any]] ?? []
        #expect(unreadable.contains { ($0["input"] as? String)?.hasSuffix("telco-be") == true })
        #expect(FileManager.default.fileExists(atPath: box.inbox + "/telco-be/hidden.wav"), "telco-be's pair is left in place")
        #expect(raw.withUnsafeBufferPointer { access(UnsafeRawPointer($0.baseAddress!).assumingMemoryBound(to: CChar.self), F_OK) } == 0,
                "the undecodable file is left in place")
    }

    /// A call quarantined by a configuration mistake (its tenant not yet configured) goes back through ingest
    /// with `quarantine retry --reason tenant_unknown` once the tenant is added; audited.
    @Test func quarantineRetryStoresAPairOnceItsTenantExists() throws {
        let box = Sandbox()
        try box.initStore()
        try box.addCall(tenant: "newco", callID: "n1", startedAt: recent())
        let first = try box.run(["ingest", "--json", "inbox"])
        #expect(first.status == 4)
        let rejected = try #require((try first.json()["rejected"] as? [[String: Any]])?.first)
        #expect(rejected["reason"] as? String == "tenant_unknown")

        // Rejected again while the tenant is still missing: it stays, exit 4.
        let early = try box.run(["quarantine", "retry", "--reason", "tenant_unknown", "--json"])
        #expect(early.status == 4, "\(early.stderr)")
        #expect(try box.count("SELECT count(*) FROM rejections WHERE deleted_at IS NULL") == 1)

        let config = box.store + "/callvault.toml"
        let text = try String(contentsOfFile: config, encoding: .utf8)
        try (text + "\n[tenants.newco]\n\n[users.coach-an]\nrole = \"coach\"\nteams = [\"billing-nl\"]\n")
            .write(toFile: config, atomically: true, encoding: .utf8)
        let retry = try box.run(["quarantine", "retry", "--reason", "tenant_unknown", "--json"])
        #expect(retry.status == 0, "\(retry.stderr)")
        let outcome = try #require((try retry.json()["retried"] as? [[String: Any]])?.first)
        #expect(outcome["outcome"] as? String == "stored")
        #expect(try box.stored("n1") != nil)
        #expect(try box.count("SELECT count(*) FROM rejections WHERE deleted_at IS NULL") == 0)
        #expect(box.files(under: box.store + "/quarantine").isEmpty)
        #expect(try box.count("SELECT count(*) FROM audit_events WHERE action = 'quarantine.retried'") == 2)
        #expect(try box.run(["audit", "verify"]).status == 0)

        // A coach may not retry.
        let coach = try box.run(["--as", "coach-an", "quarantine", "retry", "--reason", "tenant_unknown"])
        #expect(coach.status == 3, "\(coach.stderr)")
    }
}

@Suite struct IngestProgressCLITests {
    /// A one-shot ingest shows its progress on a terminal (pairs, bytes) and erases it before the summary;
    /// with --json or without a terminal it writes none.
    @Test func progressOnATerminalOnly() throws {
        let box = Sandbox()
        try box.initStore()
        for i in 0..<3 { try box.addCall(callID: "p\(i)", startedAt: recent()) }
        let tty = try onTerminal(box, ["ingest", box.inbox])
        #expect(tty.status == 0, "\(tty.output)")
        #expect(tty.output.contains("ingest: ") && tty.output.contains("/3 files"), "\(tty.output)")
        let erase = tty.output.range(of: "\r\u{1B}[K", options: .backwards)
        let summary = tty.output.range(of: "3 stored")
        #expect(erase != nil && summary != nil && erase!.upperBound <= summary!.lowerBound)

        for i in 3..<5 { try box.addCall(callID: "p\(i)", startedAt: recent()) }
        let json = try onTerminal(box, ["ingest", "--json", box.inbox])
        #expect(!json.output.contains("/2 files"), "\(json.output)")
        for i in 5..<7 { try box.addCall(callID: "p\(i)", startedAt: recent()) }
        let piped = try box.run(["ingest", "inbox"])
        #expect(piped.status == 0 && piped.stderr.isEmpty, "\(piped.stderr)")
    }
}

@Suite struct IngestAuditCLITests {
    /// Each input's outcome is one audit event: a half left in place is recorded once, not once per batch pass.
    @Test func aLoneHalfIsAuditedOnce() throws {
        let box = Sandbox()
        try box.initStore()
        try box.addCall(callID: "whole", startedAt: recent())
        try box.addCall(callID: "half", startedAt: recent())
        unlink(box.inbox + "/acme-energy/half.json")
        let r = try box.run(["ingest", "--json", "inbox"])
        #expect(r.status == 4)
        #expect(try box.count("SELECT count(*) FROM audit_events WHERE action = 'ingest.incomplete'") == 1)
        #expect(try box.count("SELECT count(*) FROM audit_events WHERE action = 'ingest.stored'") == 1)
    }
}
