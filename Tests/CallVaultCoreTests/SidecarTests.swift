// The sidecar schema: every rule, and the order in which reason codes are decided.
import CallVaultCore
import CallVaultTesting
import Foundation
import Testing

let now = at("2026-11-21T12:00:00Z")

func sidecar(_ edit: (inout [String: Any]) -> Void = { _ in }) -> Data {
    var o: [String: Any] = [
        "schema": "callvault.call/1", "call_id": "pbx1-1732180443.4711", "tenant": "acme-energy",
        "started_at": "2026-11-21T10:14:03+01:00", "ended_at": "2026-11-21T10:19:47+01:00",
        "direction": "inbound", "agent": ["id": "a-1042", "team": "billing-nl"],
        "caller": "+32470123456", "callee": "+3216220705", "queue": "billing", "site": "machelen",
        "announcement": ["played": true, "prompt": "rec-notice-nl-v3", "at_ms": 0],
        "labels": ["campaign": "winter-2026"],
    ]
    edit(&o)
    return try! JSONSerialization.data(withJSONObject: o)
}

func verdict(_ data: Data, defaultTenant: String? = nil) -> String {
    switch Sidecar.validate(data, defaultTenant: defaultTenant, isKnownTenant: { ["acme-energy", "telco-be"].contains($0) }, now: now) {
    case .success: return "ok"
    case .failure(let r): return r.reason.rawValue
    }
}

@Suite struct SidecarTests {
    @Test func theSpecExampleIsValid() throws {
        let s = try Sidecar.validate(sidecar { $0["pbx_node"] = "ast-02" }, defaultTenant: nil, isKnownTenant: { _ in true }, now: now).get()
        #expect(s.callID == "pbx1-1732180443.4711")
        #expect(s.statedDuration == 344)
        #expect(s.extra == ["pbx_node": .string("ast-02")])
        #expect(s.labels == ["campaign": "winter-2026"])
    }

    @Test(arguments: [
        ("schema", #""callvault.call/2""#, "sidecar_invalid"),
        ("call_id", "42", "sidecar_invalid"),
        ("call_id", "\"" + String(repeating: "a", count: 129) + "\"", "sidecar_invalid"),
        ("started_at", #""2026-11-21T10:14:03""#, "sidecar_invalid"),
        ("direction", #""sideways""#, "sidecar_invalid"),
        ("caller", #""0470123456""#, "sidecar_invalid"),
        ("agent", #"{"team": "x"}"#, "sidecar_invalid"),
        ("announcement", #"{"played": "yes"}"#, "sidecar_invalid"),
        ("labels", #"{"k": 1}"#, "sidecar_invalid"),
        ("call_id", #""../../etc/passwd""#, "unsafe_name"),
        ("call_id", #""a b""#, "unsafe_name"),
        ("tenant", #""ACME""#, "unsafe_name"),
        ("agent", #"{"id": "a/1"}"#, "unsafe_name"),
        ("tenant", #""globex""#, "tenant_unknown"),
        ("started_at", #""2026-11-21T12:06:00Z""#, "timestamp_invalid"),
        ("ended_at", #""2026-11-21T10:00:00+01:00""#, "timestamp_invalid"),
        ("announcement", #"{"played": false}"#, "announcement_missing"),
        ("announcement", "{}", "announcement_missing"),
    ])
    func eachRuleHasItsReason(field: String, json: String, reason: String) throws {
        let value = try JSONSerialization.jsonObject(with: Data(json.utf8), options: .fragmentsAllowed)
        #expect(verdict(sidecar { $0[field] = value }) == reason)
    }

    @Test func requiredFieldsAbsentAreInvalid() {
        for field in ["schema", "call_id", "started_at", "direction", "agent"] {
            #expect(verdict(sidecar { $0.removeValue(forKey: field) }) == "sidecar_invalid", "\(field)")
        }
        #expect(verdict(sidecar { $0.removeValue(forKey: "announcement") }) == "announcement_missing")
    }

    @Test func tenantComesFromTheSubFolderWhenAbsent() {
        #expect(verdict(sidecar { $0.removeValue(forKey: "tenant") }) == "sidecar_invalid")
        #expect(verdict(sidecar { $0.removeValue(forKey: "tenant") }, defaultTenant: "telco-be") == "ok")
    }

    @Test func checksRunInTheOrderOfTheSpec() {
        // An unsafe call_id and a wrong type elsewhere: sidecar_invalid comes first.
        #expect(verdict(sidecar { $0["call_id"] = "../x"; $0["direction"] = 1 }) == "sidecar_invalid")
        // Unsafe name before unknown tenant, unknown tenant before a future timestamp, before the flag.
        #expect(verdict(sidecar { $0["call_id"] = "../x"; $0["tenant"] = "globex" }) == "unsafe_name")
        #expect(verdict(sidecar { $0["tenant"] = "globex"; $0["started_at"] = "2030-01-01T00:00:00Z" }) == "tenant_unknown")
        #expect(verdict(sidecar { $0["started_at"] = "2030-01-01T00:00:00Z"; $0["announcement"] = ["played": false] }) == "timestamp_invalid")
    }

    @Test func notJSONOrNotUTF8OrTooLarge() {
        #expect(verdict(Data("{not json".utf8)) == "sidecar_invalid")
        #expect(verdict(Data([0xFF, 0xFE, 0x7B, 0x7D])) == "sidecar_invalid")
        #expect(verdict(Data("[]".utf8)) == "sidecar_invalid")
        #expect(verdict(sidecar { $0["notes"] = String(repeating: "x", count: 70_000) }) == "too_large")
    }

    @Test func labelLimits() {
        #expect(verdict(sidecar { $0["labels"] = Dictionary(uniqueKeysWithValues: (0..<33).map { ("k\($0)", "v") }) }) == "sidecar_invalid")
        #expect(verdict(sidecar { $0["labels"] = [String(repeating: "k", count: 65): "v"] }) == "sidecar_invalid")
        #expect(verdict(sidecar { $0["labels"] = ["k": String(repeating: "v", count: 257)] }) == "sidecar_invalid")
        #expect(verdict(sidecar { $0["labels"] = Dictionary(uniqueKeysWithValues: (0..<32).map { ("k\($0)", "v") }) }) == "ok")
    }

    @Test func detailsNeverEchoValues() {
        let data = sidecar { $0["caller"] = "+3247012345678901234" }
        guard case .failure(let r) = Sidecar.validate(data, defaultTenant: nil, isKnownTenant: { _ in true }, now: now) else {
            Issue.record("expected a rejection"); return
        }
        #expect(!r.detail.contains("3247012345"))
        #expect(r.detail.hasPrefix("caller:"))
    }
}

/// The reason and detail for raw sidecar text (for inputs JSONSerialization cannot write: duplicate keys, escapes).
func rejection(_ text: String, defaultTenant: String? = nil) -> (reason: String, detail: String) {
    switch Sidecar.validate(Data(text.utf8), defaultTenant: defaultTenant,
                            isKnownTenant: { ["acme-energy", "telco-be"].contains($0) }, now: now) {
    case .success: return ("ok", "")
    case .failure(let r): return (r.reason.rawValue, r.detail)
    }
}

/// A valid sidecar as text with `insert` spliced in before its closing brace (JSON text, so keys may repeat).
func sidecarText(_ insert: String = "", announcement: String = #"{"played": true}"#, labels: String = #"{"campaign": "winter-2026"}"#) -> String {
    """
    {"schema": "callvault.call/1", "call_id": "c-1", "tenant": "acme-energy",
     "started_at": "2026-11-21T10:14:03+01:00", "direction": "inbound", "agent": {"id": "a-1", "team": "billing-nl"},
     "announcement": \(announcement), "labels": \(labels)\(insert)}
    """
}

@Suite struct HostileSidecarTests {
    @Test func theTextHelperIsValid() {
        #expect(rejection(sidecarText()).reason == "ok")
    }

    // Foundation keeps the first of two keys, jq and Python the last: the flag must not depend on the reader.
    @Test func aTopLevelDuplicateKeyIsInvalidAndNamed() {
        let r = rejection(sidecarText(#", "announcement": {"played": false}"#))
        #expect(r.reason == "sidecar_invalid")
        #expect(r.detail.hasPrefix("announcement:"), "\(r.detail)")
        #expect(r.detail.contains("duplicate"))
        // The other order (false first, true last) is just as invalid.
        let flipped = rejection(sidecarText(#", "announcement": {"played": true}"#, announcement: #"{"played": false}"#))
        #expect(flipped.reason == "sidecar_invalid")
    }

    @Test func aNestedDuplicateKeyIsInvalidAndNamedByItsPath() {
        let r = rejection(sidecarText(labels: #"{"campaign": "a", "campaign": "b"}"#))
        #expect(r.reason == "sidecar_invalid")
        #expect(r.detail.hasPrefix("labels.campaign:"), "\(r.detail)")
        let played = rejection(sidecarText(announcement: #"{"played": true, "played": false}"#))
        #expect(played.reason == "sidecar_invalid")
        #expect(played.detail.hasPrefix("announcement.played:"), "\(played.detail)")
        let deep = rejection(sidecarText(#", "pbx": {"legs": [{"id": 1}, {"id": 2, "id": 3}]}"#))
        #expect(deep.reason == "sidecar_invalid")
        #expect(deep.detail.hasPrefix("extra.pbx.legs[1].id:"), "\(deep.detail)")
    }

    @Test func keysThatDifferOnlyByEscapesAreTheSameKey() {
        // "\u0061nnouncement" is "announcement" once decoded.
        let r = rejection(sidecarText(#", "\u0061nnouncement": {"played": false}"#))
        #expect(r.reason == "sidecar_invalid")
        #expect(r.detail.hasPrefix("announcement:"), "\(r.detail)")
        #expect(rejection(sidecarText(labels: #"{"a": "x", "\u0061": "y"}"#)).detail.hasPrefix("labels.a:"))
        #expect(rejection(sidecarText(labels: #"{"a/b": "x", "a\/b": "y"}"#)).reason == "sidecar_invalid")
        // Composed and decomposed é: one key to a Swift dictionary, so two of them would silently become one.
        let nfc = rejection(sidecarText(labels: #"{"caf\u00e9": "x", "cafe\u0301": "y"}"#))
        #expect(nfc.reason == "sidecar_invalid")
        #expect(nfc.detail.hasPrefix("labels.<key 2>:"), "\(nfc.detail)")
    }

    @Test func distinctKeysInDistinctObjectsAreFine() {
        // The same key in two different objects is not a duplicate.
        #expect(rejection(sidecarText(#", "x": {"id": 1}, "y": {"id": 1}"#)).reason == "ok")
    }

    @Test func strictGrammar() {
        #expect(rejection(sidecarText() + " x").reason == "sidecar_invalid")
        #expect(rejection(sidecarText(#", "n": 01"#)).reason == "sidecar_invalid")
        #expect(rejection(sidecarText(#", "n": 1e999"#)).reason == "sidecar_invalid")
        #expect(rejection(sidecarText(#", "s": "\ud800""#)).reason == "sidecar_invalid", "a lone surrogate")
        #expect(rejection(sidecarText(#", "t": tru"#)).reason == "sidecar_invalid")
        #expect(rejection(sidecarText(#", "a": [1,]"#)).reason == "sidecar_invalid")
        #expect(rejection(sidecarText(#", "n": -0.5e+3, "s": "\ud83d\ude00 \u00e9", "e": [], "o": {}"#)).reason == "ok")
        // Deep nesting is refused, not recursed into without bound.
        let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        #expect(rejection(sidecarText(", \"deep\": " + deep)).reason == "sidecar_invalid")
    }

    /// Every class of forbidden character, in every text field the catalog keeps or shows.
    static let forbidden: [String] = [
        #"\u0000"#, #"\u001b[31m"#, #"\u0007"#, #"\t"#, #"\r"#, #"\n"#, #"\u007f"#, #"\u0085"#, #"\u009b"#,
        #"\u202e"#, #"\u202a"#, #"\u2066"#, #"\u2069"#, #"\u200e"#, #"\u200f"#, #"\u061c"#,
    ]

    @Test(arguments: forbidden)
    func controlAndBidiCharactersAreRejectedInEveryTextField(char: String) {
        let cases: [(String, String)] = [
            (sidecarText().replacingOccurrences(of: #""team": "billing-nl""#, with: #""team": "billing\#(char)nl""#), "agent.team"),
            (sidecarText(labels: #"{"campaign": "winter\#(char)"}"#), "labels.campaign"),
            (sidecarText(#", "queue": "q\#(char)""#), "queue"),
            (sidecarText(#", "site": "\#(char)s""#), "site"),
            (sidecarText(announcement: #"{"played": true, "prompt": "p\#(char)"}"#), "announcement.prompt"),
            (sidecarText(#", "pbx_node": "ast\#(char)02""#), "extra.pbx_node"),
            (sidecarText(#", "pbx": {"legs": ["a", "b\#(char)"]}"#), "extra.pbx.legs[1]"),
            (sidecarText().replacingOccurrences(of: #""call_id": "c-1""#, with: #""call_id": "c-1\#(char)""#), "call_id"),
            (sidecarText().replacingOccurrences(of: #""tenant": "acme-energy""#, with: #""tenant": "acme-energy\#(char)""#), "tenant"),
            (sidecarText().replacingOccurrences(of: #""id": "a-1""#, with: #""id": "a-1\#(char)""#), "agent.id"),
            (sidecarText(#", "caller": "+32470123456\#(char)""#), "caller"),
        ]
        for (text, field) in cases {
            let r = rejection(text)
            #expect(r.reason == "sidecar_invalid", "\(field) with \(char)")
            #expect(r.detail.hasPrefix(field + ":"), "\(field) with \(char): \(r.detail)")
            #expect(!r.detail.contains("32470123456"), "no phone number in the detail")
        }
    }

    @Test func aControlCharacterInALabelKeyIsRejectedWithoutEchoingTheKey() {
        let r = rejection(sidecarText(labels: #"{"ok": "x", "\u001b]0;pwned\u0007": "y"}"#))
        #expect(r.reason == "sidecar_invalid")
        #expect(r.detail.hasPrefix("labels."), "\(r.detail)")
        #expect(!r.detail.contains("pwned") && !r.detail.contains("\u{1b}"), "\(r.detail)")
    }

    @Test func ordinaryUnicodeTextIsFine() {
        #expect(rejection(sidecarText(#", "site": "Liège – Œuvre 東京 \ud83d\udcde""#)).reason == "ok")
        // A zero-width joiner or no-break space is not a control character.
        #expect(rejection(sidecarText(#", "queue": "a\u200db\u00a0c""#)).reason == "ok")
    }

    @Test func aSidecarInATenantFolderMustNameThatTenantOrNone() {
        let other = rejection(sidecarText(), defaultTenant: "telco-be")
        #expect(other.reason == "sidecar_invalid", "a recorder of telco-be cannot write into acme-energy")
        #expect(other.detail.hasPrefix("tenant:"), "\(other.detail)")
        #expect(rejection(sidecarText(), defaultTenant: "acme-energy").reason == "ok")
        let absent = sidecarText().replacingOccurrences(of: #""tenant": "acme-energy","#, with: "")
        #expect(rejection(absent, defaultTenant: "telco-be").reason == "ok")
        let null = sidecarText().replacingOccurrences(of: #""tenant": "acme-energy""#, with: #""tenant": null"#)
        #expect(rejection(null, defaultTenant: "telco-be").reason == "ok")
        // Outside a tenant folder the sidecar names its tenant freely.
        #expect(rejection(sidecarText(), defaultTenant: nil).reason == "ok")
        // Even an unknown or malformed tenant inside another tenant's folder is the folder mismatch.
        #expect(rejection(sidecarText().replacingOccurrences(of: "\"acme-energy\"", with: "\"globex\""), defaultTenant: "acme-energy").reason == "sidecar_invalid")
    }
}
