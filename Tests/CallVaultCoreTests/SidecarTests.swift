// The sidecar schema: every rule, and the order in which reason codes are decided.
import CallVaultCore
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
