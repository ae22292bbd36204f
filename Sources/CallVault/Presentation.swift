// How recordings are presented to people and scripts, shared by the CLI and the web app: the list object of
// SPEC §11, its CSV (neutralised against formula injection), human durations and wall-clock times.
import CallVaultCore
import Foundation

/// "3 d 4 h", "5 m 44 s", "12 s": the two largest units, for people.
public func humanDuration(_ seconds: Double) -> String {
    let s = Int(seconds.rounded())
    let parts = [("d", s / 86_400), ("h", s / 3600 % 24), ("m", s / 60 % 60), ("s", s % 60)]
    // The largest non-zero unit, and the next one when it is not zero.
    guard let first = parts.firstIndex(where: { $0.1 > 0 }) else { return "0 s" }
    var text = "\(parts[first].1) \(parts[first].0)"
    if first + 1 < parts.count, parts[first + 1].1 > 0 { text += " \(parts[first + 1].1) \(parts[first + 1].0)" }
    return text
}

/// The `list` object of SPEC §11. `on_hold` is null where the acting user is not told (coaches).
public func listJSON(_ r: RecordingView) -> [String: Any] {
    ["recording_id": r.id, "call_id": r.callID, "tenant": r.tenant, "started_at": r.startedAt,
     "duration_s": durationNumber(r.durationS), "direction": r.direction, "agent_id": r.agentID, "team": orNull(r.team),
     "queue": orNull(r.queue), "audio_expires_at": r.audioExpiresAt, "metadata_expires_at": r.metadataExpiresAt,
     "on_hold": orNull(r.onHold), "announcement_verified": r.announcementVerified.rawValue]
}

public let listColumns = ["recording_id", "call_id", "tenant", "started_at", "duration_s", "direction", "agent_id", "team", "queue",
                   "audio_expires_at", "metadata_expires_at", "on_hold", "announcement_verified"]

/// A duration in seconds as both JSON and CSV print it: to the millisecond, whole seconds without a
/// fraction (`3`, `3.5`), so a script reading either sees the same text.
public func durationNumber(_ seconds: Double) -> Any {
    let ms = (seconds * 1000).rounded()
    return ms.truncatingRemainder(dividingBy: 1000) == 0 && abs(ms) < 9e15 ? Int(ms / 1000) as Any : ms / 1000 as Any
}

/// True for an E.164 number (`+` and 7-15 digits): left as is in CSV so it stays readable.
public func isE164(_ s: String) -> Bool {
    let b = Array(s.utf8)
    return b.first == UInt8(ascii: "+") && (8...16).contains(b.count) && b.dropFirst().allSatisfy { $0 >= 48 && $0 <= 57 }
}

/// A text cell a spreadsheet would read as a formula (`=`, `+`, `-`, `@`, TAB, CR first) gets a leading `'`
/// (OWASP's advice), except an E.164 number.
public func neutralisedCSVText(_ s: String) -> String {
    guard let first = s.unicodeScalars.first, "=+-@\t\r".unicodeScalars.contains(first), !isE164(s) else { return s }
    return "'" + s
}

/// RFC 4180: quote when needed, double the quotes. Text cells are neutralised against formula injection;
/// numbers and booleans are written as numbers.
public func csvField(_ v: Any) -> String {
    let s: String
    switch v {
    case is NSNull: s = ""
    case let b as Bool: s = b ? "true" : "false"
    case let i as Int: s = String(i)
    case let d as Double: s = d == d.rounded() && abs(d) < 9e15 ? String(Int(d)) : String(d)
    case let t as String: s = neutralisedCSVText(t)
    default: s = neutralisedCSVText("\(v)")
    }
    return s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
}

/// `2026-11-20 10:14` on the tenant's wall clock.
public func localTime(_ utc: String, _ zone: TimeZone) -> String {
    guard let d = Timestamp.parse(utc) else { return utc }
    let local = d.addingTimeInterval(Double(zone.secondsFromGMT(for: d)))
    let text = Timestamp.utc(local)
    return String(text.prefix(10)) + " " + String(text.dropFirst(11).prefix(5))
}


/// JSON null for a missing value.
public func orNull(_ v: Any?) -> Any { v ?? NSNull() }

/// Whole CSV text of list objects: the header row, then one row per recording.
public func listCSV(_ page: [RecordingView]) -> String {
    listCSVHeader + listCSVRows(page)
}

/// The CSV's header line, for a body written page by page.
public let listCSVHeader = listColumns.joined(separator: ",") + "\n"

/// One page of the CSV's rows, without the header. With `zone`, the times are on each call's tenant's wall
/// clock with its offset (`2026-11-20T10:14:03+01:00`): the web's CSV is read by people, in a spreadsheet, and
/// stays unambiguous; the command line's keeps UTC, like its JSON.
public func listCSVRows(_ page: [RecordingView], zone: ((RecordingView) -> TimeZone)? = nil) -> String {
    var out = ""
    for r in page {
        var o = listJSON(r)
        if let zone {
            let z = zone(r)
            for column in ["started_at", "audio_expires_at", "metadata_expires_at"] {
                if let t = o[column] as? String { o[column] = offsetTime(t, z) }
            }
        }
        out += listColumns.map { csvField(o[$0] ?? NSNull()) }.joined(separator: ",") + "\n"
    }
    return out
}

/// An RFC 3339 instant on `zone`'s wall clock, with its offset: `2026-11-20T10:14:03+01:00`.
public func offsetTime(_ utc: String, _ zone: TimeZone) -> String {
    guard let d = Timestamp.parse(utc) else { return utc }
    let offset = zone.secondsFromGMT(for: d)
    let local = Timestamp.utc(d.addingTimeInterval(Double(offset)))
    let sign = offset < 0 ? "-" : "+", minutes = abs(offset) / 60
    return String(local.prefix(19)) + sign + String(format: "%02d:%02d", minutes / 60, minutes % 60)
}

/// The `show` object of SPEC §11 (`show --json`, `GET /calls/{id}` as JSON): the list object with the stored
/// file's facts and the active holds (none for coaches: their views carry none).
public func showJSON(_ r: RecordingView, holds: [HoldView]) -> [String: Any] {
    var o = listJSON(r)
    // Where the evidence lies and its hash: officers only (the view leaves both out for coaches).
    if let path = r.audioPath { o["audio_path"] = path }
    if let sha = r.sha256 { o["sha256"] = sha }
    o["format"] = r.format
    o["sample_rate"] = r.sampleRate
    o["channels"] = r.channels
    o["audio_deleted_at"] = orNull(r.audioDeletedAt)
    o["holds"] = holds.map { holdJSON($0, recordings: 0).filter { $0.key != "recordings" } }
    if let d = r.announcementReview { o["announcement_review"] = ["decided_by": d.by, "decided_at": d.at, "note": orNull(d.note)] }
    o["hold_music"] = r.holdMusic.map { h -> Any in
        var x: [String: Any] = ["policy": h.policy, "seconds_on_hold": h.seconds, "redacted": h.redacted,
                                "segments": h.segments.map { ["start_s": $0.startS, "end_s": $0.endS, "track": $0.track] }]
        if let received = h.receivedSHA256 { x["received_sha256"] = received }
        return x
    } ?? NSNull()
    return o
}

/// The erasures a hold's release would carry out (`hold show --json`, `GET /holds/ID` as JSON).
public func erasuresWaitingJSON(_ waiting: [(request: String, calls: Int)]) -> [[String: Any]] {
    waiting.map { ["request_id": $0.request, "calls": $0.calls] }
}

/// The events dated before their predecessor, as `audit verify --json` and `GET /audit?verify=1` give them.
public func timeRegressionsJSON(_ v: AuditVerification) -> [String: Any] {
    ["time_regressions": v.timeRegressions.map { ["seq": $0.seq, "at": $0.at, "previous_at": $0.previousAt] },
     "time_regressions_total": v.timeRegressionsTotal]
}

/// The hold object of SPEC §11 (`hold list --json`, `GET /holds`).
public func holdJSON(_ h: HoldView, recordings: Int) -> [String: Any] {
    ["hold_id": h.id, "kind": h.kind.rawValue, "case_ref": h.caseRef, "note": orNull(h.note), "placed_by": h.placedBy,
     "placed_at": h.placedAt, "review_at": orNull(h.reviewAt), "released_at": orNull(h.releasedAt),
     "released_by": orNull(h.releasedBy), "release_note": orNull(h.releaseNote), "recordings": recordings]
}

/// A call awaiting announcement review (`announcement review list --json`, `GET /review` as JSON).
public func reviewItemJSON(_ i: ReviewItem) -> [String: Any] {
    ["recording_id": i.id, "tenant": i.tenant, "queue": orNull(i.queue), "started_at": i.startedAt, "duration_s": i.durationS,
     "prompt": orNull(i.prompt), "offset_ms": orNull(i.offsetMs), "score": orNull(i.score), "matched_share": orNull(i.matchedShare),
     "reason": i.reason]
}

/// Stored calls by verdict, in the words of SPEC §17 (a queue's counts are of checked calls only).
func verdictsJSON(_ v: AnnouncementVerdictCounts, checkedOnly: Bool = false) -> [String: Int] {
    var out = ["heard": v.heard, "not_heard": v.notHeard, "review": v.review]
    if !checkedOnly { out["not_checked"] = v.notChecked }
    return out
}

/// Calls checked for hold music, found on hold, and seconds on hold (SPEC §17).
func onHoldJSON(_ h: OnHoldFigures) -> [String: Any] {
    ["checked": h.checked, "calls_on_hold": h.calls, "seconds_on_hold": h.seconds]
}

/// The report object of SPEC §11 (`report --json`, `GET /report` as JSON), with the holds due for review and the
/// requests' deadlines.
public func reportJSON(_ report: ComplianceReport) -> [String: Any] {
    ["from": Timestamp.utc(report.from), "to": Timestamp.utc(report.to),
     "holds_due_for_review": report.holdsDueForReview.map { ["hold_id": $0.holdID, "case_ref": $0.caseRef, "review_at": $0.reviewAt] },
     "requests": ["open": report.requests.open, "due_within_7_days": report.requests.dueSoon, "overdue": report.requests.overdue],
     "tenants": report.tenants.map { t -> [String: Any] in
         ["tenant": t.tenant, "stored": t.stored, "rejected": t.rejected, "announcement_compliance": orNull(t.announcementCompliance),
          "announcement_verified_rate": orNull(t.announcementVerified), "audio_deleted": t.audioDeleted,
          "metadata_deleted": t.metadataDeleted, "overdue": t.overdue, "active_holds": t.activeHolds,
          "announcement_verdicts": verdictsJSON(t.verdicts),
          "queues": t.queues.map { ["queue": $0.queue, "checked": $0.checked, "announcement_verified_rate": $0.verifiedRate,
                                    "announcement_verdicts": verdictsJSON($0.verdicts, checkedOnly: true)] },
          "hold_music": t.onHold.map { h -> Any in
              var o = onHoldJSON(h)
              o["queues"] = t.onHoldByQueue.map { q -> [String: Any] in var x = onHoldJSON(q.figures); x["queue"] = q.queue; return x }
              return o
          } ?? NSNull()]
     }]
}
