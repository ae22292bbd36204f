// Subjects' numbers as DPOs type them: national forms of the supported countries, E.164, and what is refused.
import CallVaultCore
import Testing

@Suite struct PhoneNumberTests {
    @Test(arguments: [
        ("0470 12 34 56", "BE", "+32470123456"),
        ("+32 (0)470 12 34 56", "BE", "+32470123456"),
        ("0032 470 12 34 56", "BE", "+32470123456"),
        ("+32 0470/12.34.56", "BE", "+32470123456"),
        ("02/123.45.67", "BE", "+3221234567"),
        ("06-12345678", "NL", "+31612345678"),
        ("+31 (0)6 1234 5678", "NL", "+31612345678"),
        ("06 12 34 56 78", "FR", "+33612345678"),
        ("01.23.45.67.89", "FR", "+33123456789"),
        ("030 1234567", "DE", "+49301234567"),
        ("0171 1234567", "DE", "+491711234567"),
        ("621 123 456", "LU", "+352621123456"),
        ("+352 621 123 456", "LU", "+352621123456"),
    ])
    func nationalAndInternationalFormsBecomeE164(text: String, country: String, expected: String) {
        #expect(PhoneNumber.normalised(text, country: country) == expected)
    }

    /// The example number of every type of libphonenumber's metadata for BE and NL (resources/PhoneNumberMetadata.xml,
    /// `exampleNumber`), typed nationally, in E.164 and with the trunk zero after the country code.
    @Test(arguments: [
        ("BE", "12345678"), ("BE", "450001234"), ("BE", "80012345"), ("BE", "90012345"), ("BE", "78791234"), ("BE", "78102345"),
        ("NL", "101234567"), ("NL", "612345678"), ("NL", "662345678"), ("NL", "8001234"), ("NL", "9061234"), ("NL", "851234567"),
    ])
    func libphonenumbersExamplesAreRead(country: String, national: String) {
        let code = country == "BE" ? "32" : "31"
        let e164 = "+" + code + national
        #expect(PhoneNumber.normalised("0" + national, country: country) == e164)
        #expect(PhoneNumber.normalised(e164, country: nil) == e164)
        #expect(PhoneNumber.normalised("+" + code + "0" + national, country: nil) == e164, "a trunk zero after the code")
        #expect(PhoneNumber.normalised("00" + code + " " + national, country: country) == e164)
    }

    /// Numbers of the right length that libphonenumber's patterns say no number of the country can have.
    @Test(arguments: [
        "+32123456789",  // 9 digits: only mobiles (4[5-9]) are that long in Belgium
        "+3245123456",  // 8 digits starting 45: a mobile prefix one digit short
        "+32412345678",  // 9 digits starting 41: no such mobile range
        "+324701234567",  // 10 digits
        "+31601234567",  // 06 0…: no such Dutch mobile range
        "+3112345678",  // 8 digits in the Netherlands
        "+3181234567",  // 7 digits, and not 800/90x
        "+3197012345",  // 970 numbers have 11 digits
    ])
    func impossibleNumbersOfAKnownCountryAreRefused(text: String) {
        #expect(PhoneNumber.normalised(text, country: nil) == nil)
    }

    @Test func e164IsReadWithoutACountry() {
        #expect(PhoneNumber.normalised("+32470123456", country: nil) == "+32470123456")
        #expect(PhoneNumber.normalised("+1 415 555 2671", country: nil) == "+14155552671")
        // A number of another country stays that country's, whatever the tenant's.
        #expect(PhoneNumber.normalised("+31612345678", country: "BE") == "+31612345678")
    }

    @Test(arguments: [
        ("0470 12 34 56", nil as String?),  // national form without a country
        ("0470 12 34 56", "LU"),  // Luxembourg has no trunk zero
        ("470 12 34 56", "BE"),  // neither national nor international
        ("0470", "BE"),  // too short
        ("0470 12 34 56 78 90", "BE"),  // too long
        ("06-1234567", "NL"),  // one digit short
        ("+32 470 ABC", "BE"),  // letters
        ("+32470123456; DROP TABLE", "BE"),
        ("withheld", "BE"),
        ("", "BE"),
        ("+", "BE"),
        ("++32470123456", "BE"),
        ("+123", nil),  // too short for E.164
        ("+1234567890123456", nil),  // 16 digits
        ("+0470123456", nil),  // no country code starts with 0
        ("٠٤٧٠١٢٣٤٥٦", "BE"),  // Arabic-Indic digits are not what the catalog stores
        ("0470\u{202E}123456", "BE"),  // a bidi override hidden in the text
    ])
    func whatIsNotAPhoneNumberIsRefused(text: String, country: String?) {
        #expect(PhoneNumber.normalised(text, country: country) == nil)
    }
}

/// The tenant keys that data-subject requests read: `country` (national number forms) and `language` (README).
@Suite struct RequestTenantKeysTests {
    func parse(_ keys: String) throws -> Configuration {
        try Configuration.parse("[tenants.acme]\n\(keys)\n[users.root]\nrole = \"admin\"\n")
    }

    @Test func countryAndLanguageAreRead() throws {
        let c = try parse("country = \"LU\"\nlanguage = \"fr\"")
        #expect(c.tenants["acme"]?.country == "LU")
        #expect(c.tenants["acme"]?.language == "fr")
        let d = try parse("")
        #expect(d.tenants["acme"]?.country == nil)
        #expect(d.tenants["acme"]?.language == "en")
    }

    @Test(arguments: [("country = \"be\"", "tenants.acme.country"), ("country = \"US\"", "tenants.acme.country"),
                      ("country = 32", "tenants.acme.country"), ("language = \"de\"", "tenants.acme.language"),
                      ("language = \"NL\"", "tenants.acme.language")])
    func anUnsupportedValueIsRefusedNamingTheKey(keys: String, key: String) {
        do {
            _ = try parse(keys)
            Issue.record("accepted \(keys)")
        } catch let e as VaultError {
            #expect(e.message.contains(key))
            #expect(e.exitCode == 2)
        } catch {
            Issue.record("unexpected \(error)")
        }
    }
}
