// One reading of a number (issue 20): ingest stores the form requests and holds look for, whatever form was typed.
import CallVaultStore
import CallVaultTesting
import Foundation
import Testing

extension RequestCLITests {
    /// The recorder wrote the trunk zero after the country code: stored as +32470555666, found by both forms.
    @Test func aTrunkZeroAfterTheCountryCodeIsStoredWithoutItAndFoundByEitherForm() throws {
        let box = try populated()
        try addCall(box, callID: "Z1", startedAt: shifted("2026-11-21T12:00:00+01:00"), caller: "+320470555666")
        #expect(try box.run(["ingest", "inbox"]).status == 0)
        let stored = try box.catalog().read { db in try String.fetchOne(db, sql: "SELECT caller FROM recordings WHERE call_id = 'Z1'") }
        #expect(stored == "+32470555666")
        for typed in ["0470 55 56 66", "+320470555666", "+32 470 55 56 66"] {
            let req = try open(box, kind: "access", subjects: [typed], tenant: "acme-energy")
            #expect(try findIDs(box, req) == ["Z1"], "\(typed)")
        }
    }

    /// A store written before ingest normalised numbers holds `+320470…`: the catalog's next opening rewrites
    /// it as ingest writes it now, so a request finds the call. Other numbers are left as they were.
    @Test func numbersStoredWithATrunkZeroBeforeThisVersionAreFoundAfterTheUpgrade() throws {
        let box = try populated()
        let q = try box.catalog()
        try q.write { db in
            try db.execute(sql: "UPDATE recordings SET caller = '+320470123456' WHERE call_id = 'S1'")
            try db.execute(sql: "UPDATE recordings SET callee = '+310201234567' WHERE call_id = 'O1'")
            if Sandbox.onPostgres {
                try db.execute(sql: "DELETE FROM callvault_migrations WHERE id LIKE 'v4:%'")
            } else {
                try db.execute(sql: "DELETE FROM grdb_migrations WHERE identifier LIKE 'v14:%'")
            }
        }
        let req = try open(box, kind: "access", tenant: "acme-energy")
        #expect(try findIDs(box, req) == ["S1", "S2", "S4"], "S1 is the subject's again")
        let numbers = try q.read { db in try SQLRow.fetchAll(db, sql: "SELECT call_id, caller, callee FROM recordings ORDER BY call_id") }
        let byCall = Dictionary(uniqueKeysWithValues: numbers.map { ($0["call_id"] as String, ($0["caller"] as String?, $0["callee"] as String?)) })
        #expect(byCall["S1"]?.0 == Self.subject)
        #expect(byCall["O1"]?.0 == Self.other && byCall["O1"]?.1 == "+31201234567")
        #expect(byCall["S2"]?.0 == "+3225550000", "a number without a trunk zero is unchanged")
    }

    /// A number that cannot be one of its country is refused at ingest as sidecar_invalid, the pair kept in quarantine.
    @Test func aCallerThatCannotBeANumberOfItsCountryIsQuarantined() throws {
        let box = try populated()
        // 9 digits after +32 must be a mobile (4[5-9]…); 10 digits are too many for Belgium.
        try addCall(box, callID: "Z2", startedAt: shifted("2026-11-21T12:00:00+01:00"), caller: "+32123456789")
        try addCall(box, callID: "Z3", startedAt: shifted("2026-11-21T12:30:00+01:00"), caller: "+324701234567")
        let r = try box.run(["ingest", "--json", "inbox"])
        #expect(r.status == 4)
        let rejected = try #require(try r.json()["rejected"] as? [[String: Any]])
        #expect(rejected.count == 2 && rejected.allSatisfy { $0["reason"] as? String == "sidecar_invalid" }, "\(rejected)")
        #expect(!r.stdout.contains("123456789") && !r.stderr.contains("123456789"), "the number is not echoed")
        #expect(try box.count("SELECT count(*) FROM recordings WHERE call_id IN ('Z2', 'Z3')") == 0)
    }

    /// `hold place --caller` in the national form holds what the E.164 form holds.
    @Test func aHoldByCallerInTheNationalFormFindsTheSubjectsCalls() throws {
        let box = try populated()
        let national = try ok(box, ["hold", "place", "--kind", "incident", "--case", "INC-1", "--tenant", "acme-energy",
                                    "--caller", "0470 12 34 56"])
        let e164 = try ok(box, ["hold", "place", "--kind", "incident", "--case", "INC-2", "--tenant", "acme-energy",
                                "--caller", Self.subject])
        #expect(national["recordings"] as? Int == 3)
        #expect(national["recordings"] as? Int == e164["recordings"] as? Int)
        // Not a number: refused in words, not echoed, nothing held.
        let bad = try box.run(["--as", "dpo", "hold", "place", "--kind", "incident", "--case", "INC-3", "--tenant", "acme-energy",
                               "--caller", "0470 12 AB 56"])
        #expect(bad.status == 2 && bad.stderr.contains("--caller") && !bad.stderr.contains("0470"), "\(bad.stderr)")
    }

    /// With tenants of different countries and no tenant given, a national number cannot be read: the error says
    /// to give the tenant, not that a flag is missing.
    @Test func aNationalNumberOnAStoreOfSeveralCountriesAsksForTheTenant() throws {
        let box = try populated()
        var config = try String(contentsOfFile: box.store + "/callvault.toml", encoding: .utf8)
        config = config.replacingOccurrences(of: "[tenants.telco-be]\n", with: "[tenants.telco-be]\ncountry = \"NL\"\n")
        try config.write(toFile: box.store + "/callvault.toml", atomically: true, encoding: .utf8)
        let r = try box.run(["--as", "dpo", "hold", "place", "--kind", "incident", "--case", "INC-1", "--caller", "0470 12 34 56"])
        #expect(r.status == 2)
        #expect(r.stderr.contains("give the tenant") && r.stderr.contains("its country decides"), "\(r.stderr)")
        #expect(!r.stderr.contains("0470 12"))
    }
}
