// A strict RFC 8259 reader for sidecars: one meaning per document (no duplicate keys), bounded nesting, and
// forbidden characters reported with the path of the field that holds them.
import Foundation

/// Foundation's parsers keep the first of two equal keys while jq and Python keep the last, so a sidecar with
/// a repeated key means different things to different readers. This reader refuses such documents, and
/// says where: the caller can name the field without echoing its value.
public enum StrictJSON {
    /// Deeper documents are refused rather than recursed into (a sidecar needs three levels).
    public static let maxDepth = 32

    /// One step of the path to a value: an object key (with its 1-based position in its object, to name keys
    /// that are not printable) or an array index.
    public enum PathComponent: Sendable, Equatable {
        case key(String, position: Int)
        case index(Int)
    }

    public struct Failure: Error, Sendable, Equatable {
        public enum Kind: Sendable, Equatable {
            /// Not JSON; `offset` is the byte where reading stopped.
            case syntax(String, offset: Int)
            /// The last component of the path names a key seen before in the same object.
            case duplicateKey
            case tooDeep
            /// A decoded string (`inKey`: an object key) holds a character the caller forbids.
            case forbiddenCharacter(Unicode.Scalar, inKey: Bool)
        }
        public var kind: Kind
        public var path: [PathComponent]
    }

    /// Parses one JSON text. Every decoded string, keys included, is checked with `forbidding` (after escapes
    /// are resolved, so `\u0000` is seen as NUL). Keys are compared as Swift strings (canonical equivalence),
    /// the same comparison the resulting dictionary uses, so no two keys can collapse into one silently.
    public static func parse(_ data: Data, forbidding: @escaping (Unicode.Scalar) -> Bool = { _ in false }) throws(Failure) -> JSONValue {
        var reader = Reader(bytes: [UInt8](data), forbidding: forbidding)
        // A UTF-8 byte order mark carries no meaning (RFC 8259 §8.1 lets a reader ignore it).
        if reader.bytes.starts(with: [0xEF, 0xBB, 0xBF]) { reader.i = 3 }
        reader.skipWhitespace()
        let value = try reader.value(depth: 0)
        reader.skipWhitespace()
        guard reader.i == reader.bytes.count else { throw reader.syntax("text after the JSON value") }
        return value
    }

    struct Reader {
        let bytes: [UInt8]
        let forbidding: (Unicode.Scalar) -> Bool
        var i = 0
        var path: [PathComponent] = []

        init(bytes: [UInt8], forbidding: @escaping (Unicode.Scalar) -> Bool) {
            self.bytes = bytes
            self.forbidding = forbidding
        }

        func syntax(_ what: String) -> Failure { Failure(kind: .syntax(what, offset: i), path: path) }

        var peek: UInt8? { i < bytes.count ? bytes[i] : nil }

        mutating func skipWhitespace() {
            while let c = peek, c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D { i += 1 }
        }

        mutating func expect(_ c: UInt8, _ what: String) throws(Failure) {
            guard peek == c else { throw syntax("expected \(what)") }
            i += 1
        }

        mutating func value(depth: Int) throws(Failure) -> JSONValue {
            guard let c = peek else { throw syntax("unexpected end") }
            switch c {
            case UInt8(ascii: "{"): return try object(depth: depth + 1)
            case UInt8(ascii: "["): return try array(depth: depth + 1)
            case UInt8(ascii: "\""): return .string(try string(isKey: false))
            case UInt8(ascii: "t"): try literal("true"); return .bool(true)
            case UInt8(ascii: "f"): try literal("false"); return .bool(false)
            case UInt8(ascii: "n"): try literal("null"); return .null
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try number())
            default: throw syntax("unexpected character")
            }
        }

        mutating func literal(_ word: String) throws(Failure) {
            let w = Array(word.utf8)
            guard bytes.count - i >= w.count, bytes[i..<(i + w.count)].elementsEqual(w) else { throw syntax("invalid literal") }
            i += w.count
        }

        mutating func object(depth: Int) throws(Failure) -> JSONValue {
            guard depth <= StrictJSON.maxDepth else { throw Failure(kind: .tooDeep, path: path) }
            i += 1
            var result: [String: JSONValue] = [:]
            skipWhitespace()
            if peek == UInt8(ascii: "}") { i += 1; return .object(result) }
            var position = 0
            while true {
                skipWhitespace()
                guard peek == UInt8(ascii: "\"") else { throw syntax("expected a key") }
                position += 1
                path.append(.key("", position: position))
                let key = try string(isKey: true)
                path[path.count - 1] = .key(key, position: position)
                guard result[key] == nil else { throw Failure(kind: .duplicateKey, path: path) }
                skipWhitespace()
                try expect(UInt8(ascii: ":"), "':'")
                skipWhitespace()
                result[key] = try value(depth: depth)
                path.removeLast()
                skipWhitespace()
                if peek == UInt8(ascii: ",") { i += 1; continue }
                try expect(UInt8(ascii: "}"), "',' or '}'")
                return .object(result)
            }
        }

        mutating func array(depth: Int) throws(Failure) -> JSONValue {
            guard depth <= StrictJSON.maxDepth else { throw Failure(kind: .tooDeep, path: path) }
            i += 1
            var result: [JSONValue] = []
            skipWhitespace()
            if peek == UInt8(ascii: "]") { i += 1; return .array(result) }
            while true {
                skipWhitespace()
                path.append(.index(result.count))
                result.append(try value(depth: depth))
                path.removeLast()
                skipWhitespace()
                if peek == UInt8(ascii: ",") { i += 1; continue }
                try expect(UInt8(ascii: "]"), "',' or ']'")
                return .array(result)
            }
        }

        mutating func hex4() throws(Failure) -> UInt32 {
            guard bytes.count - i >= 4 else { throw syntax("short \\u escape") }
            var v: UInt32 = 0
            for _ in 0..<4 {
                let c = bytes[i]
                let d: UInt8
                switch c {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): d = c - UInt8(ascii: "0")
                case UInt8(ascii: "a")...UInt8(ascii: "f"): d = c - UInt8(ascii: "a") + 10
                case UInt8(ascii: "A")...UInt8(ascii: "F"): d = c - UInt8(ascii: "A") + 10
                default: throw syntax("invalid \\u escape")
                }
                v = v << 4 | UInt32(d)
                i += 1
            }
            return v
        }

        /// A string token, escapes resolved; `i` is on its opening quote.
        mutating func string(isKey: Bool) throws(Failure) -> String {
            i += 1
            var out: [UInt8] = []
            while true {
                guard let c = peek else { throw syntax("unterminated string") }
                if c == UInt8(ascii: "\"") { i += 1; break }
                if c < 0x20 { throw syntax("unescaped control character in a string") }
                guard c == UInt8(ascii: "\\") else { out.append(c); i += 1; continue }
                i += 1
                guard let e = peek else { throw syntax("unterminated escape") }
                i += 1
                switch e {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    var code = try hex4()
                    if (0xD800...0xDBFF).contains(code) {
                        // A high surrogate must be followed by an escaped low one: together one scalar.
                        guard bytes.count - i >= 2, bytes[i] == UInt8(ascii: "\\"), bytes[i + 1] == UInt8(ascii: "u") else {
                            throw syntax("lone surrogate")
                        }
                        i += 2
                        let low = try hex4()
                        guard (0xDC00...0xDFFF).contains(low) else { throw syntax("lone surrogate") }
                        code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                    } else if (0xDC00...0xDFFF).contains(code) {
                        throw syntax("lone surrogate")
                    }
                    guard let scalar = Unicode.Scalar(code) else { throw syntax("invalid \\u escape") }
                    out.append(contentsOf: Array(String(Character(scalar)).utf8))
                default: throw syntax("invalid escape")
                }
            }
            guard let s = String(validating: out, as: UTF8.self) else { throw syntax("not UTF-8") }
            if let bad = s.unicodeScalars.first(where: forbidding) {
                throw Failure(kind: .forbiddenCharacter(bad, inKey: isKey), path: path)
            }
            return s
        }

        /// RFC 8259 number grammar: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`, finite as a Double.
        mutating func number() throws(Failure) -> Double {
            let start = i
            func digits(_ r: inout Reader) -> Int {
                let s = r.i
                while let c = r.peek, c >= UInt8(ascii: "0"), c <= UInt8(ascii: "9") { r.i += 1 }
                return r.i - s
            }
            if peek == UInt8(ascii: "-") { i += 1 }
            if peek == UInt8(ascii: "0") {
                i += 1
            } else {
                guard digits(&self) > 0 else { throw syntax("invalid number") }
            }
            if peek == UInt8(ascii: ".") {
                i += 1
                guard digits(&self) > 0 else { throw syntax("invalid number") }
            }
            if peek == UInt8(ascii: "e") || peek == UInt8(ascii: "E") {
                i += 1
                if peek == UInt8(ascii: "+") || peek == UInt8(ascii: "-") { i += 1 }
                guard digits(&self) > 0 else { throw syntax("invalid number") }
            }
            guard let n = Double(String(decoding: bytes[start..<i], as: UTF8.self)), n.isFinite else {
                throw syntax("number out of range")
            }
            return n
        }
    }
}
