// The sidecar schema callvault.call/1 (SPEC §2) and its validation, in the order of SPEC §3.
import Foundation

/// Which way a call went (SPEC §2): the one vocabulary of the sidecar, the catalog and both front ends' filters.
public enum Direction: String, Sendable, Codable, CaseIterable {
    case inbound, outbound, `internal`

    /// The values in words, for help texts and refusals.
    public static let choices = "inbound, outbound or internal"
}

/// The announcement check's verdict on a stored call (SPEC §17), as the catalog keeps it in
/// `announcement_verified`: the raw values are the column's words, older than the three verdicts.
public enum AnnouncementVerdict: String, Sendable, Codable, CaseIterable {
    case heard = "yes"
    case notHeard = "no"
    case review
    /// Verification is off for the tenant, or the call was stored before it existed.
    case notChecked = "not_checked"

    /// The verdict in the words of SPEC §17.
    public var inWords: String {
        switch self {
        case .heard: "heard"
        case .notHeard: "not heard"
        case .review: "review"
        case .notChecked: "not checked"
        }
    }

    /// The SQL literal of the verdict, for the few queries that name one.
    public var sqlLiteral: String { "'\(rawValue)'" }
}

/// How far data-subject restrictions in force reach a recording (GDPR art. 18), as the catalog keeps it: the
/// strongest of them.
public enum Restriction: Int, Sendable, Codable, CaseIterable {
    case none = 0
    /// Hidden from coaches (accuracy contested, an objection pending: art. 18(1)(a),(d)).
    case hidden = 1
    /// Hidden and kept past its expiry (processing unlawful, or kept for legal claims: art. 18(1)(b),(c)).
    case keptPastExpiry = 2

    public var hidesFromCoaches: Bool { self != .none }
}

/// Why a hold keeps calls past their retention (SPEC §5): an incident being looked into, or legal evidence.
public enum HoldKind: String, Sendable, Codable, CaseIterable {
    case incident, legal

    /// The values in words, for help texts and refusals.
    public static let choices = "incident or legal"

    /// "an incident", "a legal": the article the kind takes in a sentence.
    public var withArticle: String { self == .incident ? "an incident" : "a legal" }
}

/// A validated sidecar. Phone numbers live here and in the catalog only, never in logs or errors.
public struct Sidecar: Sendable, Equatable {
    public static let schemaID = "callvault.call/1"
    public static let maxBytes = 64 * 1024

    public typealias Direction = CallVaultCore.Direction

    public var callID: String
    public var tenant: String
    public var startedAt: Date
    public var endedAt: Date?
    public var direction: Direction
    public var agentID: String
    public var team: String?
    public var caller: String?
    public var callee: String?
    public var queue: String?
    public var site: String?
    public var announcementPlayed: Bool
    public var announcementPrompt: String?
    public var announcementAtMs: Int?
    public var labels: [String: String]
    /// Unknown top-level fields, kept verbatim and never interpreted.
    public var extra: [String: JSONValue]

    /// Seconds between `started_at` and `ended_at`, when both are known.
    public var statedDuration: Double? { endedAt.map { $0.timeIntervalSince(startedAt) } }
}

extension Sidecar {
    static let knownFields: Set<String> = [
        "schema", "call_id", "tenant", "started_at", "ended_at", "direction", "agent",
        "caller", "callee", "queue", "site", "announcement", "labels",
    ]

    /// Validates raw sidecar bytes. Checks run in the order of the reason codes of SPEC §3, so that the
    /// first failing class is the one reported: sidecar_invalid, unsafe_name, tenant_unknown,
    /// timestamp_invalid, announcement_missing. (too_large is decided by the caller from the file size.)
    ///
    /// - Parameters:
    ///   - defaultTenant: the inbox sub-folder's tenant, used when the sidecar has none; a sidecar naming
    ///     another tenant is `sidecar_invalid` (a recorder writes only for the tenant of its folder).
    ///   - isKnownTenant: whether the configuration lists a tenant.
    public static func validate(
        _ data: Data, defaultTenant: String?, isKnownTenant: (String) -> Bool, now: Date
    ) -> Result<Sidecar, Rejection> {
        func invalid(_ detail: String) -> Result<Sidecar, Rejection> { .failure(Rejection(.sidecarInvalid, detail)) }
        guard data.count <= maxBytes else { return .failure(Rejection(.tooLarge, "sidecar is over 64 KiB")) }
        guard String(data: data, encoding: .utf8) != nil else { return invalid("sidecar is not valid UTF-8") }
        // One strict pass: duplicate keys, nesting and control characters anywhere in the document.
        let root: JSONValue
        do { root = try StrictJSON.parse(data, forbidding: isForbiddenInText) } catch { return invalid(describe(error)) }
        guard case .object(let o) = root else { return invalid("sidecar is not a JSON object") }

        // --- sidecar_invalid: presence, types, forms and limits ---
        guard case .string(let schema)? = o["schema"] else { return invalid("schema: required string") }
        guard schema == schemaID else { return invalid("schema: must be \(schemaID)") }

        guard let callIDValue = o["call_id"] else { return invalid("call_id: required") }
        guard case .string(let callID) = callIDValue else { return invalid("call_id: must be a string") }
        guard (1...128).contains(callID.count) else { return invalid("call_id: must be 1-128 characters") }

        let tenant: String
        switch o["tenant"] {
        case nil, .null?:
            guard let d = defaultTenant else { return invalid("tenant: required (no tenant sub-folder)") }
            tenant = d
        case .string(let t)?:
            // The tenant folder is the boundary a recorder is given: it cannot file calls for another tenant.
            if let folder = defaultTenant, t != folder {
                return invalid("tenant: names another tenant than the tenant folder the pair lies in")
            }
            tenant = t
        default:
            return invalid("tenant: must be a string")
        }
        guard (1...63).contains(tenant.count) else { return invalid("tenant: must be 1-63 characters") }

        guard let startedValue = o["started_at"] else { return invalid("started_at: required") }
        guard case .string(let startedText) = startedValue, let startedAt = Timestamp.parse(startedText) else {
            return invalid("started_at: must be RFC 3339 with offset")
        }
        var endedAt: Date?
        switch o["ended_at"] {
        case nil, .null?: break
        case .string(let t)?:
            guard let d = Timestamp.parse(t) else { return invalid("ended_at: must be RFC 3339 with offset") }
            endedAt = d
        default: return invalid("ended_at: must be RFC 3339 with offset")
        }

        guard let directionValue = o["direction"] else { return invalid("direction: required") }
        guard case .string(let dirText) = directionValue, let direction = Direction(rawValue: dirText) else {
            return invalid("direction: must be inbound, outbound or internal")
        }

        guard let agentValue = o["agent"] else { return invalid("agent: required") }
        guard case .object(let agent) = agentValue else { return invalid("agent: must be an object") }
        guard let agentIDValue = agent["id"] else { return invalid("agent.id: required") }
        guard case .string(let agentID) = agentIDValue else { return invalid("agent.id: must be a string") }
        guard (1...128).contains(agentID.count) else { return invalid("agent.id: must be 1-128 characters") }
        var team: String?
        switch agent["team"] {
        case nil, .null?: break
        case .string(let t)?:
            guard (1...128).contains(t.count) else { return invalid("agent.team: must be 1-128 characters") }
            team = t
        default: return invalid("agent.team: must be a string")
        }

        func phone(_ key: String) -> Result<String?, Rejection> {
            switch o[key] {
            case nil, .null?: return .success(nil)
            // Stored as the one form requests, holds and filters look for: a trunk zero after the country code
            // removed (+320470… is +32470…), and a number that cannot be one of its country refused.
            case .string("withheld")?: return .success("withheld")
            case .string(let s)? where isPhoneNumber(s):
                guard let e164 = PhoneNumber.normalised(s, country: nil) else {
                    return .failure(Rejection(.sidecarInvalid, "\(key): not a number of its country code"))
                }
                return .success(e164)
            default: return .failure(Rejection(.sidecarInvalid, "\(key): must be E.164 (+ and 7-15 digits) or \"withheld\""))
            }
        }
        let caller: String?, callee: String?
        switch phone("caller") { case .success(let v): caller = v; case .failure(let r): return .failure(r) }
        switch phone("callee") { case .success(let v): callee = v; case .failure(let r): return .failure(r) }

        func shortText(_ key: String) -> Result<String?, Rejection> {
            switch o[key] {
            case nil, .null?: return .success(nil)
            case .string(let s)? where (1...256).contains(s.count): return .success(s)
            default: return .failure(Rejection(.sidecarInvalid, "\(key): must be a string of 1-256 characters"))
            }
        }
        let queue: String?, site: String?
        switch shortText("queue") { case .success(let v): queue = v; case .failure(let r): return .failure(r) }
        switch shortText("site") { case .success(let v): site = v; case .failure(let r): return .failure(r) }

        var played = false
        var prompt: String?
        var atMs: Int?
        switch o["announcement"] {
        case nil, .null?: break
        case .object(let a)?:
            switch a["played"] {
            case nil, .null?: break
            case .bool(let b)?: played = b
            default: return invalid("announcement.played: must be a boolean")
            }
            switch a["prompt"] {
            case nil, .null?: break
            case .string(let p)? where (1...128).contains(p.count): prompt = p
            default: return invalid("announcement.prompt: must be a string of 1-128 characters")
            }
            switch a["at_ms"] {
            case nil, .null?: break
            case .number(let n)? where n >= 0 && n.rounded() == n && n < 1e12: atMs = Int(n)
            default: return invalid("announcement.at_ms: must be a non-negative integer")
            }
        default: return invalid("announcement: must be an object")
        }

        var labels: [String: String] = [:]
        switch o["labels"] {
        case nil, .null?: break
        case .object(let l)?:
            guard l.count <= 32 else { return invalid("labels: at most 32 pairs") }
            for (k, v) in l.sorted(by: { $0.key < $1.key }) {
                guard (1...64).contains(k.count) else { return invalid("labels: keys must be 1-64 characters") }
                guard case .string(let s) = v else { return invalid("labels: values must be strings") }
                guard s.count <= 256 else { return invalid("labels: values must be at most 256 characters") }
                labels[k] = s
            }
        default: return invalid("labels: must be an object of strings")
        }

        // --- unsafe_name: identifiers that become paths or keys ---
        guard isSafeIdentifier(callID) else { return .failure(Rejection(.unsafeName, "call_id: only A-Z a-z 0-9 . _ : @ - allowed")) }
        guard isSafeTenant(tenant) else { return .failure(Rejection(.unsafeName, "tenant: only a-z 0-9 - allowed, starting with a letter or digit")) }
        guard isSafeIdentifier(agentID) else { return .failure(Rejection(.unsafeName, "agent.id: only A-Z a-z 0-9 . _ : @ - allowed")) }
        guard callID != ".", callID != "..", !callID.contains("..") else {
            return .failure(Rejection(.unsafeName, "call_id: must not contain '..'"))
        }

        // --- tenant_unknown ---
        guard isKnownTenant(tenant) else { return .failure(Rejection(.tenantUnknown, "tenant: not configured in callvault.toml")) }

        // --- timestamp_invalid ---
        guard startedAt.timeIntervalSince(now) <= 300 else {
            return .failure(Rejection(.timestampInvalid, "started_at: more than 5 min in the future"))
        }
        if let e = endedAt, e < startedAt {
            return .failure(Rejection(.timestampInvalid, "ended_at: before started_at"))
        }

        // --- announcement_missing ---
        guard played else { return .failure(Rejection(.announcementMissing, "announcement.played: absent or not true")) }

        var extra: [String: JSONValue] = [:]
        for (k, v) in o where !knownFields.contains(k) { extra[k] = v }

        return .success(Sidecar(
            callID: callID, tenant: tenant, startedAt: startedAt, endedAt: endedAt, direction: direction,
            agentID: agentID, team: team, caller: caller, callee: callee, queue: queue, site: site,
            announcementPlayed: played, announcementPrompt: prompt, announcementAtMs: atMs,
            labels: labels, extra: extra))
    }

    /// Characters no text field may hold, because terminals, spreadsheets and the catalog act on them: C0
    /// (NUL, TAB, CR, LF, ESC, BEL, …), DEL, C1, and the bidi controls that reorder what a reader sees.
    public static func isForbiddenInText(_ u: Unicode.Scalar) -> Bool {
        switch u.value {
        case 0x00...0x1F, 0x7F...0x9F: return true
        case 0x202A...0x202E, 0x2066...0x2069, 0x200E, 0x200F, 0x061C: return true
        default: return false
        }
    }

    /// A strict-parse failure as a one-line detail naming the field (never its value).
    static func describe(_ f: StrictJSON.Failure) -> String {
        let field = fieldPath(f.path)
        switch f.kind {
        case .syntax(let what, let offset):
            return "sidecar is not valid JSON (\(what) at byte \(offset)\(field.isEmpty ? "" : ", in " + field))"
        case .duplicateKey:
            return "\(field): duplicate key (readers disagree on which one counts)"
        case .tooDeep:
            return "sidecar is nested deeper than \(StrictJSON.maxDepth) levels" + (field.isEmpty ? "" : " (at \(field))")
        case .forbiddenCharacter(let u, let inKey):
            return "\(field): \(inKey ? "key contains" : "contains") a control or bidi character (\(String(format: "U+%04X", u.value)))"
        }
    }

    /// A path such as `labels.campaign`, `extra.pbx.legs[1]` or `agent.team`. Unknown top-level fields are
    /// shown under `extra.` (where they are kept); a key that is not a plain name is shown by its position
    /// (`labels.<key 2>`), as it may hold anything, a phone number or a terminal escape included.
    static func fieldPath(_ path: [StrictJSON.PathComponent]) -> String {
        var out = ""
        for (n, component) in path.enumerated() {
            switch component {
            case .key(let k, let position):
                if n == 0, !knownFields.contains(k) { out = "extra" }
                if !out.isEmpty { out += "." }
                out += isPlainKey(k) ? k : "<key \(position)>"
            case .index(let i):
                out += "[\(i)]"
            }
        }
        return out
    }

    /// 1-64 ASCII letters, digits, `_` and `-`, starting with a letter or `_`, and too few digits to be a number.
    static func isPlainKey(_ k: String) -> Bool {
        let u = Array(k.utf8)
        func letter(_ c: UInt8) -> Bool { (65...90).contains(c) || (97...122).contains(c) || c == 95 }
        func digit(_ c: UInt8) -> Bool { (48...57).contains(c) }
        guard (1...64).contains(u.count), letter(u[0]) else { return false }
        return u.allSatisfy { letter($0) || digit($0) || $0 == 45 } && u.filter(digit).count < 7
    }

    /// `[A-Za-z0-9._:@-]`, the character set of `call_id` and `agent.id`.
    public static func isSafeIdentifier(_ s: String) -> Bool {
        !s.isEmpty && s.utf8.allSatisfy { c in
            (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c == 46 || c == 95 || c == 58 || c == 64 || c == 45
        }
    }

    /// `[a-z0-9][a-z0-9-]{0,62}`, the form of a tenant name (also a folder name in the store).
    public static func isSafeTenant(_ s: String) -> Bool {
        let u = Array(s.utf8)
        guard (1...63).contains(u.count) else { return false }
        func ok(_ c: UInt8) -> Bool { (c >= 97 && c <= 122) || (c >= 48 && c <= 57) }
        return ok(u[0]) && u.dropFirst().allSatisfy { ok($0) || $0 == 45 }
    }

    static func isPhoneNumber(_ s: String) -> Bool {
        if s == "withheld" { return true }
        let u = Array(s.utf8)
        guard u.first == 43, (8...16).contains(u.count) else { return false }
        return u.dropFirst().allSatisfy { $0 >= 48 && $0 <= 57 }
    }
}
