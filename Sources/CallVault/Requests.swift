// Data-subject requests (SPEC §14): the register and its deadlines, finding a subject's calls, restriction,
// erasure and rectification. Compliance and admin only; every step audited with the request id, never a number.
import CallVaultCore
import CallVaultStore
import Foundation

/// The kinds of GDPR request the register keeps (art. 15–18, 21).
public enum RequestKind: String, Sendable, CaseIterable {
    case access, erasure, restriction, rectification, objection
}

/// The grounds of a restriction (art. 18(1)(a)–(d)). `unlawful` and `legalClaims` keep the calls past expiry.
public enum RestrictionGround: String, Sendable, CaseIterable {
    case accuracy, unlawful, legalClaims = "legal-claims", objection

    /// Whether the subject needs the data kept: the sweeper then leaves the calls until the restriction is lifted.
    public var keepsPastExpiry: Bool { self == .unlawful || self == .legalClaims }
}

/// The metadata fields a rectification may correct.
public enum RectifiableField: String, Sendable, CaseIterable {
    case agent, team, queue, caller, callee

    var column: String { self == .agent ? "agent_id" : rawValue }
}

/// A request as the register shows it, with its deadline state at the time it was read.
public struct RequestSummary: Sendable {
    public var request: RequestView
    public var subjects: Int
    public var calls: Int
    /// Open and past `due_at`.
    public var overdue: Bool
    /// Open, not overdue, due within 7 days.
    public var dueSoon: Bool
}

/// One line of an erasure's plan or result.
public struct ErasureStep: Sendable, Equatable {
    public var recordingID: String
    public var outcome: ErasureOutcome
}

/// An erasure's plan or result: the stored calls, and the quarantine's copies naming a subject (deleted).
public struct Erasure: Sendable, Equatable {
    public var calls: [ErasureStep]
    public var quarantine: [QuarantineCopy]
}

public struct Requests: Sendable {
    public let vault: Vault

    public init(vault: Vault) { self.vault = vault }

    static let officers = Role.officers
    /// How long before its deadline a request counts as due soon.
    public static let dueSoonDays = 7

    /// The zone a request's dates are counted in: its tenant's, else the store's default.
    func zone(tenant: String?) -> TimeZone {
        vault.configuration.zone(forTenant: tenant)
    }

    /// Reads subjects' numbers as E.164 (`Vault.phoneNumbers`).
    public func normalisedSubjects(_ subjects: [String], tenant: String?, option: String = "--subject") throws -> [String] {
        try vault.phoneNumbers(subjects, tenant: tenant, option: option)
    }

    /// `due_at` of a request received at `received`: the end of the day one calendar month later on the tenant's
    /// wall clock. Deadlines run to the end of their last day (EU Regulation 1182/71, art. 3): a request received
    /// on 22 October may be answered on 22 November until midnight, and `due_at` is that midnight — the instant
    /// the deadline passes.
    public func firstDeadline(received: Date, tenant: String?) -> Date {
        let zone = zone(tenant: tenant)
        return Self.endOfDay(Self.day(of: received, in: zone, plusMonths: 1), in: zone)
    }

    /// The local calendar day of `instant` moved by `months` (31 January + 1 month: 28 February).
    static func day(of instant: Date, in zone: TimeZone, plusMonths months: Int) -> DateComponents {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        let start = calendar.startOfDay(for: instant)
        let moved = calendar.date(byAdding: .month, value: months, to: start)!
        return calendar.dateComponents([.year, .month, .day], from: moved)
    }

    /// The first instant after the local day `day`: the next day's midnight in `zone` (DST-aware).
    static func endOfDay(_ day: DateComponents, in zone: TimeZone) -> Date {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        let start = calendar.date(from: day)!
        return calendar.date(byAdding: .day, value: 1, to: start)!
    }

    /// The last day on which a deadline `dueAt` (an end-of-day instant) is still met, as `2026-11-22` in `zone`.
    public static func lastDay(_ dueAt: String, in zone: TimeZone) -> String {
        guard let due = Timestamp.parse(dueAt) else { return dueAt }
        return String(localTime(Timestamp.utc(due.addingTimeInterval(-1)), zone).prefix(10))
    }

    static func isSafeReference(_ s: String) -> Bool {
        let u = Array(s.utf8)
        guard (1...64).contains(u.count), u[0] != UInt8(ascii: ".") else { return false }
        return u.allSatisfy { ($0 >= 65 && $0 <= 90) || ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 45 || $0 == 46 || $0 == 95 }
    }

    /// Seven or more digits and nothing else but separators (`0470.12.34.56`, `0470-123456`).
    static func looksLikeANumber(_ s: String) -> Bool {
        let kept = s.unicodeScalars.filter { !".-_".unicodeScalars.contains($0) }
        return kept.count >= 7 && kept.allSatisfy { $0.properties.numericType != nil && $0.isASCII }
    }

    func summary(_ row: RequestRow, calls: Int, subjects: Int) -> RequestSummary {
        let now = Timestamp.utc(vault.clock.now())
        let soon = Timestamp.utc(vault.clock.now().addingTimeInterval(Double(Self.dueSoonDays) * 86_400))
        let open = row.closedAt == nil
        return RequestSummary(request: RequestView(row, zone: zone(tenant: row.tenant)), subjects: subjects, calls: calls, overdue: open && row.dueAt < now,
                              dueSoon: open && row.dueAt >= now && row.dueAt < soon)
    }

    /// The request, or a usage/not-found error (an ill-formed id is refused and audited without its text).
    func existing(_ id: String, action: String) throws -> RequestRow {
        guard RecordingID.isWellFormed(id) else { throw vault.refuseInvalidID(action: action, what: "request") }
        guard let r = try vault.catalog.request(id: id) else { throw VaultError(.notFound, "request \(id): no such request") }
        return r
    }

    func requireOpen(_ r: RequestRow, action: String) throws {
        guard r.closedAt == nil else { throw VaultError(.usage, "\(action): request \(r.id) is closed (\(r.closedAt!))") }
    }

    func requireKind(_ r: RequestRow, _ kinds: [RequestKind], action: String) throws {
        guard kinds.map(\.rawValue).contains(r.kind) else {
            throw VaultError(.usage, "\(action): request \(r.id) is a\(r.kind.first.map { "aeiou".contains($0) } == true ? "n" : "") \(r.kind) request; \(action) answers \(kinds.map(\.rawValue).joined(separator: " or ")) requests")
        }
    }

    // MARK: register

    /// Opens a request and records the calls its subjects have now (as caller or callee). Returns its summary.
    public func open(kind: RequestKind, subjects: [String], tenant: String?, received: Date, reference: String,
                     note: String?) throws -> RequestSummary {
        try vault.require(Self.officers, to: "request open")
        if let tenant, vault.configuration.tenants[tenant] == nil { throw VaultError(.usage, "--tenant \(tenant): not configured") }
        guard !subjects.isEmpty else { throw VaultError(.usage, "--subject: give the subject's phone number (repeatable)") }
        guard Self.isSafeReference(reference) else {
            throw VaultError(.usage, "--reference: 1-64 of A-Z a-z 0-9 . _ - (it names the export folder), not starting with '.'")
        }
        // The reference goes verbatim into the append-only audit log and names the bundle's folder: one made of
        // digits may be the subject's number typed into the wrong field. Not repeated here, for that reason.
        guard !Self.looksLikeANumber(reference) else {
            throw VaultError(.usage, "--reference: only digits (7 or more) could be a phone number, and the reference is kept in the audit log: give your case reference, such as DSR-2026-042")
        }
        let numbers = try Array(Set(normalisedSubjects(subjects, tenant: tenant))).sorted()
        // Each tenant is a controller of its own: a request is answered by one of them, never by several in one
        // bundle. A subject who called two clients makes two requests.
        let tenants = vault.configuration.tenants.keys
        guard tenant != nil || tenants.count <= 1 else {
            throw VaultError(.usage, "--tenant: the store has \(tenants.count) tenants, each a controller of its own; give the one the request is addressed to (a subject who called two of them makes a request to each)")
        }
        let tenant = tenant ?? tenants.first
        let now = vault.clock.now()
        guard received <= now else { throw VaultError(.usage, "--received: a request cannot be received in the future") }
        let key = try SubjectKey.load(vault)
        let hashes = numbers.map(key.hash)
        let id = RecordingID.make(at: now)
        let row = RequestRow(id: id, kind: kind.rawValue, tenant: tenant, reference: reference, note: note,
                             receivedAt: Timestamp.utc(received), dueAt: Timestamp.utc(firstDeadline(received: received, tenant: tenant)),
                             openedBy: vault.actor, openedAt: Timestamp.utc(now))
        var details = ["kind": kind.rawValue, "reference": reference, "subjects": hashes.joined(separator: ","), "due_at": row.dueAt]
        if let tenant { details["tenant"] = tenant }
        let calls = try vault.catalog.openRequest(row, subjectHashes: hashes, numbers: numbers,
                                                  event: vault.event(.requestOpened, target: id, details: details))
        return summary(row, calls: calls, subjects: hashes.count)
    }

    /// The register: all requests, the open ones, or the overdue ones; oldest deadline first.
    public func list(openOnly: Bool, overdueOnly: Bool) throws -> [RequestSummary] {
        try vault.require(Self.officers, to: "request list")
        let rows = try vault.catalog.requests(openOnly: openOnly, overdueAt: overdueOnly ? vault.clock.now() : nil)
        try vault.catalog.appendAudit([vault.event(.requestList, target: nil, details: ["results": String(rows.count)])])
        return try rows.map { summary($0.row, calls: $0.calls, subjects: try vault.catalog.requestSubjects(id: $0.row.id).count) }
    }

    /// One request with its calls.
    public func show(id: String) throws -> (RequestSummary, [RequestCallView]) {
        try vault.require(Self.officers, to: "request show")
        let r = try existing(id, action: "request show")
        let calls = try vault.catalog.requestCalls(id: id)
        try vault.catalog.appendAudit([vault.event(.requestShow, target: id)])
        return (summary(r, calls: calls.count, subjects: try vault.catalog.requestSubjects(id: id).count), calls.map(RequestCallView.init))
    }

    /// The subject's calls, present (with audio or metadata only) or gone. With `subjects` (numbers given again,
    /// which must be the request's own: their keyed hashes are compared), calls stored since are added first.
    public func find(id: String, subjects: [String] = []) throws -> [RequestCallView] {
        try vault.require(Self.officers, to: "request find")
        let r = try existing(id, action: "request find")
        if !subjects.isEmpty {
            let numbers = try normalisedSubjects(subjects, tenant: r.tenant)
            let key = try SubjectKey.load(vault)
            let known = Set(try vault.catalog.requestSubjects(id: id))
            for (i, n) in numbers.enumerated() where !known.contains(key.hash(n)) {
                throw VaultError(.usage, "--subject #\(i + 1) of \(numbers.count): not a subject of request \(id)")
            }
            _ = try vault.catalog.refreshRequest(id: id, tenant: r.tenant, numbers: numbers,
                                                 event: vault.event(.requestRefreshed, target: id))
        }
        let calls = try vault.catalog.requestCalls(id: id)
        try vault.catalog.appendAudit([vault.event(.requestFind, target: id, details: ["results": String(calls.filter { $0.row != nil }.count)])])
        return calls.map(RequestCallView.init)
    }

    /// Extends the deadline once by `period` (P1M or P2M) with a reason, only before the first deadline passed.
    public func extend(id: String, by period: String, reason: String) throws -> RequestSummary {
        try vault.require(Self.officers, to: "request extend")
        let r = try existing(id, action: "request extend")
        guard period == "P1M" || period == "P2M", let d = ISODuration(period) else {
            throw VaultError(.usage, "--by: P1M or P2M (GDPR art. 12(3): at most two further months)")
        }
        guard !reason.trimmingCharacters(in: .whitespaces).isEmpty else { throw VaultError(.usage, "--reason: say why the request needs longer") }
        guard let first = Timestamp.parse(r.firstDueAt) else { throw VaultError.failure("request \(id): unreadable deadline") }
        // From the first deadline's last day, to the end of the day `period` later.
        let zone = zone(tenant: r.tenant)
        let newDue = Self.endOfDay(Self.day(of: first.addingTimeInterval(-1), in: zone, plusMonths: d.months), in: zone)
        try vault.catalog.extendRequest(id: id, to: newDue, by: period, reason: reason, now: vault.clock.now(),
                                        event: vault.event(.requestExtended, target: id, details: ["by": period, "due_at": Timestamp.utc(newDue)]))
        return try show(id: id).0
    }

    public func close(id: String, outcome: String) throws {
        try vault.require(Self.officers, to: "request close")
        _ = try existing(id, action: "request close")
        guard !outcome.trimmingCharacters(in: .whitespaces).isEmpty else { throw VaultError(.usage, "--outcome: say how the request was answered") }
        try vault.catalog.closeRequest(id: id, outcome: outcome, by: vault.actor, now: vault.clock.now(),
                                       event: vault.event(.requestClosed, target: id))
    }

    /// Open requests overdue and due within 7 days (for the report and `/metrics`); not audited, counts only.
    public func deadlines() throws -> RequestDeadlineCounts {
        let now = vault.clock.now()
        return try vault.catalog.requestDeadlines(at: now, soonUntil: now.addingTimeInterval(Double(Self.dueSoonDays) * 86_400))
    }

    // MARK: restriction, erasure, rectification

    /// Restricts the request's calls (hidden from coaches everywhere; with ground unlawful or legal-claims also
    /// kept past expiry), or lifts the restriction — only once the subject was told (art. 18(3)).
    /// Returns how many calls changed state.
    public func restrict(id: String, ground: RestrictionGround?, lift: Bool, subjectInformed: Bool) throws -> Int {
        try vault.require(Self.officers, to: "request restrict")
        let r = try existing(id, action: "request restrict")
        try requireKind(r, [.restriction, .objection], action: "restrict")
        if lift {
            guard ground == nil else { throw VaultError(.usage, "--lift takes no --ground") }
            guard subjectInformed else {
                throw VaultError(.usage, "--lift: tell the subject before the restriction is lifted (art. 18(3)), then add --subject-informed")
            }
            return try vault.catalog.setRestriction(id: id, ground: nil, now: vault.clock.now(),
                                                    event: vault.event(.requestRestrictionLifted, target: id, details: ["subject_informed": "true"]),
                                                    erasure: Sweeper.erasureEffects(vault))
        }
        try requireOpen(r, action: "restrict")
        guard let ground else { throw VaultError(.usage, "--ground: accuracy, unlawful, legal-claims or objection (art. 18(1)(a)-(d))") }
        return try vault.catalog.setRestriction(id: id, ground: ground.rawValue, now: vault.clock.now(),
                                                event: vault.event(.requestRestricted, target: id,
                                                                   details: ["ground": ground.rawValue, "kept_past_expiry": String(ground.keepsPastExpiry)]))
    }

    /// Erases the subject's calls now through the sweeper's deletion path; held calls are kept, marked
    /// erasure-pending, and erased when their last hold is released. The quarantine's copies naming a subject
    /// are deleted after the calls. `dryRun`: the plan, changing nothing.
    public func erase(id: String, dryRun: Bool) throws -> Erasure {
        try vault.require(Self.officers, to: "request erase")
        let r = try existing(id, action: "request erase")
        try requireKind(r, [.erasure, .objection], action: "erase")
        try requireOpen(r, action: "erase")
        let copies = try quarantineCopies(r)
        if dryRun {
            let plan = try vault.catalog.erasurePlan(id: id)
            try vault.catalog.appendAudit([vault.event(.requestErasePlanned, target: id, details: [
                "calls": String(plan.count), "quarantine": String(copies.count),
            ])])
            return Erasure(calls: plan.map { ErasureStep(recordingID: $0.0, outcome: $0.1) }, quarantine: copies.map(\.copy))
        }
        let done = try vault.catalog.erase(id: id, now: vault.clock.now(), effects: Sweeper.erasureEffects(vault),
                                           event: vault.event(.requestErase, target: id, details: ["quarantine": String(copies.count)]))
        _ = try Quarantine(vault: vault).erase(copies.map(\.row), requestID: id)
        return Erasure(calls: done.map { ErasureStep(recordingID: $0.0, outcome: $0.1) }, quarantine: copies.map(\.copy))
    }

    /// The quarantine entries naming one of the request's subjects, of its tenant.
    func quarantineCopies(_ r: RequestRow) throws -> [(copy: QuarantineCopy, row: RejectionRow)] {
        let subjects = Set(try vault.catalog.requestSubjects(id: r.id))
        let rows = try vault.catalog.liveRejections()
        guard !subjects.isEmpty, !rows.isEmpty else { return [] }
        return Quarantine(vault: vault).copies(of: rows, naming: subjects, tenant: r.tenant, key: try SubjectKey.load(vault))
    }

    /// The quarantine's copies of the subject's calls: refused at ingest, kept until the quarantine period ends,
    /// and personal data all the same (listed by access requests, deleted by erasures).
    public func quarantine(id: String) throws -> [QuarantineCopy] {
        try vault.require(Self.officers, to: "request show")
        return try quarantineCopies(try existing(id, action: "request show")).map(\.copy)
    }

    /// Corrects one metadata field of one of the request's calls; the audit keeps keyed hashes of the old and
    /// new values, never the values.
    public func rectify(id: String, recordingID: String, field: RectifiableField, value: String) throws {
        try vault.require(Self.officers, to: "request rectify")
        let r = try existing(id, action: "request rectify")
        try requireKind(r, [.rectification], action: "rectify")
        try requireOpen(r, action: "rectify")
        guard RecordingID.isWellFormed(recordingID) else { throw vault.refuseInvalidID(action: "request rectify", what: "recording") }
        guard let call = try vault.catalog.requestCalls(id: id).first(where: { $0.recordingID == recordingID }) else {
            throw VaultError(.usage, "--recording \(recordingID): not one of request \(id)'s calls")
        }
        let stored: String
        switch field {
        case .caller, .callee:
            if value == "withheld" {
                stored = value
            } else {
                stored = try normalisedSubjects([value], tenant: call.tenant, option: "--value").first!
            }
        case .agent, .team, .queue:
            // The sidecar's rule for the field (an agent id is an identifier: `list --agent` and paths rely on it),
            // and no phone number's worth of digits: a caller's number typed into the wrong field would be shown
            // to coaches.
            let limit = field == .queue ? 256 : 128
            guard (1...limit).contains(value.count), !value.unicodeScalars.contains(where: Sidecar.isForbiddenInText) else {
                throw VaultError(.usage, "--value: 1-\(limit) characters without control characters")
            }
            if field == .agent, !Sidecar.isSafeIdentifier(value) {
                throw VaultError(.usage, "--value: an agent id has only A-Z a-z 0-9 . _ : @ -")
            }
            guard !PhoneNumber.mayContainOne(value) else {
                throw VaultError(.usage, "--value: holds a phone number's worth of digits (7 or more); \(field.rawValue) is not a number field")
            }
            stored = value
        }
        let key = try SubjectKey.load(vault)
        _ = try vault.catalog.rectify(recordingID: recordingID, column: field.column, value: stored) { old in
            vault.event(.requestRectified, target: id, details: [
                "recording": recordingID, "field": field.rawValue, "old_hash": old.map(key.hash) ?? "-", "new_hash": key.hash(stored),
            ])
        }
    }
}
