// The store configuration callvault.toml (SPEC §4): read with TOMLKit, every rule checked, one line on error.
import Foundation
import TOMLKit

/// Roles of SPEC §1/§8.
public enum Role: String, Sendable, CaseIterable {
    case coach, compliance, admin

    /// Who may read calls: every role (coaches within their scope).
    public static let readers: Set<Role> = [.coach, .compliance, .admin]
    /// Who holds, reports, audits, exports evidence and answers data-subject requests (SPEC §8).
    public static let officers: Set<Role> = [.compliance, .admin]
    /// Who manages users and accounts.
    public static let administrators: Set<Role> = [.admin]

    public var isOfficer: Bool { Self.officers.contains(self) }
}

/// A configured user: a role and, for coaches, a scope.
public struct User: Sendable, Equatable {
    public var name: String
    public var role: Role
    public var teams: [String]
    public var tenants: [String]
}

/// How a tenant's announcement is checked in the audio (SPEC §5).
public struct AnnouncementPolicy: Sendable, Equatable {
    public enum Verify: String, Sendable { case off, warn, enforce }
    public var verify: Verify = .off
    public var window = ISODuration("PT20S")!
    /// Reference prompt files; relative paths are relative to the store directory.
    public var prompts: [String] = []
    /// Block-NCC score from which a prompt counts as heard (ANNOUNCEMENT.md: 0.50; 0.40–0.50 is grey).
    public var threshold = 0.5
    /// The least share of a prompt that counts as hearing it (a recording that started late, a transfer).
    public var minShare = 0.6
}

/// A tenant's music-on-hold tracks (SPEC §17): a caller recorded while on hold is found by them.
public struct HoldMusicPolicy: Sendable, Equatable {
    public enum Policy: String, Sendable { case off, report, redact }
    /// Reference track files; relative paths are relative to the store directory.
    public var tracks: [String] = []
    public var policy: Policy = .off
}

/// Retention periods of one tenant (SPEC §6).
public struct RetentionPolicy: Sendable, Equatable {
    public var audio: ISODuration
    public var metadata: ISODuration

    public init(audio: ISODuration, metadata: ISODuration) {
        self.audio = audio
        self.metadata = metadata
    }

    /// The two expiry instants of a call, on the wall clock of the tenant.
    public func expiries(startedAt: Date, in timeZone: TimeZone) -> (audio: Date, metadata: Date) {
        (audio.added(to: startedAt, in: timeZone), metadata.added(to: startedAt, in: timeZone))
    }

    /// Whether the audio period never outlasts the metadata period, checked on the wall clock
    /// from the first day of every month of a leap and a common year (P1M vs P30D differs by month).
    public var audioWithinMetadata: Bool {
        let utc = TimeZone(identifier: "UTC")!
        for year in [2027, 2028] {
            for month in 1...12 {
                for day in [1, 28, 31] where day <= Timestamp.daysInMonth(year, month) {
                    let start = Date(timeIntervalSince1970: Double(Timestamp.daysFromCivil(year, month, day) * 86_400))
                    if audio.added(to: start, in: utc) > metadata.added(to: start, in: utc) { return false }
                }
            }
        }
        return true
    }
}

public struct Tenant: Sendable, Equatable {
    public var name: String
    public var timeZone: TimeZone
    public var retention: RetentionPolicy
    public var announcement: AnnouncementPolicy
    /// ISO 3166 country whose national number form a subject's number may be given in (data-subject requests).
    public var country: String? = nil
    /// The language of what the vault writes for the tenant's callers (an access request's README): nl, fr, en.
    public var language = "en"
    /// The tenant as a data controller (GDPR art. 4(7)): who answers its callers' requests.
    public var controller: Controller? = nil
    /// Who speaks on each channel of the tenant's multi-channel recordings, in channel order (`agent`, `caller`
    /// or `other`): the player's lanes are named by it. Empty: the lanes are "Channel 1", "Channel 2"….
    public var channels: [String] = []
    public var holdMusic = HoldMusicPolicy()

    public static let parties = ["agent", "caller", "other"]
}

/// `[tenants.X] controller = { name = "…", dpo_email = "…" }`: named in the letters of the tenant's requests.
public struct Controller: Sendable, Equatable {
    public var name: String
    public var dpoEmail: String
}

/// The whole configuration, validated.
/// `[web]`: how `callvault serve` listens and whom it trusts (README: The web app).
public struct WebSettings: Sendable, Equatable {
    /// HOST:PORT to listen on.
    public var listen = "127.0.0.1:8080"
    /// PEM files for TLS; both or neither (else a reverse proxy terminates TLS).
    public var tlsCertificate: String?
    public var tlsKey: String?
    /// The header a single-sign-on proxy sets to the authenticated user name (e.g. X-Remote-User); nil: off.
    public var trustedHeader: String?
    /// The proxies (CIDR) whose trusted header is believed; from any other address it is ignored.
    public var trustedProxies: [String] = ["127.0.0.1/32"]
    /// A session ends after this long without a request.
    public var sessionIdle = ISODuration("PT15M")!
    /// Whether coaches may download audio (playing is always allowed in scope); compliance always may.
    public var coachDownload = false
    /// `cookie_secure`: mark the session cookie `Secure` although callvault itself speaks plain HTTP (a TLS
    /// proxy in front). With `tls_certificate` it is always Secure.
    public var cookieSecure = false
    /// `max_connections_per_client`: connections one client address may hold at once (a slowloris holds
    /// hundreds). Behind a proxy every connection comes from the proxy's address: raise it there.
    public var maxConnectionsPerClient = 128

    public init() {}
}

/// Where the catalog is (issue 12): absent, SQLite in the store; else a PostgreSQL database shared by workers.
public struct CatalogSettings: Sendable, Equatable {
    /// `postgresql://user@host:port/database?sslmode=…`, never with a password.
    public var url: String?
    /// A file (0600, the vault user's) holding the password; else CALLVAULT_CATALOG_PASSWORD.
    public var passwordFile: String?

    public init(url: String? = nil, passwordFile: String? = nil) {
        self.url = url
        self.passwordFile = passwordFile
    }
}

public struct Configuration: Sendable {
    /// The zone a tenant's times are shown and its bare dates read in: the tenant's own; for no tenant (or an
    /// unknown one), the zone every configured tenant shares when they share one, else the default `time_zone`.
    /// The one rule for every front end.
    public func zone(forTenant tenant: String?) -> TimeZone {
        if let tenant, let zone = tenants[tenant]?.timeZone { return zone }
        let zones = Set(tenants.values.map(\.timeZone.identifier))
        if zones.count == 1, let id = zones.first, let zone = TimeZone(identifier: id) { return zone }
        return timeZone
    }

    public var timeZone: TimeZone
    public var defaultRetention: RetentionPolicy
    public var quarantineRetention: ISODuration
    public var inboxPaths: [String]
    public var settle: ISODuration
    public var pairTimeout: ISODuration
    public var maxAudioBytes: Int64
    public var tenants: [String: Tenant]
    public var users: [String: User]
    public var web = WebSettings()
    public var catalog = CatalogSettings()
    /// `[evidence] tsa_url`: the RFC 3161 time-stamping authority evidence bags are stamped by (http or https).
    public var tsaURL: String?
    /// `[evidence] seal_certificate` and `seal_key`: the organisation's e-seal (PEM files, absolute paths), with
    /// which evidence bags are also sealed in CMS. Read at each export, so a renewed certificate needs no restart.
    public var seal: (certificate: String, key: String)?
    /// How long a worker's claim on an inbox pair holds before another worker may take the pair over.
    public var claimLease = ISODuration("PT2M")!

    public static let fileName = "callvault.toml"

    /// Reads and validates TOML text. Throws a `.configuration` VaultError whose message names the key.
    public static func parse(_ text: String) throws -> Configuration {
        let root: TOMLTable
        do {
            root = try TOMLTable(string: text)
        } catch let e as TOMLParseError {
            throw VaultError.configuration("\(fileName): \(e.description) at line \(e.source.begin.line), column \(e.source.begin.column)")
        }
        return try ConfigurationReader().read(root)
    }

    /// The configuration `callvault init` writes.
    public static func initialText(tenants: [String], adminUser: String, catalogURL: String? = nil) -> String {
        var lines = [
            "# callvault store configuration (see README: Configuration).",
            "time_zone = \"Europe/Brussels\"          # default for tenants",
            "",
            "[retention]                            # defaults for tenants",
            "audio = \"P1M\"",
            "metadata = \"P6M\"",
            "quarantine = \"P7D\"",
            "",
            "[inbox]",
            "paths = []",
            "settle = \"PT5S\"",
            "pair_timeout = \"PT10M\"",
            "",
            "[ingest]",
            "max_audio_bytes = 4294967296           # 4 GiB",
            "",
        ]
        if let catalogURL {
            lines += ["[catalog]                              # shared PostgreSQL catalog (README: Several workers)",
                      "url = \"\(catalogURL)\"", ""]
        }
        for t in tenants {
            lines += ["[tenants.\(t)]", "retention = { audio = \"P1M\", metadata = \"P6M\" }", ""]
        }
        lines += ["[users.\(tomlKey(adminUser))]", "role = \"admin\"", ""]
        return lines.joined(separator: "\n")
    }

    static func tomlKey(_ s: String) -> String {
        s.utf8.allSatisfy({ ($0 >= 65 && $0 <= 90) || ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 45 || $0 == 95 })
            ? s : "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }
}

/// The longest value a configured period may take. Retention instants are stored and compared in the catalog,
/// and the inbox timers are waited on: a period of millennia is a typo, never a policy, so it is refused.
struct DurationLimit {
    let text: String
    let limit: ISODuration

    init(_ text: String) {
        self.text = text
        limit = ISODuration(text)!
    }

    /// Retention (audio, metadata, quarantine): P100Y, far beyond any legal retention, far from year 9999.
    static let retention = DurationLimit("P100Y")
    /// `settle` and `pair_timeout`: a day; a pair that waits longer is stuck, not settling.
    static let inboxTimer = DurationLimit("P1D")
    /// The announcement window: prompts play at the start of a call.
    static let announcementWindow = DurationLimit("PT1H")

    /// Compared by adding both to one reference instant in UTC, so calendar parts count as the calendar does.
    func admits(_ d: ISODuration) -> Bool {
        let utc = TimeZone(identifier: "UTC")!
        let reference = Date(timeIntervalSince1970: 946_684_800)  // 2000-01-01T00:00:00Z
        return d.added(to: reference, in: utc) <= limit.added(to: reference, in: utc)
    }
}

/// Walks the TOML tree key by key so that an unknown or wrongly typed key is named exactly.
struct ConfigurationReader {
    /// One `local@domain` address, nothing a letter could be made to say else (no spaces, no second @).
    static func isMailAddress(_ s: String) -> Bool {
        let parts = s.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, s.count <= 254, !parts[0].isEmpty, parts[1].contains("."), !parts[1].hasPrefix("."), !parts[1].hasSuffix(".") else { return false }
        return s.unicodeScalars.allSatisfy { $0.isASCII && $0.value > 32 && $0.value < 127 && !"<>()[]\\,;:\"".unicodeScalars.contains($0) || $0 == "@" }
    }

    func fail(_ key: String, _ why: String) -> VaultError {
        VaultError.configuration("\(Configuration.fileName): \(key): \(why)")
    }

    func checkKeys(_ table: TOMLTable, _ allowed: Set<String>, at path: String) throws {
        for key in table.keys.sorted() where !allowed.contains(key) {
            throw fail(path.isEmpty ? key : "\(path).\(key)", "unknown key")
        }
    }

    func string(_ t: TOMLTable, _ key: String, at path: String) throws -> String? {
        guard let v = t[key] else { return nil }
        guard let s = v.string else { throw fail(path + key, "must be a string") }
        return s
    }

    func duration(_ t: TOMLTable, _ key: String, at path: String) throws -> ISODuration? {
        guard let s = try string(t, key, at: path) else { return nil }
        do {
            return try ISODuration(validating: s)
        } catch ISODuration.Invalid.tooLong {
            throw fail(path + key, "'\(s)' is too long")
        } catch {
            throw fail(path + key, "'\(s)' is not an ISO 8601 duration (e.g. P1M, P14D, PT10M)")
        }
    }

    /// A duration no longer than `limit`, measured on the calendar (P1200M and P100Y are the same length).
    func duration(_ t: TOMLTable, _ key: String, at path: String, atMost limit: DurationLimit) throws -> ISODuration? {
        guard let d = try duration(t, key, at: path) else { return nil }
        guard limit.admits(d) else { throw fail(path + key, "'\(d)' is longer than the maximum \(limit.text)") }
        return d
    }

    func table(_ t: TOMLTable, _ key: String, at path: String) throws -> TOMLTable? {
        guard let v = t[key] else { return nil }
        guard let tt = v.table else { throw fail(path + key, "must be a table") }
        return tt
    }

    func strings(_ t: TOMLTable, _ key: String, at path: String) throws -> [String]? {
        guard let v = t[key] else { return nil }
        guard let a = v.array else { throw fail(path + key, "must be an array of strings") }
        return try a.map { el in
            guard let s = el.string else { throw fail(path + key, "must be an array of strings") }
            return s
        }
    }

    func timeZone(_ t: TOMLTable, _ key: String, at path: String) throws -> TimeZone? {
        guard let s = try string(t, key, at: path) else { return nil }
        guard let tz = TimeZone(identifier: s) else { throw fail(path + key, "unknown time zone '\(s)'") }
        return tz
    }

    func read(_ root: TOMLTable) throws -> Configuration {
        try checkKeys(root, ["time_zone", "retention", "inbox", "ingest", "tenants", "users", "web", "catalog", "evidence"], at: "")
        let zone = try timeZone(root, "time_zone", at: "") ?? TimeZone(identifier: "Europe/Brussels")!

        var retention = RetentionPolicy(audio: ISODuration("P1M")!, metadata: ISODuration("P6M")!)
        var quarantine = ISODuration("P7D")!
        if let r = try table(root, "retention", at: "") {
            try checkKeys(r, ["audio", "metadata", "quarantine"], at: "retention")
            retention.audio = try duration(r, "audio", at: "retention.", atMost: .retention) ?? retention.audio
            retention.metadata = try duration(r, "metadata", at: "retention.", atMost: .retention) ?? retention.metadata
            quarantine = try duration(r, "quarantine", at: "retention.", atMost: .retention) ?? quarantine
            guard retention.audioWithinMetadata else {
                throw fail("retention.audio", "audio period \(retention.audio) is longer than metadata period \(retention.metadata)")
            }
        }

        var paths: [String] = []
        var settle = ISODuration("PT5S")!
        var pairTimeout = ISODuration("PT10M")!
        var claimLease = ISODuration("PT2M")!
        if let i = try table(root, "inbox", at: "") {
            try checkKeys(i, ["paths", "settle", "pair_timeout", "claim_lease"], at: "inbox")
            claimLease = try duration(i, "claim_lease", at: "inbox.", atMost: .inboxTimer) ?? claimLease
            // A lease shorter than one pair's check would let a second worker take a pair the first still works on.
            guard claimLease.approximateSeconds >= 10 else { throw fail("inbox.claim_lease", "must be at least PT10S") }
            paths = try strings(i, "paths", at: "inbox.") ?? []
            settle = try duration(i, "settle", at: "inbox.", atMost: .inboxTimer) ?? settle
            pairTimeout = try duration(i, "pair_timeout", at: "inbox.", atMost: .inboxTimer) ?? pairTimeout
        }

        var maxAudio: Int64 = 4 << 30
        if let g = try table(root, "ingest", at: "") {
            try checkKeys(g, ["max_audio_bytes"], at: "ingest")
            if let v = g["max_audio_bytes"] {
                guard let n = v.int, n > 0 else { throw fail("ingest.max_audio_bytes", "must be a positive integer") }
                maxAudio = Int64(n)
            }
        }

        var tenants: [String: Tenant] = [:]
        if let ts = try table(root, "tenants", at: "") {
            for name in ts.keys.sorted() {
                let path = "tenants.\(name)"
                guard Sidecar.isSafeTenant(name) else { throw fail(path, "tenant names are [a-z0-9][a-z0-9-]{0,62}") }
                guard let t = ts[name]?.table else { throw fail(path, "must be a table") }
                try checkKeys(t, ["time_zone", "retention", "announcement", "country", "language", "controller", "channels", "hold_music"], at: path)
                var tenant = Tenant(name: name, timeZone: try timeZone(t, "time_zone", at: path + ".") ?? zone,
                                    retention: retention, announcement: AnnouncementPolicy())
                if let r = try table(t, "retention", at: path + ".") {
                    try checkKeys(r, ["audio", "metadata"], at: path + ".retention")
                    tenant.retention.audio = try duration(r, "audio", at: path + ".retention.", atMost: .retention) ?? retention.audio
                    tenant.retention.metadata = try duration(r, "metadata", at: path + ".retention.", atMost: .retention) ?? retention.metadata
                }
                guard tenant.retention.audioWithinMetadata else {
                    throw fail(path + ".retention.audio",
                               "audio period \(tenant.retention.audio) is longer than metadata period \(tenant.retention.metadata)")
                }
                if let a = try table(t, "announcement", at: path + ".") {
                    let ap = path + ".announcement"
                    try checkKeys(a, ["verify", "window", "prompts", "threshold", "min_share"], at: ap)
                    if let v = try string(a, "verify", at: ap + ".") {
                        guard let mode = AnnouncementPolicy.Verify(rawValue: v) else {
                            throw fail(ap + ".verify", "must be off, warn or enforce")
                        }
                        tenant.announcement.verify = mode
                    }
                    tenant.announcement.window = try duration(a, "window", at: ap + ".", atMost: .announcementWindow) ?? tenant.announcement.window
                    tenant.announcement.prompts = try strings(a, "prompts", at: ap + ".") ?? []
                    if let v = a["threshold"] {
                        guard let x = v.double ?? v.int.map(Double.init), x > 0, x < 1 else {
                            throw fail(ap + ".threshold", "must be a number between 0 and 1 (default 0.5)")
                        }
                        tenant.announcement.threshold = x
                    }
                    if let v = a["min_share"] {
                        guard let x = v.double ?? v.int.map(Double.init), x >= 0.3, x <= 1 else {
                            throw fail(ap + ".min_share", "must be a number between 0.3 and 1 (default 0.6)")
                        }
                        tenant.announcement.minShare = x
                    }
                    if tenant.announcement.verify != .off, tenant.announcement.prompts.isEmpty {
                        throw fail(ap + ".prompts", "verification is \(tenant.announcement.verify.rawValue) but no prompt is configured")
                    }
                }
                if let h = try table(t, "hold_music", at: path + ".") {
                    let hp = path + ".hold_music"
                    try checkKeys(h, ["tracks", "policy"], at: hp)
                    tenant.holdMusic.tracks = try strings(h, "tracks", at: hp + ".") ?? []
                    if let v = try string(h, "policy", at: hp + ".") {
                        guard let p = HoldMusicPolicy.Policy(rawValue: v) else { throw fail(hp + ".policy", "must be off, report or redact") }
                        tenant.holdMusic.policy = p
                    }
                    if tenant.holdMusic.policy != .off && tenant.holdMusic.tracks.isEmpty {
                        throw fail(hp + ".tracks", "policy is \(tenant.holdMusic.policy.rawValue) but no track is configured")
                    }
                }
                if let c = try string(t, "country", at: path + ".") {
                    guard PhoneNumber.plans[c] != nil else {
                        throw fail(path + ".country", "'\(c)' is not supported (\(PhoneNumber.plans.keys.sorted().joined(separator: ", ")))")
                    }
                    tenant.country = c
                }
                if let l = try string(t, "language", at: path + ".") {
                    guard ["nl", "fr", "en"].contains(l) else { throw fail(path + ".language", "'\(l)' is not supported (nl, fr, en)") }
                    tenant.language = l
                }
                if let c = try table(t, "controller", at: path + ".") {
                    let cp = path + ".controller"
                    try checkKeys(c, ["name", "dpo_email"], at: cp)
                    guard let n = try string(c, "name", at: cp + "."), (1...200).contains(n.count),
                          !n.unicodeScalars.contains(where: Sidecar.isForbiddenInText) else {
                        throw fail(cp + ".name", "the controller's name is required (1-200 characters)")
                    }
                    guard let m = try string(c, "dpo_email", at: cp + "."), Self.isMailAddress(m) else {
                        throw fail(cp + ".dpo_email", "the address callers write to about their data is required (name@domain)")
                    }
                    tenant.controller = Controller(name: n, dpoEmail: m)
                }
                if let c = try strings(t, "channels", at: path + ".") {
                    guard (1...16).contains(c.count), c.allSatisfy(Tenant.parties.contains) else {
                        throw fail(path + ".channels", "must list, in channel order, 1 to 16 of \(Tenant.parties.joined(separator: ", ")) (who speaks on each channel)")
                    }
                    tenant.channels = c
                }
                tenants[name] = tenant
            }
        }

        var users: [String: User] = [:]
        if let us = try table(root, "users", at: "") {
            for name in us.keys.sorted() {
                let path = "users.\(name)"
                guard let u = us[name]?.table else { throw fail(path, "must be a table") }
                try checkKeys(u, ["role", "teams", "tenants"], at: path)
                guard let roleText = try string(u, "role", at: path + ".") else { throw fail(path + ".role", "required") }
                guard let role = Role(rawValue: roleText) else { throw fail(path + ".role", "unknown role '\(roleText)' (coach, compliance, admin)") }
                let teams = try strings(u, "teams", at: path + ".") ?? []
                let scopeTenants = try strings(u, "tenants", at: path + ".") ?? []
                for t in scopeTenants where tenants[t] == nil { throw fail(path + ".tenants", "unknown tenant '\(t)'") }
                if role == .coach, teams.isEmpty, scopeTenants.isEmpty {
                    throw fail(path, "a coach needs teams and/or tenants")
                }
                users[name] = User(name: name, role: role, teams: teams, tenants: scopeTenants)
            }
        }

        var configuration = Configuration(timeZone: zone, defaultRetention: retention, quarantineRetention: quarantine,
                                          inboxPaths: paths, settle: settle, pairTimeout: pairTimeout, maxAudioBytes: maxAudio,
                                          tenants: tenants, users: users)
        if let w = try table(root, "web", at: "") { configuration.web = try web(w) }
        configuration.claimLease = claimLease
        if let e = try table(root, "evidence", at: "") {
            try checkKeys(e, ["tsa_url", "seal_certificate", "seal_key"], at: "evidence")
            let certificate = try string(e, "seal_certificate", at: "evidence.")
            let key = try string(e, "seal_key", at: "evidence.")
            for (name, value) in [("seal_certificate", certificate), ("seal_key", key)] {
                if let value, !value.hasPrefix("/") { throw fail("evidence.\(name)", "must be an absolute path") }
            }
            switch (certificate, key) {
            case (let c?, let k?): configuration.seal = (certificate: c, key: k)
            case (nil, nil): break
            default: throw fail(certificate == nil ? "evidence.seal_certificate" : "evidence.seal_key",
                                "an e-seal needs both seal_certificate and seal_key")
            }
            if let u = try string(e, "tsa_url", at: "evidence.") {
                guard let url = URL(string: u), ["http", "https"].contains(url.scheme?.lowercased() ?? ""), url.host != nil else {
                    throw fail("evidence.tsa_url", "'\(u)' is not an http:// or https:// URL of a time-stamping authority")
                }
                configuration.tsaURL = u
            }
        }
        if let c = try table(root, "catalog", at: "") {
            try checkKeys(c, ["url", "password_file"], at: "catalog")
            configuration.catalog.url = try string(c, "url", at: "catalog.")
            if let f = try string(c, "password_file", at: "catalog.") {
                guard f.hasPrefix("/") else { throw fail("catalog.password_file", "must be an absolute path") }
                configuration.catalog.passwordFile = f
            }
        }
        return configuration
    }

    func web(_ w: TOMLTable) throws -> WebSettings {
        try checkKeys(w, ["listen", "tls_certificate", "tls_key", "trusted_header", "trusted_proxies", "session_idle", "coach_download",
                          "cookie_secure", "max_connections_per_client"], at: "web")
        var s = WebSettings()
        if let l = try string(w, "listen", at: "web.") {
            guard WebSettings.splitListen(l) != nil else { throw fail("web.listen", "'\(l)' is not HOST:PORT (e.g. 127.0.0.1:8080)") }
            s.listen = l
        }
        s.tlsCertificate = try string(w, "tls_certificate", at: "web.")
        s.tlsKey = try string(w, "tls_key", at: "web.")
        guard (s.tlsCertificate == nil) == (s.tlsKey == nil) else {
            throw fail(s.tlsKey == nil ? "web.tls_key" : "web.tls_certificate", "TLS needs both tls_certificate and tls_key")
        }
        if let h = try string(w, "trusted_header", at: "web.") {
            guard !h.isEmpty, h.utf8.allSatisfy({ ($0 >= 65 && $0 <= 90) || ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 45 }) else {
                throw fail("web.trusted_header", "'\(h)' is not a header name (letters, digits, -)")
            }
            s.trustedHeader = h
        }
        if let p = try strings(w, "trusted_proxies", at: "web.") {
            for c in p where CIDR(c) == nil { throw fail("web.trusted_proxies", "'\(c)' is not an address block such as 127.0.0.1/32 or ::1/128") }
            s.trustedProxies = p
        }
        s.sessionIdle = try duration(w, "session_idle", at: "web.", atMost: DurationLimit("PT12H")) ?? s.sessionIdle
        // Below a minute a session ends between two clicks: nobody could stay logged in.
        if s.sessionIdle.approximateSeconds < 60 { throw fail("web.session_idle", "'\(s.sessionIdle)' is shorter than the minimum PT1M") }
        if let v = w["coach_download"] {
            guard let b = v.bool else { throw fail("web.coach_download", "must be true or false") }
            s.coachDownload = b
        }
        if let v = w["cookie_secure"] {
            guard let b = v.bool else { throw fail("web.cookie_secure", "must be true or false") }
            s.cookieSecure = b
        }
        if let v = w["max_connections_per_client"] {
            guard let n = v.int, (1...100_000).contains(n) else { throw fail("web.max_connections_per_client", "must be a whole number from 1 to 100000") }
            s.maxConnectionsPerClient = n
        }
        return s
    }
}
