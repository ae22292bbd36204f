// The access bundle's letter (issue 20): one controller, its supervisory authority by country, the subject's
// language, retention in words, no tenant id.
import CallVaultTesting
import Foundation
import Testing

extension RequestCLITests {
    func withControllers(_ box: Sandbox) throws {
        var config = try String(contentsOfFile: box.store + "/callvault.toml", encoding: .utf8)
        config = config.replacingOccurrences(of: "[tenants.acme-energy]\n", with: """
            [tenants.acme-energy]
            controller = { name = "Acme Energy NV", dpo_email = "privacy@acme-energy.example" }

            """)
        config = config.replacingOccurrences(of: "[tenants.telco-be]\n", with: """
            [tenants.telco-be]
            country = "NL"
            language = "nl"
            controller = { name = "Telco Nederland BV", dpo_email = "fg@telco.example" }

            """)
        try config.write(toFile: box.store + "/callvault.toml", atomically: true, encoding: .utf8)
    }

    func letter(_ box: Sandbox, _ request: String, _ extra: [String] = []) throws -> String {
        let out = box.dir + "/out-" + UUID().uuidString.prefix(6)
        let b = try ok(box, ["request", "export", request, "--to", out] + extra)
        return try String(contentsOfFile: (b["folder"] as! String) + "/README.txt", encoding: .utf8)
    }

    @Test func theLetterNamesItsControllerAndTheAuthorityOfItsCountryInTheSubjectsLanguage() throws {
        let box = try populated()
        try withControllers(box)
        let acme = try open(box, kind: "access", tenant: "acme-energy")
        let nl = try letter(box, acme)
        #expect(nl.contains("Acme Energy NV") && nl.contains("privacy@acme-energy.example"))
        #expect(nl.contains("Gegevensbeschermingsautoriteit") && !nl.contains("Autoriteit Persoonsgegevens"))
        #expect(nl.contains("audio 1 maand") && nl.contains("gegevens 6 maanden"), "\(nl)")
        #expect(!nl.contains("P1M") && !nl.contains("P6M") && !nl.contains("acme-energy,") && !nl.contains("acme-energy:"))
        #expect(!nl.contains("Telco"), "another controller is not named")
        // The subject writes in French: the same answer in French.
        let fr = try letter(box, acme, ["--language", "fr"])
        #expect(fr.contains("Autorité de protection des données") && fr.contains("1 mois") && fr.contains("6 mois") && fr.contains("Acme Energy NV"))
        let bad = try box.run(["--as", "dpo", "request", "export", acme, "--to", box.dir + "/x", "--language", "de"])
        #expect(bad.status == 2 && bad.stderr.contains("--language"))

        // A Dutch tenant's callers are sent to the Dutch authority, never the Belgian one.
        let telco = try open(box, kind: "access", tenant: "telco-be")
        let dutch = try letter(box, telco)
        #expect(dutch.contains("Autoriteit Persoonsgegevens") && !dutch.contains("Gegevensbeschermingsautoriteit"), "\(dutch)")
        #expect(dutch.contains("Telco Nederland BV") && !dutch.contains("Acme") && !dutch.contains("telco-be"))
        let english = try letter(box, telco, ["--language", "en"])
        #expect(english.contains("Dutch Data Protection Authority") && english.contains("1 month") && english.contains("6 months"))
    }

    @Test(arguments: [("controller = { name = \"Acme\" }", "dpo_email"), ("controller = { name = \"Acme\", dpo_email = \"not an address\" }", "dpo_email"),
                      ("controller = { dpo_email = \"a@b.example\" }", "name"), ("controller = { name = \"A\", dpo_email = \"a@b.example\", x = 1 }", "x")])
    func aControllerWithoutNameOrAddressIsRefusedNamingTheKey(line: String, key: String) throws {
        let box = Sandbox()
        try box.initStore(["--simulation"])
        var config = try String(contentsOfFile: box.store + "/callvault.toml", encoding: .utf8)
        config = config.replacingOccurrences(of: "[tenants.acme-energy]\n", with: "[tenants.acme-energy]\n\(line)\n")
        try config.write(toFile: box.store + "/callvault.toml", atomically: true, encoding: .utf8)
        let r = try box.run(["list"])
        #expect(r.status == 2 && r.stderr.contains("tenants.acme-energy.controller") && r.stderr.contains(key), "\(r.stderr)")
    }
}
