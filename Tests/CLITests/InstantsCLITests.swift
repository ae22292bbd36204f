// Instants that sort for every year and durations that cannot overflow, through the real binary (issue 9, items 1–2).
import CallVaultTesting
import Foundation
import CallVaultStore
import Testing

@Suite struct InstantsCLITests {
    /// Rewrites the store's callvault.toml.
    func editConfig(_ box: Sandbox, _ edit: (String) -> String) throws {
        let path = box.store + "/callvault.toml"
        try edit(try String(contentsOfFile: path, encoding: .utf8)).write(toFile: path, atomically: true, encoding: .utf8)
    }

    /// Exit 2 with one line on stderr naming `key`, and no crash.
    func expectRefused(_ r: CLIResult, naming key: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(!r.killed, "crashed: \(r.stderr)", sourceLocation: sourceLocation)
        #expect(r.status == 2, "\(r.stderr)", sourceLocation: sourceLocation)
        #expect(r.stderr.contains(key), "\(r.stderr)", sourceLocation: sourceLocation)
        #expect(r.stderr.split(separator: "\n").count == 1, "\(r.stderr)", sourceLocation: sourceLocation)
    }

    @Test func aRetentionOfMillenniaIsRefusedNamingTheKey() throws {
        // Before: P9999Y stored expiries as "12025-…", which sort before "2026-…": the next sweep deleted everything.
        let box = Sandbox()
        try box.initStore(["--simulation"])
        try editConfig(box) { $0.replacingOccurrences(of: "audio = \"P1M\"\nmetadata = \"P6M\"", with: "audio = \"P9999Y\"\nmetadata = \"P9999Y\"") }
        expectRefused(try box.run(["list"]), naming: "retention.audio")

        let tenant = Sandbox()
        try tenant.initStore(["--simulation"])
        try editConfig(tenant) {
            $0.replacingOccurrences(of: "[tenants.acme-energy]\nretention = { audio = \"P1M\", metadata = \"P6M\" }",
                                    with: "[tenants.acme-energy]\nretention = { audio = \"P9999Y\", metadata = \"P9999Y\" }")
        }
        let r = try tenant.run(["sweep", "--json"])
        expectRefused(r, naming: "tenants.acme-energy.retention.audio")
        #expect(r.stderr.contains("P100Y"), "says the maximum: \(r.stderr)")

        let quarantine = Sandbox()
        try quarantine.initStore()
        try editConfig(quarantine) { $0.replacingOccurrences(of: "quarantine = \"P7D\"", with: "quarantine = \"P101Y\"") }
        expectRefused(try quarantine.run(["list"]), naming: "retention.quarantine")
    }

    @Test func withTheLongestAllowedPeriodASweepAtNowDeletesNothing() throws {
        let box = Sandbox()
        try box.initStore(["--simulation"])
        try editConfig(box) { $0.replacingOccurrences(of: "\"P1M\"", with: "\"P100Y\"").replacingOccurrences(of: "\"P6M\"", with: "\"P100Y\"") }
        try box.addCall(callID: "kept", startedAt: "2026-11-20T10:00:00+01:00")
        try box.addCall(tenant: "telco-be", callID: "kept-too", startedAt: "2026-11-20T11:00:00+01:00")
        #expect(try box.run(["ingest", "inbox"]).status == 0)
        let expiries = try box.catalog().read { try String.fetchAll($0, sql: "SELECT audio_expires_at FROM recordings ORDER BY call_id") }
        #expect(expiries == ["2126-11-20T09:00:00Z", "2126-11-20T10:00:00Z"])

        let now = try box.run(["sweep", "--json"])
        #expect(now.status == 0, "\(now.stderr)")
        #expect(try now.json()["audio_deleted"] as? Int == 0)
        #expect(try now.json()["metadata_deleted"] as? Int == 0)
        #expect(try box.state().audio == ["kept", "kept-too"])
        // The same comparison still deletes when the time has come, even at the end of the calendar.
        let end = try box.run(["sweep", "--json", "--now", "9999-12-31T23:59:59Z"])
        #expect(end.status == 0, "\(end.stderr)")
        #expect(try end.json()["metadata_deleted"] as? Int == 2)
        #expect(try box.state().rows.isEmpty)
    }

    @Test func instantsOutsideTheFourDigitYearsAreRefused() throws {
        let box = Sandbox()
        try box.initStore(["--simulation"])
        // Both are valid RFC 3339, but their UTC instant is in year 10000 or year -1.
        expectRefused(try box.run(["sweep", "--now", "9999-12-31T23:30:00-01:00"]), naming: "--now")
        expectRefused(try box.run(["sweep", "--now", "0000-01-01T00:30:00+01:00"]), naming: "--now")
        expectRefused(try box.run(["list", "--from", "9999-12-31T23:30:00-01:00"]), naming: "--from")
        expectRefused(try box.run(["hold", "place", "--kind", "legal", "--case", "C-1", "--tenant", "acme-energy",
                                   "--review-at", "9999-12-31T23:30:00-01:00"]), naming: "--review-at")
        #expect(try box.count("SELECT count(*) FROM holds") == 0)
    }

    @Test func theCatalogRefusesAnInstantThatIsNotFixedWidth() throws {
        let box = Sandbox()
        try box.initStore()
        try box.addCall(callID: "c1", startedAt: "2026-11-20T10:00:00+01:00")
        #expect(try box.run(["ingest", "inbox"]).status == 0)
        let q = try box.catalog()
        for (column, value) in [("audio_expires_at", "12025-11-20T09:00:00Z"), ("metadata_expires_at", "2026-11-20"),
                                ("started_at", "2026-11-20T10:00:00+01:00"), ("audio_deleted_at", "2026-11-20T09:00:00.5Z")] {
            #expect(throws: SQLEngineError.self, "\(column) = \(value)") {
                try q.write { try $0.execute(sql: "UPDATE recordings SET \(column) = ?", arguments: [value]) }
            }
        }
        // The well-formed form is accepted, and the row is unchanged by the refused updates.
        try q.write { try $0.execute(sql: "UPDATE recordings SET audio_deleted_at = '2026-11-21T00:00:00Z'") }
        #expect(try box.count("SELECT count(*) FROM recordings WHERE audio_expires_at = '2026-12-20T09:00:00Z'") == 1)
    }

    // SQLite's v5 migration repairs stores of older versions; a PostgreSQL catalog never held such instants.
    @Test(.disabled(if: Sandbox.onPostgres, "an older version's SQLite catalog"))
    func aStoreFromAnOlderVersionHasItsFiveDigitExpiriesMadeSafe() throws {
        let box = Sandbox()
        try box.initStore(["--simulation"])
        try box.addCall(callID: "c1", startedAt: "2026-11-20T10:00:00+01:00")
        #expect(try box.run(["ingest", "inbox"]).status == 0)
        // What a P9999Y policy wrote before: text that sorts before every real instant.
        let q = try box.catalog()
        try q.write { db in
            for t in ["recordings_instants_on_insert", "recordings_instants_on_update", "holds_instants_on_insert", "holds_instants_on_update"] {
                try db.execute(sql: "DROP TRIGGER \(t)")
            }
            try db.execute(sql: "DELETE FROM grdb_migrations WHERE identifier LIKE 'v5:%'")
            try db.execute(sql: "UPDATE recordings SET audio_expires_at = '12025-11-20T09:00:00Z', metadata_expires_at = '12025-11-20T09:00:00Z'")
        }
        let r = try box.run(["sweep", "--json", "--now", "2026-11-22T00:00:00Z"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try r.json()["audio_deleted"] as? Int == 0)
        #expect(try r.json()["metadata_deleted"] as? Int == 0)
        #expect(try box.count("SELECT count(*) FROM recordings WHERE audio_expires_at = '9999-12-31T23:59:59Z'") == 1)
    }

    @Test func hugeDurationsAreUsageErrorsNotCrashes() throws {
        let box = Sandbox()
        try box.initStore()
        expectRefused(try box.run(["list", "--min-duration", "P99999999999999999Y"]), naming: "--min-duration")
        expectRefused(try box.run(["list", "--max-duration", "PT99999999999999999999S"]), naming: "--max-duration")
        expectRefused(try box.run(["list", "--expiring-within", "P9999999999Y"]), naming: "--expiring-within")
        expectRefused(try box.run(["list", "--limit", "99999999999999999999"]), naming: "--limit")
        for rate in ["0", "-5", "nan", "inf", "1e400", "fast"] {
            expectRefused(try box.run(["fixity", "--max-rate", rate]), naming: "--max-rate")
        }
        // A long but representable window is fine: everything expires before the end of the calendar.
        let r = try box.run(["list", "--json", "--expiring-within", "P9999Y"])
        #expect(r.status == 0, "\(r.stderr)")
    }

    @Test func hugeInboxTimersAreConfigurationErrors() throws {
        for (key, value) in [("settle", "P99999999999999999Y"), ("settle", "P2D"), ("pair_timeout", "PT99999999999999999999S"),
                             ("pair_timeout", "P1DT1S")] {
            let box = Sandbox()
            try box.initStore()
            try editConfig(box) {
                $0.split(separator: "\n", omittingEmptySubsequences: false)
                    .map { $0.hasPrefix(key + " =") ? "\(key) = \"\(value)\"" : String($0) }.joined(separator: "\n")
            }
            expectRefused(try box.run(["list"]), naming: "inbox.\(key)")
        }
    }
}
