// Phone numbers as a DPO types them (E.164, or the national form of the tenant's country) read as E.164.
import Foundation

/// Reads a subject's number the way people write it: `+32 470 12 34 56`, `+32 (0)470 12 34 56`,
/// `0032 470…`, and with a tenant `country`, the national form `0470/12.34.56`. The catalog stores numbers in
/// E.164 (the sidecar schema), so this is what a subject is matched on. Never put the input in an error.
public enum PhoneNumber {
    /// A country whose national form is understood: its calling code, whether a national number starts with
    /// the trunk prefix 0, and the lengths of its national significant number (ITU-T national plans).
    public struct Plan: Sendable {
        public var callingCode: String
        public var trunkZero: Bool
        public var lengths: ClosedRange<Int>
    }

    /// The countries of `country = "…"` in a tenant's configuration.
    public static let plans: [String: Plan] = [
        "BE": Plan(callingCode: "32", trunkZero: true, lengths: 8...9),
        "NL": Plan(callingCode: "31", trunkZero: true, lengths: 7...11),
        "FR": Plan(callingCode: "33", trunkZero: true, lengths: 9...9),
        "DE": Plan(callingCode: "49", trunkZero: true, lengths: 6...13),
        // Luxembourg has no trunk prefix: a national number is dialled as it is (621 123 456).
        "LU": Plan(callingCode: "352", trunkZero: false, lengths: 4...11),
    ]

    /// True when `text` holds as many digits as a phone number (7 or more, whatever separates them): such a value
    /// typed as a filter is not written to the audit log, even when it has the form of an id.
    public static func mayContainOne(_ text: String) -> Bool {
        text.unicodeScalars.filter { ("0"..."9").contains($0) }.count >= 7
    }

    /// The number in E.164 (`+` and 7–15 digits), or nil when `text` is not a phone number in E.164,
    /// international (`00…`) or — with `country` — national form.
    public static func normalised(_ text: String, country: String?) -> String? {
        var s = text.trimmingCharacters(in: .whitespaces)
        // "+32 (0)470…": the bracketed trunk zero that is not dialled from abroad.
        s = s.replacingOccurrences(of: "(0)", with: "")
        var international = false
        if s.hasPrefix("+") {
            international = true
            s.removeFirst()
        }
        var digits = ""
        for u in s.unicodeScalars {
            switch u {
            case "0"..."9": digits.unicodeScalars.append(u)
            case " ", "\u{00A0}", ".", "-", "/", "(", ")": continue
            default: return nil
            }
        }
        if !international, digits.hasPrefix("00") {
            international = true
            digits.removeFirst(2)
        }
        if international {
            // A known country: its own length rule, and a trunk zero written after the code is dropped.
            if let plan = plans.values.first(where: { digits.hasPrefix($0.callingCode) }) {
                var national = String(digits.dropFirst(plan.callingCode.count))
                if national.hasPrefix("0") { national.removeFirst() }
                guard isPossible(national: national, plan) else { return nil }
                return "+" + plan.callingCode + national
            }
            guard (7...15).contains(digits.count), !digits.hasPrefix("0") else { return nil }
            return "+" + digits
        }
        guard let country, let plan = plans[country] else { return nil }
        var national = digits
        if plan.trunkZero {
            guard national.hasPrefix("0") else { return nil }
            national.removeFirst()
        }
        guard isPossible(national: national, plan) else { return nil }
        return "+" + plan.callingCode + national
    }

    /// Whether a national significant number can be one of the plan's country. For Belgium and the Netherlands
    /// the lengths by leading digits of libphonenumber's metadata (resources/PhoneNumberMetadata.xml): a mobile
    /// number is the only Belgian number of 9 digits, a Dutch number has 9 digits but for the 800/90x services
    /// (7 to 10) and 970 mobiles (11). Elsewhere the plan's lengths.
    static func isPossible(national n: String, _ plan: Plan) -> Bool {
        guard plan.lengths.contains(n.count), let first = n.first, first != "0" else { return false }
        let two = String(n.prefix(2)), three = String(n.prefix(3))
        switch plan.callingCode {
        case "32":
            // 9 digits: mobile 4[5-9]; 8 digits: anything but 4 other than 42 and 43 (those are fixed lines).
            if n.count == 9 { return ("45"..."49").contains(two) }
            return first != "4" || two == "42" || two == "43"
        case "31":
            switch n.count {
            case 9: return first != "6" || ["61", "62", "63", "64", "65", "66", "68"].contains(two)
            case 11: return three == "970"
            default: return ["800", "900", "906", "909"].contains(three)
            }
        default:
            return true
        }
    }
}
