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

/// The `list` object of SPEC §11. `on_hold` is null where the acting user is not told (coaches).
func listJSON(_ r: ListedRecording) -> [String: Any] {
    ["recording_id": r.row.id, "call_id": r.row.callID, "tenant": r.row.tenant, "started_at": r.row.startedAt,
     "duration_s": durationNumber(r.row.durationS), "direction": r.row.direction, "agent_id": r.row.agentID, "team": orNull(r.row.team),
     "queue": orNull(r.row.queue), "audio_expires_at": r.row.audioExpiresAt, "metadata_expires_at": r.row.metadataExpiresAt,
     "on_hold": orNull(r.onHold), "announcement_verified": r.row.announcementVerified]
}

let listColumns = ["recording_id", "call_id", "tenant", "started_at", "duration_s", "direction", "agent_id", "team", "queue",
                   "audio_expires_at", "metadata_expires_at", "on_hold", "announcement_verified"]

/// A duration in seconds as both JSON and CSV print it: to the millisecond, whole seconds without a
/// fraction (`3`, `3.5`), so a script reading either sees the same text.
func durationNumber(_ seconds: Double) -> Any {
    let ms = (seconds * 1000).rounded()
    return ms.truncatingRemainder(dividingBy: 1000) == 0 && abs(ms) < 9e15 ? Int(ms / 1000) as Any : ms / 1000 as Any
}

/// True for an E.164 number (`+` and 7-15 digits): left as is in CSV so it stays readable.
func isE164(_ s: String) -> Bool {
    let b = Array(s.utf8)
    return b.first == UInt8(ascii: "+") && (8...16).contains(b.count) && b.dropFirst().allSatisfy { $0 >= 48 && $0 <= 57 }
}

/// A text cell a spreadsheet would read as a formula (`=`, `+`, `-`, `@`, TAB, CR first) gets a leading `'`
/// (OWASP's advice), except an E.164 number.
func neutralisedCSVText(_ s: String) -> String {
    guard let first = s.unicodeScalars.first, "=+-@\t\r".unicodeScalars.contains(first), !isE164(s) else { return s }
    return "'" + s
}

/// RFC 4180: quote when needed, double the quotes. Text cells are neutralised against formula injection;
/// numbers and booleans are written as numbers.
func csvField(_ v: Any) -> String {
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

/// Whether a scalar must not reach a terminal as is: C0 and C1 controls, DEL (ESC sequences start with ESC,
/// BEL ends some), and the bidi controls that make text display other than it reads (U+202A-202E,
/// U+2066-2069, U+200E/F, U+061C).
func isUnsafeForTerminal(_ u: Unicode.Scalar) -> Bool {
    switch u.value {
    case 0x00...0x1F, 0x7F...0x9F, 0x202A...0x202E, 0x2066...0x2069, 0x200E, 0x200F, 0x061C: return true
    default: return false
    }
}

/// `text` with every unsafe scalar written visibly: `\x1b` for controls, `\u202e` for bidi controls.
/// Catalogs written by older versions may hold such text; no human output prints it raw.
func escapedForTerminal(_ text: String, keepNewlines: Bool = false) -> String {
    guard text.unicodeScalars.contains(where: isUnsafeForTerminal) else { return text }
    var out = String.UnicodeScalarView()
    for u in text.unicodeScalars {
        if !isUnsafeForTerminal(u) || (keepNewlines && u == "\n") {
            out.append(u)
        } else {
            let hex = String(u.value, radix: 16)
            let escape = u.value <= 0xFF ? "\\x" + String(repeating: "0", count: 2 - hex.count) + hex
                : "\\u" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
            out.append(contentsOf: escape.unicodeScalars)
        }
    }
    return String(out)
}

/// Columns padded to their widest cell; the last column is not padded. Cells are escaped for the terminal
/// (a newline in a cell would forge a row).
func table(_ header: [String], _ rows: [[String]]) -> String {
    let rows = rows.map { $0.map { escapedForTerminal($0) } }
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
