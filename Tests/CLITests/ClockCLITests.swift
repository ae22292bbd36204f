// The suite's day and the binary's clock (issue 19): a run shifted by CALLVAULT_TEST_SHIFT_DAYS really is shifted,
// only a simulation store honours the variable, and a clock set back is named by `audit verify`, never hidden.
import CallVaultCore
import CallVaultTesting
import Foundation
import Testing

@Suite struct ClockCLITests {
    /// The first instant of the store's audit log (`store.init`), as the binary dated it.
    func initDate(_ box: Sandbox, env: [String: String] = [:]) throws -> Date {
        let r = try box.run(["audit", "list", "--json", "--action", "store.init"], env: env)
        #expect(r.status == 0, "\(r.stderr)")
        let events = try #require(try r.json()["events"] as? [[String: Any]])
        return TestDays.instant(try #require(events.first?["at"] as? String))
    }

    /// The line that names the day this run is as of (printed once per run, by this test), and the proof that
    /// the binary under test sees that same day on a simulation store.
    @Test func theBinaryUnderTestSeesTheSuitesDay() throws {
        print(TestDays.banner)
        let box = Sandbox()
        try box.initStore()
        let at = try initDate(box)
        #expect(abs(at.timeIntervalSince(TestDays.now)) < 600, "the binary dated store.init \(isoUTC(at)); the suite's now is \(isoUTC(TestDays.now))")
    }

    /// The variable moves a simulation store's clock, and nothing else's: a production store reads the real
    /// clock whatever the environment says.
    @Test(arguments: [400, -30, 59])
    func onlyASimulationStoreHonoursTheShift(days: Int) throws {
        let shift = [ShiftedClock.variable: String(days)]
        let simulation = Sandbox()
        #expect(try simulation.run(["init", "--simulation", "--tenant", "acme-energy"], env: shift).status == 0)
        let moved = try initDate(simulation, env: shift)
        #expect(abs(moved.timeIntervalSince(Date()) - Double(days) * 86_400) < 600, "simulation store: \(isoUTC(moved))")

        let production = Sandbox()
        #expect(try production.run(["init", "--tenant", "acme-energy"], env: shift).status == 0)
        let real = try initDate(production, env: shift)
        #expect(abs(real.timeIntervalSince(Date())) < 600, "a production store took the variable: \(isoUTC(real))")
    }

    /// A careless variable in an operator's shell must not sweep a production vault: its calls are a day old,
    /// and a sweep "400 days later" deletes nothing.
    @Test func aShiftInTheEnvironmentDoesNotSweepAProductionVault() throws {
        let box = Sandbox()
        try box.initStore(production: true)
        try box.addCall(callID: "kept", startedAt: onRealClock("2026-11-21T10:00:00+01:00"))
        #expect(try box.run(["ingest", "inbox"]).status == 0)
        let r = try box.run(["sweep", "--json"], env: [ShiftedClock.variable: "400"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try r.json()["metadata_deleted"] as? Int == 0)
        #expect(try box.state().audio == ["kept"])
    }

    /// An event appended while the clock was a day behind: the chain still verifies (nothing was altered), the
    /// event is named with the time before it, and a sequence range lists what a time range misses.
    @Test func anEventDatedBeforeItsPredecessorIsNamedAndFoundBySequence() throws {
        let box = Sandbox()
        try box.initStore()
        try box.addCall(callID: "c1", startedAt: recent(hours: 30))
        #expect(try box.run(["ingest", "inbox"]).status == 0)
        let before = try box.run(["audit", "list", "--json"]).json()["events"] as? [[String: Any]] ?? []
        let lastBefore = try #require(before.last)
        let lastSeq = try #require(lastBefore["seq"] as? Int)
        // The same binary, its clock set back a day (a host clock corrected, a VM resumed from a snapshot).
        let setBack = [ShiftedClock.variable: String(TestDays.shiftDays - 1)]
        #expect(try box.run(["hold", "place", "--kind", "incident", "--case", "INC-1", "--tenant", "acme-energy"], env: setBack).status == 0)

        let verify = try box.run(["audit", "verify", "--json"])
        #expect(verify.status == 0, "a clock set back is not tampering: \(verify.stdout)")
        let json = try verify.json()
        #expect(json["ok"] as? Bool == true)
        let regressions = try #require(json["time_regressions"] as? [[String: Any]])
        #expect(regressions.count == 1, "\(regressions)")
        let first = try #require(regressions.first)
        #expect(first["seq"] as? Int == lastSeq + 1 + 1, "audit list appended one event, then the hold: \(first)")
        let at = TestDays.instant(try #require(first["at"] as? String))
        let previous = TestDays.instant(try #require(first["previous_at"] as? String))
        #expect(previous.timeIntervalSince(at) > 86_000)
        let human = try box.run(["audit", "verify"])
        #expect(human.status == 0)
        #expect(human.stdout.contains("chain intact") && human.stdout.contains("warning: event \(lastSeq + 2) is dated"), "\(human.stdout)")

        // --since the last event before the step misses the hold; a sequence range finds it.
        let since = try #require(lastBefore["at"] as? String)
        let byTime = try box.run(["audit", "list", "--json", "--since", since, "--action", "hold"]).json()["events"] as? [[String: Any]]
        #expect(byTime?.isEmpty == true, "the time filter cannot see it (which is why verify names it)")
        let bySeq = try box.run(["audit", "list", "--json", "--from-seq", String(lastSeq), "--to-seq", String(lastSeq + 2)]).json()["events"] as? [[String: Any]]
        #expect(bySeq?.map { $0["seq"] as? Int } == [lastSeq, lastSeq + 1, lastSeq + 2])
        #expect(bySeq?.last?["action"] as? String == "hold.placed")
        // With a limit, the first events from there, not the most recent ones.
        let firstTwo = try box.run(["audit", "list", "--json", "--from-seq", String(lastSeq), "--limit", "2"]).json()["events"] as? [[String: Any]]
        #expect(firstTwo?.map { $0["seq"] as? Int } == [lastSeq, lastSeq + 1])
        #expect(try box.run(["audit", "list", "--from-seq", "9", "--to-seq", "3"]).status == 2)
        #expect(try box.run(["audit", "list", "--from-seq", "0"]).status == 2)
    }
}

// Whoever runs the command (issue 19 §3): only the store's owner may, root included.
@Suite struct StoreOwnerCLITests {
    /// Every path below `root` owned by uid 0, relative.
    func rootOwned(_ root: String) -> [String] {
        let all = (try? FileManager.default.subpathsOfDirectory(atPath: root)) ?? []
        return ([""] + all).filter { var st = stat(); return lstat(root + "/" + $0, &st) == 0 && st.st_uid == 0 }
    }

    @Test func rootIsRefusedOnAStoreItDoesNotOwnAndLeavesNothingOfItsOwn() throws {
        let box = Sandbox()
        box.handToNobody()
        #expect(try box.run(["init", "--simulation", "--tenant", "acme-energy", "--tenant", "telco-be"], as: "nobody").status == 0)
        // root is an admin of the store, as a careless set-up would have it.
        let config = box.store + "/callvault.toml"
        let text = try String(contentsOfFile: config, encoding: .utf8)
        #expect(runuserWrite(text + "\n[users.root]\nrole = \"admin\"\n", to: config))
        try box.addCall(callID: "o1", startedAt: recent())
        _ = shell("chown -R nobody '\(box.inbox)'")

        for args in [["ingest", box.inbox], ["sweep"], ["list"], ["audit", "verify"], ["hold", "list"], ["fixity"]] {
            let r = try box.run(args)
            #expect(r.status == 3, "\(args): \(r.stdout) \(r.stderr)")
            #expect(r.stderr.contains("belongs to nobody") && r.stderr.contains("sudo -u nobody callvault"), "\(args): \(r.stderr)")
            #expect(r.stderr.split(separator: "\n").count == 1, "one line: \(r.stderr)")
        }
        #expect(rootOwned(box.store).isEmpty, "root left \(rootOwned(box.store)) in the store")
        #expect(box.files(under: box.inbox).count == 2, "the refused ingest left the pair where it was")

        // The owner then runs as the daemon would, and nothing stands in its way.
        let r = try box.run(["ingest", "--json", box.inbox], as: "nobody")
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try box.run(["sweep"], as: "nobody").status == 0)
        #expect(try box.run(["fixity"], as: "nobody").status == 0)
        #expect(rootOwned(box.store).isEmpty, "\(rootOwned(box.store))")
    }

    /// A folder made ready for the store by its user: root's `init` there is refused before anything is written.
    @Test func rootCannotInitAStoreInAFolderItDoesNotOwn() throws {
        let box = Sandbox()
        box.handToNobody()
        #expect(mkdir(box.store, 0o700) == 0 && chown(box.store, 65534, 65534) == 0)
        let r = try box.run(["init", "--simulation", "--tenant", "acme-energy"])
        #expect(r.status == 3, "\(r.stderr)")
        #expect(r.stderr.contains("belongs to nobody"), "\(r.stderr)")
        #expect(box.files(under: box.store).isEmpty && rootOwned(box.store).isEmpty, "nothing written: \(box.files(under: box.store))")
        #expect(try box.run(["init", "--simulation", "--tenant", "acme-energy"], as: "nobody").status == 0)
    }

    /// Two workers sharing an inbox: a pair the other took between the scan and the read is not an error.
    @Test func aPairTakenByAnotherWorkerIsDroppedSilently() throws {
        let box = Sandbox()
        try box.initStore()
        try box.addCall(callID: "mine", startedAt: recent())
        try box.addCall(callID: "taken", startedAt: recent())
        let (p, out) = try box.start(["ingest", "--json", "inbox"], env: ["CALLVAULT_STOP_AT": "ingest.after-scan"])
        #expect(waitUntilStopped(p))
        for ext in ["wav", "json"] { unlink(box.inbox + "/acme-energy/taken." + ext) }
        kill(p.processIdentifier, SIGCONT)
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        #expect(p.terminationStatus == 0)
        let json = try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:]
        #expect((json["unreadable"] as? [Any])?.isEmpty ?? true, "\(json)")
        #expect((json["stored"] as? [Any])?.count == 1)
    }
}

/// Writes `text` to `path` as nobody (the store's files are nobody's, 0600).
func runuserWrite(_ text: String, to path: String) -> Bool {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/sbin/runuser")
    p.arguments = ["-u", "nobody", "--", "/bin/sh", "-c", "cat > \(shellQuoted(path))"]
    let pipe = Pipe()
    p.standardInput = pipe
    try? p.run()
    pipe.fileHandleForWriting.write(Data(text.utf8))
    try? pipe.fileHandleForWriting.close()
    p.waitUntilExit()
    return p.terminationStatus == 0
}
