// Addresses of `[web]`: the listen address and the trusted proxies' blocks.
import Foundation
#if canImport(Glibc)
import Glibc
#endif

extension WebSettings {
    /// HOST:PORT (or [V6]:PORT) split into its parts; nil when it is not one.
    public static func splitListen(_ text: String) -> (host: String, port: Int)? {
        guard let colon = text.lastIndex(of: ":") else { return nil }
        var host = String(text[..<colon])
        guard let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else { return nil }
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty, !host.contains(where: { $0 == " " || $0 == "/" }) else { return nil }
        return (host, port)
    }

    /// Whether a listen host is reachable from this machine only (127.0.0.0/8, ::1, localhost).
    public static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || CIDR("127.0.0.0/8")!.contains(host)
    }
}

/// An address block (127.0.0.1/32, 10.0.0.0/8, ::1/128): who may set the trusted header.
public struct CIDR: Sendable, Equatable {
    let bytes: [UInt8]
    let prefix: Int

    public init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= 2, let address = CIDR.parse(String(parts[0])) else { return nil }
        let bits = address.count * 8
        if parts.count == 2 {
            guard let p = Int(parts[1]), (0...bits).contains(p) else { return nil }
            prefix = p
        } else {
            prefix = bits
        }
        bytes = address
    }

    /// The address's bytes (4 for IPv4, 16 for IPv6); IPv4-mapped IPv6 addresses compare as IPv4.
    static func parse(_ text: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 { return withUnsafeBytes(of: &v4) { Array($0) } }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 {
            let b = withUnsafeBytes(of: &v6) { Array($0) }
            if b[0..<10].allSatisfy({ $0 == 0 }), b[10] == 0xff, b[11] == 0xff { return Array(b[12...]) }
            return b
        }
        return nil
    }

    /// Whether the textual address `address` lies in this block.
    public func contains(_ address: String) -> Bool {
        guard let a = CIDR.parse(address), a.count == bytes.count else { return false }
        var left = prefix
        for i in 0..<a.count where left > 0 {
            let n = min(8, left)
            let mask = UInt8(truncatingIfNeeded: 0xff << (8 - n))
            if a[i] & mask != bytes[i] & mask { return false }
            left -= n
        }
        return true
    }
}
