// The listing's filters read one way by both front ends: `callvault list` and the web's `/calls`, on one store.
import CallVaultTesting
import Foundation
import Testing

@Suite struct ListFiltersCLITests {
    /// Calls either side of midnight on two tenants' clocks: acme-energy on Brussels time, telco-be on UTC.
    func populated() throws -> Sandbox {
        let box = Sandbox()
        try box.initStore()
        let config = box.store + "/callvault.toml"
        let text = try String(contentsOfFile: config, encoding: .utf8)
        try text.replacingOccurrences(of: "[tenants.telco-be]\n", with: "[tenants.telco-be]\ntime_zone = \"UTC\"\n")
            .write(toFile: config, atomically: true, encoding: .utf8)
        try box.addCall(callID: "late-20", startedAt: "2026-11-20T23:30:00+01:00", agent: "a-1")
        try box.addCall(callID: "early-21", startedAt: "2026-11-21T00:30:00+01:00", agent: "a-2", audio: "acme-energy/call-0002.wav")
        try box.addCall(callID: "end-21", startedAt: "2026-11-21T23:59:30+01:00", agent: "a-1", audio: "acme-energy/call-0003.wav")
        try box.addCall(callID: "early-22", startedAt: "2026-11-22T00:00:00+01:00", agent: "a-2")
        try box.addCall(tenant: "telco-be", callID: "t-20", startedAt: "2026-11-20T23:30:00Z", agent: "a-1")
        try box.addCall(tenant: "telco-be", callID: "t-21", startedAt: "2026-11-21T23:30:00Z", agent: "a-2", audio: "acme-energy/call-0002.wav")
        #expect(try box.run(["ingest", "inbox"]).status == 0)
        return box
    }

    @Test func theCommandLineAndTheWebGiveTheSameCallsForTheSameFilters() throws {
        let box = try populated()
        #expect((try? box.run(["user", "password", "root"], input: "correct horse battery\n"))?.status == 0)
        let server = try RunningServer(box)
        let url = "http://127.0.0.1:\(server.port)"
        #expect(eventually(timeout: 20) { httpGet(port: server.port, "/healthz")?.status == 200 })
        let jar = box.dir + "/cookies"
        #expect(curl(["-c", jar, "-o", "/dev/null", "-w", "%{http_code}", "--data-urlencode", "user=root",
                      "--data-urlencode", "password=correct horse battery", url + "/login"]) == "303")

        func cli(_ filters: [(String, String)]) throws -> [String] {
            let r = try box.run(["list", "--json"] + filters.flatMap { ["--" + $0.0.replacingOccurrences(of: "_", with: "-"), $0.1] })
            #expect(r.status == 0, "\(r.stderr)")
            return (try r.json()["recordings"] as? [[String: Any]] ?? []).map { $0["call_id"] as! String }.sorted()
        }
        func web(_ filters: [(String, String)]) throws -> [String] {
            let query = filters.map { "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")" }.joined(separator: "&")
            let body = curl(["-b", jar, "-H", "Accept: application/json", url + "/calls?" + query])
            let json = try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any]
            return (json?["recordings"] as? [[String: Any]] ?? []).map { $0["call_id"] as! String }.sorted()
        }

        // What a user relies on: a period includes its days whole, on the clock the listing shows.
        let cases: [([(String, String)], [String])] = [
            // Without a tenant the tenants disagree, so the default zone (Brussels): telco-be's t-20 is the 21st there.
            ([("from", "2026-11-21"), ("to", "2026-11-21")], ["early-21", "end-21", "t-20"]),
            ([("tenant", "telco-be"), ("from", "2026-11-21"), ("to", "2026-11-21")], ["t-21"]),
            ([("tenant", "acme-energy"), ("to", "2026-11-20")], ["late-20"]),
            // An instant is exclusive: calls that started before it.
            ([("to", "2026-11-21T23:59:30+01:00")], ["early-21", "late-20", "t-20"]),
            ([("from", "2026-11-22")], ["early-22", "t-21"]),
            ([("tenant", "acme-energy"), ("agent", "a-1"), ("from", "2026-11-21")], ["end-21"]),
        ]
        for (filters, expected) in cases {
            #expect(try cli(filters) == expected, "\(filters)")
            #expect(try web(filters) == expected, "\(filters)")
        }
        // Filters the fixtures do not decide by hand: both front ends agree.
        for filters in [[("min_duration", "PT3S")], [("max_duration", "3")], [("direction", "inbound"), ("to", "2026-11-21")],
                        [("tenant", "telco-be"), ("expiring_within", "P400D")], [("limit", "2")]] {
            #expect(try cli(filters) == web(filters), "\(filters)")
        }

        // A date that is not one is refused by both, naming the field each its own way.
        let refused = try box.run(["list", "--to", "2026-11-31"])
        #expect(refused.status == 2)
        #expect(refused.stderr.hasPrefix("callvault: --to: give a date"), "\(refused.stderr)")
        let page = curl(["-b", jar, "-H", "Accept: application/json", url + "/calls?to=2026-11-31"])
        #expect(page.contains("The end date: give a date"), "\(page)")
        #expect(server.stop() == 0)
    }
}
