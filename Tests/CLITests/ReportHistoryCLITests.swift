// The compliance report through the real binary as history: past figures survive the deletions retention and
// erasure make; holds due for review and the deadlines of data-subject requests are named in it and on /metrics.
import CallVaultTesting
import Foundation
import CallVaultStore
import Testing

@Suite(.serialized) struct ReportHistoryCLITests {
    static let subject = "+32470123456"

    func ok(_ box: Sandbox, _ args: [String]) throws -> [String: Any] {
        let r = try box.run(args + ["--json"])
        #expect(r.status == 0, "\(args): \(r.stderr)")
        return try r.json()
    }

    /// The report for June to November (as of the tests' today), as JSON.
    func report(_ box: Sandbox) throws -> [String: Any] {
        try ok(box, ["report", "--from", shifted("2026-06-01"), "--to", shifted("2026-11-30")])
    }

    func tenant(_ report: [String: Any], _ name: String) -> [String: Any]? {
        (report["tenants"] as! [[String: Any]]).first { $0["tenant"] as? String == name }
    }

    /// What the report says of a period's calls: the figures no later deletion may change.
    func history(_ report: [String: Any], _ name: String) -> [String] {
        guard let t = tenant(report, name) else { return [] }
        return ["\(t["stored"] ?? "-")", "\(t["announcement_compliance"] ?? "-")", "\(t["announcement_verified_rate"] ?? "-")",
                "\(t["rejected"] ?? "-")"]
    }

    /// Six acme-energy calls from June to yesterday (three of the subject), one telco-be call, and one pair at the
    /// inbox root naming a tenant nobody configured.
    func populated() throws -> Sandbox {
        let box = Sandbox()
        try box.initStore(["--simulation"])
        try box.addCall(callID: "A", startedAt: shifted("2026-06-10T10:00:00+02:00"))
        try box.addCall(callID: "B", startedAt: shifted("2026-08-15T10:00:00+02:00"), caller: Self.subject)
        try box.addCall(callID: "C", startedAt: shifted("2026-10-20T10:00:00+02:00"), caller: Self.subject)
        try box.addCall(callID: "D", startedAt: shifted("2026-11-20T10:00:00+01:00"), caller: Self.subject)
        try box.addCall(callID: "E", startedAt: shifted("2026-11-21T09:00:00+01:00"))
        try box.addCall(callID: "F", startedAt: shifted("2026-11-21T11:00:00+01:00"))
        try box.addCall(tenant: "telco-be", callID: "T", startedAt: shifted("2026-11-21T10:00:00+01:00"), audio: "acme-energy/call-0001.wav")
        try box.copyFixtures(["bad-tenant-unknown.wav", "bad-tenant-unknown.json"])
        _ = try box.run(["ingest", "inbox"])  // exit status says a pair was rejected; the catalog says what was stored
        #expect(try box.state().rows == ["A", "B", "C", "D", "E", "F", "T"])
        return box
    }

    @Test func deletionsNeverLowerThePastFigures() throws {
        let box = try populated()
        let ids = try box.recordingIDs()
        let before = try report(box)
        #expect(tenant(before, "acme-energy")?["stored"] as? Int == 6)
        #expect(tenant(before, "telco-be")?["stored"] as? Int == 1)
        // The pair naming an unconfigured tenant is counted, under `(unknown)`, never under the name it gave.
        #expect((tenant(before, "(unknown)")?["rejected"] as? [String: Int]) == ["tenant_unknown": 1])
        #expect(tenant(before, "globex") == nil)

        // Retention: by March, A's and B's metadata (six months) are due and go.
        let swept = try ok(box, ["sweep", "--now", shifted("2027-03-01T00:00:00Z")])
        #expect(swept["metadata_deleted"] as? Int == 2)
        #expect(try box.state().rows == ["C", "D", "E", "F", "T"])
        let afterSweep = try report(box)
        for name in ["acme-energy", "telco-be", "(unknown)"] { #expect(history(afterSweep, name) == history(before, name), "\(name)") }
        #expect(tenant(afterSweep, "acme-energy")?["metadata_deleted"] as? Int == 2, "the deletions are reported as such")

        // Erasure: the subject's D is held, so only C goes now; D goes when its hold is released.
        let hold = try ok(box, ["hold", "place", "--kind", "legal", "--case", "L-1", "--recording", ids["D"]!])["hold_id"] as! String
        let req = try ok(box, ["request", "open", "--kind", "erasure", "--tenant", "acme-energy", "--subject", Self.subject, "--received", shifted("2026-11-20"),
                               "--reference", "DSR-HIST"])["request_id"] as! String
        _ = try ok(box, ["request", "erase", req])
        #expect(try box.state().rows == ["D", "E", "F", "T"])
        #expect(try box.run(["hold", "release", hold, "--note", "case closed", "--confirm-erasure"]).status == 0)
        #expect(try box.state().rows == ["E", "F", "T"])
        let afterErasure = try report(box)
        for name in ["acme-energy", "telco-be", "(unknown)"] { #expect(history(afterErasure, name) == history(before, name), "\(name)") }

        // A period holding only deleted calls still counts them; one outside the range counts none of them.
        let summer = try ok(box, ["report", "--from", shifted("2026-06-01"), "--to", shifted("2026-08-31")])
        #expect(tenant(summer, "acme-energy")?["stored"] as? Int == 2)
        let spring = try ok(box, ["report", "--from", shifted("2026-03-01"), "--to", shifted("2026-05-31")])
        #expect(tenant(spring, "acme-energy")?["stored"] as? Int == 0)

        // The counts keep no personal data: no recording id, number, agent or call id anywhere in them.
        let kept = try box.catalog().read { db in
            try SQLRow.fetchAll(db, sql: "SELECT * FROM deleted_call_counts").map { $0.description }.joined(separator: "\n")
        }
        #expect(!kept.isEmpty)
        for secret in [Self.subject, "+32470000001", "a-1", "billing-nl"] + ["A", "B", "C", "D"].map({ ids[$0]! }) {
            #expect(!kept.contains(secret), "\(secret) kept after deletion")
        }
    }

    @Test func holdsPastTheirReviewDateAreListedAndReported() throws {
        let box = try populated()
        let ids = try box.recordingIDs()
        func place(_ caseRef: String, review: String?, _ call: String) throws -> String {
            var args = ["hold", "place", "--kind", "legal", "--case", caseRef, "--recording", ids[call]!]
            if let review { args += ["--review-at", review] }
            return try ok(box, args)["hold_id"] as! String
        }
        let overdue = try place("CASE-OLD\u{1B}[2J", review: shifted("2026-11-01"), "A")
        let yesterday = try place("CASE-YESTERDAY", review: shifted("2026-11-21T12:00:00+01:00"), "B")
        _ = try place("CASE-LATER", review: shifted("2027-01-31"), "C")
        _ = try place("CASE-NEVER", review: nil, "D")
        let released = try place("CASE-RELEASED", review: shifted("2026-10-01"), "E")
        #expect(try box.run(["hold", "release", released, "--note", "done"]).status == 0)

        let listed = try ok(box, ["hold", "list", "--due-for-review"])["holds"] as! [[String: Any]]
        #expect(listed.map { $0["hold_id"] as! String } == [overdue, yesterday], "active, past review, longest overdue first")
        let text = try box.run(["hold", "list", "--due-for-review"])
        #expect(text.status == 0)
        #expect(text.stdout.split(separator: "\n").count == 2 && text.stdout.contains("review due"))
        #expect(!text.stdout.contains("\u{1B}"), "a case reference cannot drive the terminal")

        let r = try report(box)
        let due = r["holds_due_for_review"] as! [[String: String]]
        #expect(due.map { $0["hold_id"]! } == [overdue, yesterday])
        #expect(due.first?["case_ref"] == "CASE-OLD\u{1B}[2J")
        #expect(due.last?["review_at"] == shiftedUTC("2026-11-21T12:00:00+01:00"))
        let table = try box.run(["report", "--from", shifted("2026-06-01"), "--to", shifted("2026-11-30")]).stdout
        let lines = table.split(separator: "\n").filter { $0.hasPrefix("hold due for review: ") }
        #expect(lines.count == 2 && lines[0].contains(overdue) && lines[1].contains("CASE-YESTERDAY"))
        #expect(!table.contains("\u{1B}"))

        // A coach sees neither the list nor the report.
        try "\n[users.coach-an]\nrole = \"coach\"\nteams = [\"billing-nl\"]\n".append(to: box.store + "/callvault.toml")
        #expect(try box.run(["--as", "coach-an", "hold", "list", "--due-for-review"]).status == 3)
        #expect(try box.run(["--as", "coach-an", "report"]).status == 3)
    }

    /// An overdue request (received two months ago), one due in four days, one due next month and a closed one.
    func openRequests(_ box: Sandbox) throws -> (overdue: String, soon: String, later: String) {
        func open(_ received: String, _ ref: String) throws -> String {
            try ok(box, ["request", "open", "--kind", "access", "--tenant", "acme-energy", "--subject", Self.subject, "--received", received, "--reference", ref])["request_id"] as! String
        }
        let overdue = try open(shifted("2026-09-20"), "DSR-1")
        let soon = try open(shifted("2026-10-26"), "DSR-2")
        let later = try open(shifted("2026-11-22"), "DSR-3")
        let closed = try open(shifted("2026-09-01"), "DSR-4")
        _ = try ok(box, ["request", "close", closed, "--outcome", "answered"])
        return (overdue, soon, later)
    }

    @Test func theReportCountsOpenRequestsByDeadline() throws {
        let box = try populated()
        #expect(try report(box)["requests"] as? [String: Int] == ["open": 0, "due_within_7_days": 0, "overdue": 0])
        _ = try openRequests(box)
        #expect(try report(box)["requests"] as? [String: Int] == ["open": 3, "due_within_7_days": 1, "overdue": 1])
        let table = try box.run(["report"]).stdout
        #expect(table.contains("data-subject requests: 3 open, 1 due within 7 days, 1 overdue"))
    }

    @Test func metricsShowRequestDeadlinesWithoutAuditing() throws {
        let box = Sandbox()
        try box.initStore()
        try FileManager.default.createDirectory(atPath: box.inbox + "/acme-energy", withIntermediateDirectories: true)
        let (overdue, _, _) = try openRequests(box)
        let port = freePort()
        let daemon = try RunningDaemon(box, ["--metrics", "127.0.0.1:\(port)"])
        daemon.waitReady()
        #expect(eventually { httpGet(port: port, "/metrics").flatMap { metric($0.body, "callvault_requests_open") } == 3 })
        let body = httpGet(port: port, "/metrics")?.body ?? ""
        #expect(metric(body, "callvault_requests_due_soon") == 1)
        #expect(metric(body, "callvault_requests_overdue") == 1)
        #expect(body.contains("# TYPE callvault_requests_overdue gauge"))
        #expect(!body.contains("DSR-") && !body.contains(Self.subject), "counts only")

        // Read at each scrape: closing the overdue one shows at once; scrapes leave no audit event.
        let events = try box.count("SELECT count(*) FROM audit_events")
        _ = try ok(box, ["request", "close", overdue, "--outcome", "answered late"])
        #expect(eventually { httpGet(port: port, "/metrics").flatMap { metric($0.body, "callvault_requests_overdue") } == 0 })
        for _ in 0..<3 { _ = httpGet(port: port, "/metrics") }
        #expect(try box.count("SELECT count(*) FROM audit_events") == events + 1, "only the close is audited")
        #expect(httpGet(port: port, "/metrics").flatMap { metric($0.body, "callvault_requests_open") } == 2)
        #expect(daemon.stop().status == 0)
    }
}

extension String {
    func append(to path: String) throws {
        let h = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try h.seekToEnd()
        try h.write(contentsOf: Data(utf8))
        try h.close()
    }
}
