// Several workers on one catalog (issue 12), as an operator runs them: the sweeper's lock, claims on pairs of a
// shared inbox and their takeover after a lease, repair that keeps to dead workers' placements, the move of an
// embedded catalog to PostgreSQL, the password rules, and the daemon outliving the server going away.
import CallVaultPostgres
import CallVaultStore
import CallVaultTesting
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

@Suite struct SharedCatalogTests {
    static let pastMetadata = monthsAhead(7)
    /// A store with `n` recent calls, and a `sweep --now` at which their audio and metadata are both due.
    func dueStore(_ n: Int) throws -> Sandbox {
        let box = Sandbox()
        try box.initStore(["--simulation"])
        for i in 0..<n { try box.addCall(callID: "d\(i)", startedAt: recent()) }
        #expect(try box.run(["ingest", "inbox"]).status == 0)
        return box
    }

    // Both engines: the SQLite catalog's lock is a file lock beside it, PostgreSQL's an advisory lock.
    @Test func aSecondSweepSaysAnotherIsRunningAndExitsZero() throws {
        let box = try dueStore(3)
        let engine = try box.catalog()
        let held = try #require(try engine.tryExclusive(.sweeper), "the lock is free before any sweep")
        #expect(try engine.tryExclusive(.sweeper) == nil, "a second taker is refused while it is held")

        let second = try box.run(["sweep", "--now", Self.pastMetadata])
        #expect(second.status == 0, "\(second.stderr)")
        #expect(second.stdout.contains("another sweep is running"), "\(second.stdout)")
        #expect(try box.count("SELECT count(*) FROM recordings") == 3, "the second sweep deleted nothing")
        let json = try box.run(["sweep", "--json", "--now", Self.pastMetadata]).json()
        #expect(json["already_running"] as? Bool == true)

        held.release()
        let first = try box.run(["sweep", "--json", "--now", Self.pastMetadata])
        #expect(first.status == 0, "\(first.stderr)")
        #expect(try first.json()["metadata_deleted"] as? Int == 3, "once the lock is free, the sweep runs")
    }

    /// The same filter finds the same events on both engines (PostgreSQL's LIKE minds case, SQLite's does not).
    @Test func anAuditActionFilterMatchesAlikeOnBothEngines() throws {
        let box = try dueStore(1)
        #expect(try box.run(["hold", "place", "--kind", "legal", "--case", "A1", "--tenant", "acme-energy"]).status == 0)
        for typed in ["hold", "HOLD", "Hold.Placed"] {
            let r = try box.run(["audit", "list", "--json", "--action", typed])
            #expect(r.status == 0, "\(r.stderr)")
            #expect(r.stdout.contains("hold.placed"), "--action \(typed): \(r.stdout)")
        }
    }

    /// A killed sweeper frees the lock with its process (its file or its connection goes with it).
    @Test func aKilledSweepFreesTheLock() throws {
        let box = try dueStore(1)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        // The sweeper is stopped inside its deciding transaction; it then dies of SIGKILL.
        p.arguments = ["-c", "exec \(shellQuoted(Sandbox.binary)) sweep --now \(Self.pastMetadata)"]
        var env = ProcessInfo.processInfo.environment
        env["CALLVAULT_STORE"] = box.store
        env["CALLVAULT_CRASH_AT"] = "sweep.before-remove"
        if let url = box.catalogURL { env["CALLVAULT_CATALOG_URL"] = url }
        p.environment = env
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        #expect(p.terminationReason == .uncaughtSignal, "the crash point was reached")
        let engine = try box.catalog()
        #expect(eventually(timeout: 10) { (try? engine.tryExclusive(.sweeper)) != nil }, "the lock is free again")
    }
}

/// What only a shared catalog has. The suite runs these when CALLVAULT_TEST_PG names a server (make test-postgres).
@Suite(.enabled(if: Sandbox.onPostgres, "needs the throwaway PostgreSQL cluster of make test-postgres"))
struct PostgresCatalogTests {
    /// A store for daemons: files settle after 1 s, the tenant's inbox folder exists.
    func watchedStore() throws -> Sandbox {
        let box = Sandbox()
        try box.initStore()
        let config = box.store + "/callvault.toml"
        try String(contentsOfFile: config, encoding: .utf8).replacingOccurrences(of: "settle = \"PT5S\"", with: "settle = \"PT1S\"")
            .write(toFile: config, atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(atPath: box.inbox + "/acme-energy", withIntermediateDirectories: true)
        return box
    }

    func pairKey(_ box: Sandbox, _ callID: String) -> String {
        box.inbox + "/acme-energy/" + callID
    }

    @Test func aPairClaimedByALiveWorkerIsLeftAndOneOfADeadWorkerIsTakenOver() throws {
        let box = Sandbox()
        try box.initStore()
        try box.addCall(callID: "live1", startedAt: recent())
        try box.addCall(callID: "dead1", startedAt: recent())
        let future = isoUTC(Date().addingTimeInterval(600)), past = isoUTC(Date().addingTimeInterval(-1))
        try box.catalog().write { db in
            try db.execute(sql: "INSERT INTO ingest_workers (worker, host, alive_until) VALUES ('other:1', 'other', ?), ('gone:2', 'gone', ?)",
                           arguments: [future, past])
            try db.execute(sql: "INSERT INTO ingest_claims (pair_key, worker) VALUES (?, 'other:1'), (?, 'gone:2')",
                           arguments: [pairKey(box, "live1"), pairKey(box, "dead1")])
        }
        let r = try box.run(["ingest", "--json", "inbox"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try box.count("SELECT count(*) FROM recordings WHERE call_id = 'dead1'") == 1, "the dead worker's pair is taken over")
        #expect(try box.count("SELECT count(*) FROM recordings WHERE call_id = 'live1'") == 0, "the live worker's pair is left to it")
        #expect(FileManager.default.fileExists(atPath: box.inbox + "/acme-energy/live1.wav"), "and stays in the inbox")
        // Repair at the start of the run forgot the dead worker and its claim; a worker that dies later is taken
        // over in the claim itself:
        let catalog = Catalog(engine: try box.catalog())
        try catalog.heartbeat(worker: "late:3", host: "late", leaseSeconds: -1)
        #expect(try catalog.claim(["k1"], worker: "late:3").held == ["k1"], "a free pair is claimed")
        try catalog.heartbeat(worker: "me:4", host: "me", leaseSeconds: 600)
        let takeover = try catalog.claim(["k1"], worker: "me:4")
        #expect(takeover.held == ["k1"] && takeover.takenOver == 1, "a dead holder's pair is taken over")
        #expect(try catalog.claim(["k1"], worker: "other:1").held.isEmpty, "a live holder keeps it")
        try catalog.releaseClaims(["k1"], worker: "me:4")
        #expect(try box.count("SELECT count(*) FROM ingest_claims WHERE worker != 'other:1'") == 0, "claims go when the batch is done")

        // The other worker dies (its lease runs out): the pair is anyone's.
        try box.catalog().write { try $0.execute(sql: "UPDATE ingest_workers SET alive_until = ? WHERE worker = 'other:1'", arguments: [past]) }
        #expect(try box.run(["ingest", "inbox"]).status == 0)
        #expect(try box.count("SELECT count(*) FROM recordings") == 2)
        #expect(box.files(under: box.inbox).isEmpty)
    }

    @Test func repairUndoesOnlyWhatDeadWorkersPlaced() throws {
        let box = Sandbox()
        try box.initStore()
        let future = isoUTC(Date().addingTimeInterval(600)), past = isoUTC(Date().addingTimeInterval(-1))
        let liveFile = "audio/2026/11/20/01a20000-0000-7000-8000-000000000001.wav"
        let deadFile = "audio/2026/11/20/01a20000-0000-7000-8000-000000000002.wav"
        try FileManager.default.createDirectory(atPath: box.store + "/audio/2026/11/20", withIntermediateDirectories: true)
        for f in [liveFile, deadFile] { _ = FileManager.default.createFile(atPath: box.store + "/" + f, contents: Data("x".utf8)) }
        try box.catalog().write { db in
            try db.execute(sql: "INSERT INTO ingest_workers (worker, host, alive_until) VALUES ('other:1', 'other', ?), ('gone:2', 'gone', ?)",
                           arguments: [future, past])
            try db.execute(sql: """
                INSERT INTO pending_placements (recording_id, audio_path, temp_path, worker) VALUES
                ('01a20000-0000-7000-8000-000000000001', ?, 'staging/a.tmp', 'other:1'),
                ('01a20000-0000-7000-8000-000000000002', ?, 'staging/b.tmp', 'gone:2')
                """, arguments: [liveFile, deadFile])
        }
        // Any ingest repairs first.
        try FileManager.default.createDirectory(atPath: box.inbox, withIntermediateDirectories: true)
        let r = try box.run(["ingest", "inbox"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(FileManager.default.fileExists(atPath: box.store + "/" + liveFile), "a live worker's placement in flight is not touched")
        #expect(!FileManager.default.fileExists(atPath: box.store + "/" + deadFile), "a dead worker's orphan is removed")
        #expect(try box.count("SELECT count(*) FROM pending_placements") == 1)
    }

    /// A worker killed once its quarantine copy was whole, while another worker lives (whose repair leaves an
    /// entry younger than a lease alone): the next worker to take the pair finishes that entry, and the pair is
    /// quarantined once — not a second time beside it, to be registered twice when the lease runs out.
    @Test func aPairAKilledWorkerWasQuarantiningIsQuarantinedOnce() throws {
        let box = Sandbox()
        try box.initStore()
        try box.copyFixtures(["bad-tenant-unknown.wav", "bad-tenant-unknown.json"])
        let future = isoUTC(Date().addingTimeInterval(600)), past = isoUTC(Date().addingTimeInterval(-1))
        try box.catalog().write { db in
            try db.execute(sql: "INSERT INTO ingest_workers (worker, host, alive_until) VALUES ('other:1', 'other', ?)", arguments: [future])
        }
        for point in ["quarantine.after-copy:1", "quarantine.after-reason:1"] {
            let crashed = try box.run(["ingest", "inbox"], env: ["CALLVAULT_CRASH_AT": point])
            #expect(crashed.killed, "the fault point \(point) was reached")
        }
        let r = try box.run(["ingest", "--json", "inbox"])
        #expect(r.status == 4, "\(r.stderr)")
        #expect(box.files(under: box.inbox).isEmpty, "the pair left the inbox")
        #expect(try box.count("SELECT count(*) FROM rejections") == 1)
        #expect(box.files(under: box.store + "/quarantine").count == 3, "one entry: audio, sidecar, reason.json")
        #expect(box.files(under: box.store + "/staging").isEmpty, "no marker left")

        // The other worker's lease runs out: a repair that finishes everything finds nothing more to register.
        try box.catalog().write { try $0.execute(sql: "UPDATE ingest_workers SET alive_until = ? WHERE worker = 'other:1'", arguments: [past]) }
        #expect(try box.run(["ingest", "inbox"]).status == 0)
        #expect(try box.count("SELECT count(*) FROM rejections") == 1)
        #expect(box.files(under: box.store + "/quarantine").count == 3)
        #expect(try box.run(["audit", "verify"]).status == 0)
    }

    @Test func twoDaemonsOnOneSharedInboxStoreEachPairOnce() throws {
        let box = try watchedStore()
        let a = try RunningDaemon(box), b = try RunningDaemon(box)
        a.waitReady()
        b.waitReady()
        for i in 0..<40 { try box.addCall(callID: "s\(i)", startedAt: recent()) }
        #expect(eventually(timeout: 90) { box.files(under: box.inbox).isEmpty }, "every pair taken: \(a.output) \(b.output)")
        #expect(a.stop().status == 0)
        #expect(b.stop().status == 0)
        #expect(try box.count("SELECT count(*) FROM recordings") == 40)
        #expect(try box.count("SELECT count(DISTINCT call_id) FROM recordings") == 40)
        #expect(try box.count("SELECT count(*) FROM rejections") == 0, "no pair seen twice as a conflict: \(a.output) \(b.output)")
        #expect(try box.count("SELECT count(*) FROM pending_placements") == 0)
        #expect(box.files(under: box.store + "/audio").count == 40, "no orphan audio")
        #expect(try box.run(["audit", "verify"]).status == 0)
    }

    @Test func migrateCopiesAnEmbeddedCatalogAndChecksIt() throws {
        let box = Sandbox()
        let embedded = ["CALLVAULT_CATALOG_URL": ""]   // this store keeps SQLite; the sandbox's database is the target
        #expect(try box.run(["init", "--simulation", "--tenant", "acme-energy", "--tenant", "telco-be"], env: embedded).status == 0)
        try box.copyFixtures()
        _ = try box.run(["ingest", "inbox"], env: embedded)
        #expect(try box.run(["hold", "place", "--kind", "legal", "--case", "M1", "--tenant", "telco-be"], env: embedded).status == 0)
        let ids = try box.run(["list", "--json"], env: embedded).stdout
        #expect(try box.run(["request", "open", "--kind", "access", "--tenant", "acme-energy", "--subject", "+32470000001", "--reference", "REF-M1",
                             "--received", testDay()], env: embedded).status == 0)
        let url = try #require(box.catalogURL)

        // A password on the command line would be visible to every user of the host.
        let withPassword = try box.run(["catalog", "migrate", "--to", url.replacingOccurrences(of: "callvault@", with: "callvault:secret@")], env: embedded)
        #expect(withPassword.status == 2)
        #expect(withPassword.stderr.contains("password"), "\(withPassword.stderr)")
        #expect(!withPassword.stderr.contains("secret"))

        let r = try box.run(["catalog", "migrate", "--json", "--to", url], env: embedded)
        #expect(r.status == 0, "\(r.stderr)")
        let out = try r.json()
        let rows = out["rows"] as? [String: Int] ?? [:]
        #expect(rows["recordings"] == 6 && rows["holds"] == 1 && rows["requests"] == 1, "\(out)")
        #expect((out["audit_events"] as? Int ?? 0) > 10)

        // The copy is the catalog once the configuration says so: the same calls, the same chain, one event more.
        let config = box.store + "/callvault.toml"
        try (String(contentsOfFile: config, encoding: .utf8) + "\n[catalog]\nurl = \"\(url)\"\n").write(toFile: config, atomically: true, encoding: .utf8)
        let onCopy = try box.run(["list", "--json"], env: embedded)
        #expect(onCopy.status == 0, "\(onCopy.stderr)")
        #expect(onCopy.stdout == ids, "the copy lists the same recordings")
        #expect(try box.run(["audit", "verify"], env: embedded).status == 0)
        #expect(try box.count("SELECT count(*) FROM audit_events WHERE action = 'catalog.migrated'") == 1)
        #expect(try box.run(["hold", "list", "--json"], env: embedded).stdout.contains("M1"))

        // Into a database that is not empty: refused, nothing changed.
        let again = try box.run(["catalog", "migrate", "--to", url], env: ["CALLVAULT_CATALOG_URL": ""])
        #expect(again.status != 0)
    }

    /// The sweeper's advisory lock lives with its connection: when the server drops it, the hold says so (the
    /// sweeper stops between batches) and the lock is free for the next sweeper.
    @Test func aSweeperLockWhoseConnectionDiesIsKnownLost() throws {
        let box = Sandbox()
        try box.initStore()
        let engine = try box.catalog()
        let hold = try #require(try engine.tryExclusive(.sweeper))
        #expect(hold.isHeld)
        let db = try #require(box.database)
        Sandbox.psql("""
            SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted
              AND database = (SELECT oid FROM pg_database WHERE datname = '\(db)')
            """)
        #expect(eventually(timeout: 10) { !hold.isHeld }, "the lost lock is noticed")
        #expect(try engine.tryExclusive(.sweeper) != nil, "and free for the next sweeper")
    }

    @Test func initRefusesADatabaseThatHoldsAnotherStoresCatalog() throws {
        let box = Sandbox()
        try box.initStore()
        let r = try box.run(["init", "--store", box.dir + "/second", "--tenant", "acme-energy"])
        #expect(r.status == 2, "\(r.stderr)")
        #expect(r.stderr.contains("already holds a store's catalog"), "\(r.stderr)")
        #expect(try box.count("SELECT count(*) FROM audit_events WHERE action = 'store.init'") == 1, "the first store's catalog is untouched")
        #expect(!FileManager.default.fileExists(atPath: box.dir + "/second"), "nothing was created")
    }

    @Test func aPasswordInTheConfigurationOrInAFileOthersReadIsRefused() throws {
        let box = Sandbox()
        try box.initStore()
        let config = box.store + "/callvault.toml"
        let text = try String(contentsOfFile: config, encoding: .utf8)
        try text.replacingOccurrences(of: "url = \"postgresql://callvault@", with: "url = \"postgresql://callvault:hunter2@")
            .write(toFile: config, atomically: true, encoding: .utf8)
        let r = try box.run(["list"], env: ["CALLVAULT_CATALOG_URL": ""])
        #expect(r.status == 2, "\(r.stderr)")
        #expect(r.stderr.contains("password may not be written in callvault.toml"), "\(r.stderr)")
        #expect(!r.stderr.contains("hunter2"))

        try text.replacingOccurrences(of: "[catalog]", with: "[catalog]\npassword_file = \"\(box.dir)/pw\"")
            .write(toFile: config, atomically: true, encoding: .utf8)
        _ = FileManager.default.createFile(atPath: box.dir + "/pw", contents: Data((Sandbox.postgres!.password + "\n").utf8))
        chmod(box.dir + "/pw", 0o644)
        let open = try box.run(["list"], env: ["CALLVAULT_CATALOG_URL": "", "CALLVAULT_CATALOG_PASSWORD": ""])
        #expect(open.status == 2)
        #expect(open.stderr.contains("readable by others"), "\(open.stderr)")
        chmod(box.dir + "/pw", 0o600)
        let ok = try box.run(["list"], env: ["CALLVAULT_CATALOG_URL": "", "CALLVAULT_CATALOG_PASSWORD": ""])
        #expect(ok.status == 0, "the password from the file: \(ok.stderr)")
    }

    /// `sslmode` as libpq reads it: `require` encrypts (the server's certificate not checked), `disable` does not,
    /// `verify-full` refuses a certificate no trusted root signed (the throwaway cluster's is self-signed).
    @Test func theConnectionIsEncryptedWhenAsked() throws {
        let box = Sandbox()
        try box.initStore()
        let url = try #require(box.catalogURL), password = Sandbox.postgres!.password
        func encrypted(_ mode: String) throws -> Bool? {
            let engine = try PostgresEngine(target: PostgresTarget.parse(url + "?sslmode=" + mode, password: password, allowPassword: false))
            return try engine.read { try Bool.fetchOne($0, sql: "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()") }
        }
        #expect(try encrypted("require") == true)
        #expect(try encrypted("disable") == false)
        #expect(throws: SQLEngineError.self) { _ = try encrypted("verify-full") }
        let r = try box.run(["list"], env: ["CALLVAULT_CATALOG_URL": url + "?sslmode=require"])
        #expect(r.status == 0, "\(r.stderr)")
        let bad = try box.run(["list"], env: ["CALLVAULT_CATALOG_URL": url + "?sslmode=sometimes"])
        #expect(bad.status == 2)
        #expect(bad.stderr.contains("sslmode must be one of"), "\(bad.stderr)")
    }

    @Test func theDaemonOutlivesTheServerGoingAwayAndHealthzSaysWhy() throws {
        let box = try watchedStore()
        let port = freePort()
        let daemon = try RunningDaemon(box, ["--metrics", "127.0.0.1:\(port)"])
        daemon.waitReady()
        #expect(eventually(timeout: 20) { httpGet(port: port, "/healthz")?.status == 200 })

        // The server refuses this database and drops the daemon's connections: the next batch cannot commit.
        let db = try #require(box.database)
        Sandbox.psql("ALTER DATABASE \(db) ALLOW_CONNECTIONS false")
        Sandbox.psql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '\(db)' AND pid != pg_backend_pid()")
        for i in 0..<5 { try box.addCall(callID: "o\(i)", startedAt: recent()) }
        #expect(eventually(timeout: 30) { daemon.output.contains("vault failure") }, "\(daemon.output)")
        let health = httpGet(port: port, "/healthz")
        #expect(health?.status == 503)
        #expect(health?.body.contains("catalog") == true, "\(health?.body ?? "")")
        #expect(box.files(under: box.inbox).count == 10, "the inputs wait in the inbox")

        Sandbox.psql("ALTER DATABASE \(db) ALLOW_CONNECTIONS true")
        #expect(eventually(timeout: 90) { box.files(under: box.inbox).isEmpty }, "it resumes by itself: \(daemon.output)")
        #expect(eventually(timeout: 20) { httpGet(port: port, "/healthz")?.status == 200 })
        #expect(daemon.stop().status == 0)
        #expect(try box.count("SELECT count(*) FROM recordings") == 5)
        #expect(try box.run(["audit", "verify"]).status == 0)
    }
}
