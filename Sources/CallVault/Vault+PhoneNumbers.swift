// The one reading of a typed phone number, for requests, holds and rectified values: the sidecar's form
// (E.164 as ingest stores it), from whatever a DPO types.
import CallVaultCore

extension Vault {
    /// The country a national-form number is read in: the tenant's, or the one country all tenants share.
    func country(tenant: String?) -> String? {
        if let tenant { return configuration.tenants[tenant]?.country }
        let countries = Set(configuration.tenants.values.map(\.country))
        return countries.count == 1 ? countries.first! : nil
    }

    /// `texts` read as E.164 with the tenant's country. A number that cannot be read is a usage error naming
    /// the argument by its position, never its text (it is a phone number, or close to one), and saying what
    /// would make it readable.
    func phoneNumbers(_ texts: [String], tenant: String?, option: String) throws -> [String] {
        let country = country(tenant: tenant)
        return try texts.enumerated().map { i, text in
            if let e164 = PhoneNumber.normalised(text, country: country) { return e164 }
            // A repeatable option is named with the argument's position.
            let which = option == "--subject" ? "\(option) #\(i + 1) of \(texts.count)" : option
            let national = PhoneNumber.normalised(text, country: nil) == nil
                && configuration.tenants.values.contains { $0.country.flatMap { PhoneNumber.normalised(text, country: $0) } != nil }
            if country == nil, tenant == nil, national {
                throw VaultError(.usage, "\(which): a national number, and the tenants are of different countries; give the tenant "
                                 + "(--tenant): its country decides how a number such as 0470… is read")
            }
            if country == nil, national {
                throw VaultError(.usage, "\(which): a national number, and tenant \(tenant ?? "") has no `country`; set it, or type the number in E.164 (+32470123456)")
            }
            let forms = country.map { "E.164 (+32470123456) or the national form of \($0)" } ?? "E.164 (+32470123456)"
            throw VaultError(.usage, "\(which): not a phone number in \(forms)")
        }
    }
}
