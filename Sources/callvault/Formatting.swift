// Output formatting shared by the reading commands: JSON objects, CSV, terminal tables, human durations.
import CallVault
import CallVaultCore
import Foundation

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

