// Output formatting shared by the reading commands: JSON objects, CSV, terminal tables, human durations.
import CallVault
import CallVaultCore
import CallVaultStore
import Foundation

/// "3 d 4 h", "5 m 44 s", "12 s": the two largest units, for people.
func humanDuration(_ seconds: Double) -> String {
    let s = Int(seconds.rounded())
    let parts = [("d", s / 86_400), ("h", s / 3600 % 24), ("m", s / 60 % 60), ("s", s % 60)]
    // The largest non-zero unit, and the next one when it is not zero.
    guard let first = parts.firstIndex(where: { $0.1 > 0 }) else { return "0 s" }
    var text = "\(parts[first].1) \(parts[first].0)"
    if first + 1 < parts.count, parts[first + 1].1 > 0 { text += " \(parts[first + 1].1) \(parts[first + 1].0)" }
    return text
}

/// The `list` object of SPEC §11.
func listJSON(_ r: ListedRecording) -> [String: Any] {
    ["recording_id": r.row.id, "call_id": r.row.callID, "tenant": r.row.tenant, "started_at": r.row.startedAt,
     "duration_s": r.row.durationS, "direction": r.row.direction, "agent_id": r.row.agentID, "team": orNull(r.row.team),
     "queue": orNull(r.row.queue), "audio_expires_at": r.row.audioExpiresAt, "metadata_expires_at": r.row.metadataExpiresAt,
     "on_hold": r.onHold, "announcement_verified": r.row.announcementVerified]
}

let listColumns = ["recording_id", "call_id", "tenant", "started_at", "duration_s", "direction", "agent_id", "team", "queue",
                   "audio_expires_at", "metadata_expires_at", "on_hold", "announcement_verified"]

/// RFC 4180: quote when needed, double the quotes.
func csvField(_ v: Any) -> String {
    let s: String
    switch v {
    case is NSNull: s = ""
    case let b as Bool: s = b ? "true" : "false"
    case let d as Double: s = String(d)
    default: s = "\(v)"
    }
    return s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
}

/// Columns padded to their widest cell; the last column is not padded.
func table(_ header: [String], _ rows: [[String]]) -> String {
    var widths = header.map(\.count)
    for r in rows { for (i, c) in r.enumerated() { widths[i] = max(widths[i], c.count) } }
    func line(_ cells: [String]) -> String {
        cells.enumerated().map { i, c in i == cells.count - 1 ? c : c.padding(toLength: widths[i], withPad: " ", startingAt: 0) }
            .joined(separator: "  ")
    }
    return ([line(header)] + rows.map(line)).joined(separator: "\n")
}

/// `2026-11-20 10:14` on the tenant's wall clock.
func localTime(_ utc: String, _ zone: TimeZone) -> String {
    guard let d = Timestamp.parse(utc) else { return utc }
    let local = d.addingTimeInterval(Double(zone.secondsFromGMT(for: d)))
    let text = Timestamp.utc(local)
    return String(text.prefix(10)) + " " + String(text.dropFirst(11).prefix(5))
}

/// Reads a duration option: ISO 8601 (`PT5M`, `P7D`) or plain seconds.
func parseSeconds(_ text: String, option: String) throws -> Double {
    if let s = Double(text), s >= 0 { return s }
    if let d = ISODuration(text) { return d.approximateSeconds }
    throw VaultError(.usage, "\(option) \(text): give seconds or an ISO 8601 duration (PT5M)")
}
