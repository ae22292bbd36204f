// The configuration: defaults, the spec's example, and one-line refusals that name the key.
import CallVaultCore
import CallVaultTesting
import Foundation
import Testing

@Suite struct ConfigurationTests {
    @Test func specExampleParses() throws {
        let text = """
        time_zone = "Europe/Brussels"
        [retention]
        audio = "P1M"
        metadata = "P6M"
        quarantine = "P7D"
        [inbox]
        paths = ["/var/spool/callvault/inbox"]
        settle = "PT5S"
        pair_timeout = "PT10M"
        [tenants.acme-energy]
        retention = { audio = "P1M", metadata = "P6M" }
        [tenants.telco-be]
        time_zone = "Europe/Brussels"
        retention = { audio = "P14D", metadata = "P3M" }
        announcement = { verify = "enforce", window = "PT20S", prompts = ["prompts/rec-notice-nl-v3.wav"] }
        [users.root]
        role = "admin"
        [users.dpo]
        role = "compliance"
        [users.coach-an]
        role = "coach"
        teams = ["billing-nl"]
        """
        let c = try Configuration.parse(text)
        #expect(c.tenants.keys.sorted() == ["acme-energy", "telco-be"])
        #expect(c.tenants["telco-be"]?.retention.audio.text == "P14D")
        #expect(c.tenants["telco-be"]?.announcement.verify == .enforce)
        #expect(c.users["coach-an"]?.teams == ["billing-nl"])
        #expect(c.inboxPaths == ["/var/spool/callvault/inbox"])
    }

    @Test func defaultsApplyToEveryKeyButTenants() throws {
        let c = try Configuration.parse("[tenants.a]\n")
        #expect(c.tenants["a"]?.retention.audio.text == "P1M")
        #expect(c.tenants["a"]?.retention.metadata.text == "P6M")
        #expect(c.quarantineRetention.text == "P7D")
        #expect(c.tenants["a"]?.timeZone.identifier == "Europe/Brussels")
        #expect(c.maxAudioBytes == 4 << 30)
        #expect(c.pairTimeout.text == "PT10M")
    }

    @Test(arguments: [
        ("[tenants.a]\nretention = { audio = \"P7M\" }", "tenants.a.retention.audio"),
        ("[tenants.a]\nretention = { audio = \"P1Q\" }", "tenants.a.retention.audio"),
        ("[tenants.a]\nfoo = 1", "tenants.a.foo: unknown key"),
        ("[users.x]\nrole = \"root\"", "users.x.role"),
        ("[users.x]\nrole = \"coach\"", "users.x"),
        ("[tenants.Bad_Name]", "tenants.Bad_Name"),
        ("[tenants.a]\nannouncement = { verify = \"maybe\" }", "tenants.a.announcement.verify"),
        ("[inbox]\nsettle = 5", "inbox.settle: must be a string"),
        ("time_zone = \"Nowhere/Land\"", "time_zone"),
        ("[retention]\naudio = \"P1Y\"", "retention.audio"),
        ("[ingest]\nmax_audio_bytes = -1", "ingest.max_audio_bytes"),
        ("[tenants.a\n", "line 1"),
        // Periods are bounded, so that every expiry has a 4-digit year and no arithmetic overflows.
        ("[retention]\naudio = \"P9999Y\"\nmetadata = \"P9999Y\"", "retention.audio: 'P9999Y' is longer than the maximum P100Y"),
        ("[retention]\nmetadata = \"P101Y\"", "retention.metadata"),
        ("[retention]\nquarantine = \"P1201M\"", "retention.quarantine"),
        ("[tenants.a]\nretention = { audio = \"P9999Y\", metadata = \"P9999Y\" }", "tenants.a.retention.audio"),
        ("[tenants.a]\nretention = { metadata = \"P36526D\" }", "tenants.a.retention.metadata"),
        ("[retention]\naudio = \"P99999999999999999Y\"", "retention.audio: 'P99999999999999999Y' is too long"),
        ("[inbox]\nsettle = \"P99999999999999999Y\"", "inbox.settle"),
        ("[inbox]\nsettle = \"PT86401S\"", "inbox.settle"),
        ("[inbox]\npair_timeout = \"P2D\"", "inbox.pair_timeout"),
        ("[tenants.a]\nannouncement = { window = \"P1Y\" }", "tenants.a.announcement.window"),
    ])
    func brokenRuleNamesTheKey(text: String, key: String) {
        do {
            _ = try Configuration.parse(text)
            Issue.record("accepted: \(text)")
        } catch let e as VaultError {
            #expect(e.message.contains(key), "\(e.message)")
            #expect(!e.message.contains("\n"))
            #expect(e.exitCode == 2)
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test func theLongestPeriodsAreAccepted() throws {
        let c = try Configuration.parse("""
            [retention]
            audio = "P100Y"
            metadata = "P1200M"
            quarantine = "P36525D"
            [inbox]
            settle = "P1D"
            pair_timeout = "PT24H"
            [tenants.a]
            retention = { audio = "P99Y", metadata = "P100Y" }
            """)
        #expect(c.tenants["a"]?.retention.metadata.text == "P100Y")
        #expect(c.settle.approximateSeconds == 86_400)
    }

    @Test func initialConfigurationRoundTrips() throws {
        let c = try Configuration.parse(Configuration.initialText(tenants: ["acme-energy", "telco-be"], adminUser: "svc.callvault"))
        #expect(c.users["svc.callvault"]?.role == .admin)
        #expect(c.tenants.count == 2)
    }
}
