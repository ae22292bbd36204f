// What coaches and compliance officers read (SPEC §8): list, show, export, report, audit, quarantine —
// each scoped by role and each audited, allowed or refused.
import CallVaultCore
import CallVaultStore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Filters of `callvault list`, as given.
public struct ListFilters: Sendable {
    public var tenant, team, agent, queue: String?
    public var direction: Direction?
    public var from, to: Date?
    public var minDuration, maxDuration: Double?
    public var expiringWithin: ISODuration?
    public var limit = 50
    public var cursor: String?

    public init() {}

    /// The filters' names, as the web's query string and (with dashes) the command line's options give them.
    public static let names = ["tenant", "team", "agent", "queue", "from", "to", "direction", "min_duration", "max_duration",
                               "expiring_within", "limit", "cursor"]

    /// The filters from their values as typed, `value(name)` giving each (nil or empty: not given); one reading
    /// for every front end. Dates are days in the tenant's zone, else the zone all tenants share, else the
    /// configured one (the zone the listing shows); a period includes its days whole (`PeriodEnd`).
    public static func parse(_ value: (String) -> String?, configuration: Configuration) throws -> ListFilters {
        func given(_ name: String) -> String? { value(name).flatMap { $0.isEmpty ? nil : $0 } }
        var f = ListFilters()
        f.tenant = given("tenant"); f.team = given("team"); f.agent = given("agent"); f.queue = given("queue")
        if let d = given("direction") {
            guard let direction = Direction(rawValue: d) else { throw VaultError(.usage, Direction.choices, field: "direction") }
            f.direction = direction
        }
        let zone = configuration.zone(forTenant: f.tenant)
        f.from = try given("from").map { try PeriodEnd.from.read($0, zone: zone) }
        f.to = try given("to").map { try PeriodEnd.to.read($0, zone: zone) }
        f.minDuration = try given("min_duration").map { try seconds($0, field: "min_duration") }
        f.maxDuration = try given("max_duration").map { try seconds($0, field: "max_duration") }
        if let e = given("expiring_within") {
            guard let d = ISODuration(e) else { throw VaultError(.usage, "an ISO 8601 duration such as P3D", field: "expiring_within") }
            f.expiringWithin = d
        }
        if let l = given("limit") {
            guard let n = Int(l), (1...1000).contains(n) else { throw VaultError(.usage, "1 to 1000", field: "limit") }
            f.limit = n
        }
        f.cursor = given("cursor")
        return f
    }

    /// A duration as seconds (`90`) or ISO 8601 (`PT1M30S`).
    public static func seconds(_ text: String, field: String) throws -> Double {
        if let s = Double(text), s >= 0, s.isFinite { return s }
        if let d = ISODuration(text) { return d.approximateSeconds }
        throw VaultError(.usage, "give seconds or an ISO 8601 duration (PT5M)", field: field)
    }

    /// Refuses filter values that cannot be what they name (exit 2), before anything is audited: a tenant
    /// outside the tenant charset, an agent outside the id charset (a phone number among them).
    func validate() throws {
        if let tenant, !Sidecar.isSafeTenant(tenant) { throw VaultError(.usage, "--tenant: not a tenant name ([a-z0-9][a-z0-9-]{0,62})") }
        if let agent, !Sidecar.isSafeIdentifier(agent) { throw VaultError(.usage, "--agent: not an agent id (A-Z a-z 0-9 . _ : @ -)") }
    }

    /// The filters for the audit event: which were used, with the values that are ids (validated); a team
    /// name is free text, so it is recorded only when it has the form of an id and not a number's digits.
    var auditDetails: [String: String] {
        // A value with a phone number's worth of digits is withheld: a caller's number typed into the wrong box
        // must not become a permanent entry of the append-only log.
        func recorded(_ v: String) -> String {
            PhoneNumber.mayContainOne(v) ? "(withheld: digits)" : Sidecar.isSafeIdentifier(v) ? v : "(free text)"
        }
        var d: [String: String] = [:]
        if let tenant { d["tenant"] = tenant }
        if let team { d["team"] = recorded(team) }
        if let queue { d["queue"] = recorded(queue) }
        if let agent { d["agent"] = recorded(agent) }
        if let direction { d["direction"] = direction.rawValue }
        if let from { d["from"] = Timestamp.utc(from) }
        if let to { d["to"] = Timestamp.utc(to) }
        if let minDuration { d["min_duration"] = String(minDuration) }
        if let maxDuration { d["max_duration"] = String(maxDuration) }
        if let expiringWithin { d["expiring_within"] = expiringWithin.text }
        d["limit"] = String(limit)
        if cursor != nil { d["cursor"] = "yes" }
        return d
    }
}

public struct Listing: Sendable {
    public let vault: Vault

    public init(vault: Vault) { self.vault = vault }

    static let readers = Role.readers
    static let officers = Role.officers

    /// Whether the acting user is a coach: scoped, and told nothing about holds.
    var isCoach: Bool { vault.principal.user?.role == .coach }

    /// The base query of the acting user: coaches get their scope and the coaching rule (nothing past its normal
    /// audio expiry, held or not); officers see all.
    func baseQuery() -> ListingQuery {
        var q = ListingQuery()
        if let user = vault.principal.user, user.role == .coach {
            q.scopeTeams = user.teams.isEmpty ? nil : user.teams
            q.scopeTenants = user.tenants.isEmpty ? nil : user.tenants
            q.coachingOnly = true
            q.audioUnexpiredAt = vault.clock.now()
        }
        return q
    }

    /// Cursor text: the last row's (started_at, id), opaque to users.
    static func cursor(for row: RecordingRow) -> String {
        Data((row.startedAt + "|" + row.id).utf8).base64EncodedString()
    }

    static func decode(cursor: String) throws -> (String, String) {
        guard let data = Data(base64Encoded: cursor), let text = String(data: data, encoding: .utf8),
              let bar = text.firstIndex(of: "|") else {
            throw VaultError(.usage, "--cursor: not a cursor from a previous page")
        }
        return (String(text[..<bar]), String(text[text.index(after: bar)...]))
    }

    public func list(_ f: ListFilters) throws -> (page: [RecordingView], nextCursor: String?) {
        try vault.require(Self.readers, to: "list")
        try f.validate()
        let now = vault.clock.now()
        var q = baseQuery()
        q.tenant = f.tenant; q.team = f.team; q.agent = f.agent; q.queue = f.queue; q.direction = f.direction?.rawValue
        q.from = f.from; q.to = f.to; q.minDuration = f.minDuration; q.maxDuration = f.maxDuration
        q.expiringBefore = f.expiringWithin.map { $0.added(to: now, in: vault.configuration.timeZone) }
        q.limit = max(1, min(f.limit, 1000))
        if let c = f.cursor { q.after = try Self.decode(cursor: c) }
        let (page, more) = try vault.catalog.list(q)
        var details = f.auditDetails
        details["results"] = String(page.count)
        try vault.catalog.appendAudit([vault.event(.list, target: nil, details: details)])
        let officer = !isCoach
        return (page.map { RecordingView($0.row, onHold: $0.onHold, officer: officer) }, more ? page.last.map { Self.cursor(for: $0.row) } : nil)
    }

    /// The tenants the acting user may filter by: every configured tenant for officers; for a coach the
    /// tenants of the scope, or (a scope of teams only) those of the calls in it — never another client's name.
    public func filterTenants() throws -> [String] {
        try vault.require(Self.readers, to: "list")
        let configured = vault.configuration.tenants.keys.sorted()
        guard let user = vault.principal.user, user.role == .coach else { return configured }
        if !user.tenants.isEmpty { return configured.filter(user.tenants.contains) }
        return try vault.catalog.tenants(baseQuery())
    }

    /// One recording, if the acting user may see it; refusals are audited (exit 3). A coach gets no hold:
    /// neither the holds nor whether there is one.
    public func show(id: String, action: String = "show") throws -> (RecordingView, [HoldView]) {
        let (row, holds) = try visibleRecording(id: id, action: action)
        return (try view(row, onHold: !holds.isEmpty), holds.map(HoldView.init))
    }

    /// The acting user's view of a row, with its hold-music segments (show and export alike).
    func view(_ row: RecordingRow, onHold: Bool) throws -> RecordingView {
        var view = RecordingView(row, onHold: onHold, officer: !isCoach)
        if row.holdPolicy != nil { view.holdMusic?.segments = try vault.catalog.holdSegments(recordingID: row.id).map(\.segment) }
        return view
    }

    /// The catalog row behind `show`, for the library's own use (playback, export, fixity); same checks and audit.
    func visibleRecording(id: String, action: String) throws -> (RecordingRow, [HoldRow]) {
        try vault.require(Self.readers, to: action)
        guard RecordingID.isWellFormed(id) else { throw vault.refuseInvalidID(action: action, what: "recording") }
        let q = baseQuery()
        guard let row = try vault.catalog.recording(id: id) else {
            try vault.catalog.appendAudit([vault.event(.accessDenied, target: id, details: ["action": action, "why": "no such recording"])])
            var e = VaultError(.notFound, "\(action) \(id): no such recording")
            e.hidesExistence = true
            throw e
        }
        guard try vault.catalog.visible(id: id, q) else {
            try vault.catalog.appendAudit([vault.event(.accessDenied, target: id, details: ["action": action, "why": "outside scope"])])
            var e = VaultError(.accessDenied, "\(action) \(id): not allowed for \(vault.actor): outside your scope, non-compliant or without audio")
            e.hidesExistence = true
            throw e
        }
        if action == "show" { try vault.catalog.appendAudit([vault.event(.show, target: id)]) }
        if isCoach { return (row, []) }
        return (row, try vault.catalog.activeHolds(recordingID: id))
    }

    /// Copies a recording's audio and a JSON of its metadata into the folder `destination` (created 0700).
    /// `metadata` writes the JSON from what the acting user may see (coaches: no phone numbers, no holds).
    /// Returns the two paths written.
    public func export(id: String, to destination: String, metadata: (RecordingView, [HoldView]) -> Data) throws -> (audio: String, metadata: String) {
        let (row, holdRows) = try visibleRecording(id: id, action: "export")
        let rec = (row: row, view: try view(row, onHold: !holdRows.isEmpty))
        guard rec.row.audioDeletedAt == nil else { throw VaultError(.gone, "export \(id): its audio was deleted at \(rec.row.audioDeletedAt!)") }
        if mkdir(destination, 0o700) != 0, errno != EEXIST {
            throw VaultError.failure("cannot create \(destination): \(String(cString: strerror(errno)))")
        }
        let ext = URL(fileURLWithPath: rec.row.audioPath).pathExtension
        let audioOut = destination + "/" + id + "." + ext
        let jsonOut = destination + "/" + id + ".json"
        let src = vault.files.absolute(rec.row.audioPath)
        let fd = open(src, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else { throw VaultError.failure("cannot read \(rec.row.audioPath): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let out = StoreFiles(root: destination)
        _ = unlink(audioOut)
        try out.copy(from: fd, to: id + "." + ext)
        try out.writeFile(metadata(rec.view, holdRows.map(HoldView.init)), at: id + ".json")
        try vault.catalog.appendAudit([vault.event(.export, target: id, details: ["sha256": rec.row.sha256])])
        return (audioOut, jsonOut)
    }

    public func report(from: Date, to: Date) throws -> [TenantReport] {
        try vault.require(Self.officers, to: "report")
        let r = try tenantReports(from: from, to: to)
        try vault.catalog.appendAudit([vault.event(.report, target: nil, details: ["from": Timestamp.utc(from), "to": Timestamp.utc(to)])])
        return r
    }

    /// The per-tenant figures of a period, without role check or audit (the callers do both).
    func tenantReports(from: Date, to: Date) throws -> [TenantReport] {
        let verifying = Set(vault.configuration.tenants.values.filter { $0.announcement.verify != .off }.map(\.name))
        let holdChecking = Set(vault.configuration.tenants.values.filter { $0.holdMusic.policy != .off }.map(\.name))
        return try vault.catalog.report(from: from, to: to, now: vault.clock.now(), tenants: vault.configuration.tenants.keys.sorted(),
                                        verifying: verifying, holdChecking: holdChecking)
    }

    /// Verifies the chain, and with `expectedHead` (a head anchored outside the host) that the chain still holds it.
    public func verifyAudit(expectedHead: (seq: Int64, hash: String)? = nil) throws -> AuditVerification {
        try vault.require(Self.officers, to: "audit verify")
        // Verify first, then record that it was verified (the new event is not part of what was checked).
        let r = try vault.catalog.verifyAudit(expectedHead: expectedHead)
        var details = ["ok": String(r.ok), "events": String(r.events)]
        if r.timeRegressionsTotal > 0 { details["time_regressions"] = String(r.timeRegressionsTotal) }
        if let expectedHead { details["expected_head"] = String(expectedHead.seq) }
        try vault.catalog.appendAudit([vault.event(.auditVerify, target: nil, details: details)])
        return r
    }

    /// The head of the chain to anchor outside the host: the `audit.head` event this call appends.
    public func auditHead() throws -> (seq: Int64, hash: String) {
        try vault.require(Self.officers, to: "audit head")
        return try vault.catalog.appendAuditReturningHead(vault.event(.auditHead, target: nil))
    }

    /// Audit events by filter. The audit event of the listing names the filters used, not their values
    /// (a typed value is not known to be free of personal data).
    public func auditEvents(since: Date?, until: Date? = nil, fromSeq: Int64? = nil, toSeq: Int64? = nil, actor: String?,
                            action: String?, target: String? = nil, limit: Int) throws -> [AuditEntry] {
        try vault.require(Self.officers, to: "audit list")
        let rows = try vault.catalog.auditEvents(since: since, until: until, fromSeq: fromSeq, toSeq: toSeq, actor: actor, action: action,
                                                 target: target, limit: limit)
        let used = [("since", since != nil), ("until", until != nil), ("from_seq", fromSeq != nil), ("to_seq", toSeq != nil),
                    ("actor", actor != nil), ("action", action != nil), ("target", target != nil)].filter(\.1).map(\.0)
        var details = ["results": String(rows.count)]
        if !used.isEmpty { details["filters"] = used.joined(separator: ",") }
        try vault.catalog.appendAudit([vault.event(.auditList, target: nil, details: details)])
        return rows.map(AuditEntry.init)
    }

    public func quarantine(limit: Int) throws -> [QuarantineEntry] {
        try vault.require(Role.administrators, to: "quarantine list")
        let rows = try vault.catalog.rejections(limit: limit)
        try vault.catalog.appendAudit([vault.event(.quarantineList, target: nil, details: ["results": String(rows.count)])])
        return rows.map(QuarantineEntry.init)
    }

    public func quarantineEntry(id: String) throws -> (QuarantineEntry, deletedAt: String?, files: [String]) {
        try vault.require(Role.administrators, to: "quarantine show")
        guard RecordingID.isWellFormed(id) else { throw vault.refuseInvalidID(action: "quarantine show", what: "quarantine entry") }
        guard let (row, deleted) = try vault.catalog.rejection(id: id) else { throw VaultError(.notFound, "quarantine \(id): no such entry") }
        try vault.catalog.appendAudit([vault.event(.quarantineShow, target: id)])
        // Inputs lie under files/ (apart from reason.json); the first version kept them beside it.
        let inputs = vault.files.list(row.quarantinePath + "/files").map { "files/" + $0 }
        return (QuarantineEntry(row), deleted, vault.files.list(row.quarantinePath).filter { $0 != "files" } + inputs)
    }
}
