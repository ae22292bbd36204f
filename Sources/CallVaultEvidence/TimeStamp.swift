// RFC 3161 time-stamps of an evidence bag's tag manifest: the request, asked over HTTP(S), and the check of
// the answer's message imprint and nonce before it is written. The token's signature is the authority's: a
// recipient checks it with the authority's certificate (`openssl ts -verify`).
import CallVaultCore
import Crypto
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import SwiftASN1

public enum TimeStamp {

    static let sha256OID: [UInt8] = [0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01]

    /// A TimeStampReq (RFC 3161 §2.4.1) for a SHA-256 digest, asking for the authority's certificate. The
    /// structure is fixed, so its DER is written out: version 1, messageImprint, nonce, certReq TRUE.
    public static func request(sha256 digest: [UInt8], nonce: [UInt8]) -> [UInt8] {
        precondition(digest.count == 32 && nonce.count == 8 && nonce[0] < 0x80)
        let algorithm: [UInt8] = [0x30, 0x0D] + sha256OID + [0x05, 0x00]
        let imprint: [UInt8] = [0x30, 0x31] + algorithm + [0x04, 0x20] + digest
        let body: [UInt8] = [0x02, 0x01, 0x01] + imprint + [0x02, 0x08] + nonce + [0x01, 0x01, 0xFF]
        return [0x30, UInt8(body.count)] + body
    }

    /// A fresh positive 64-bit nonce.
    public static func nonce() -> [UInt8] {
        var n = (0..<8).map { _ in UInt8.random(in: 0...255) }
        n[0] &= 0x7F
        if n[0] == 0 { n[0] = 1 }  // no leading zero byte: DER's minimal INTEGER
        return n
    }

    /// What a checked answer says.
    public struct Token: Sendable, Equatable {
        /// The authority's time (GeneralizedTime as it wrote it, e.g. `20261203125501Z`).
        public var genTime: String
    }

    public struct Refused: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    /// Checks a TimeStampResp: granted, a TSTInfo whose imprint is SHA-256 of `digest`, and (when given) our nonce.
    public static func check(response: [UInt8], sha256 digest: [UInt8], nonce: [UInt8]?) throws(Refused) -> Token {
        do {
            let resp = try BER.parse(response)
            let parts = try children(resp)
            guard parts.count >= 1, let status = try children(parts[0]).first, let code = integer(status) else {
                throw Refused(description: "the answer is not a TimeStampResp")
            }
            guard code == [0] || code == [1] else { throw Refused(description: "the authority refused the request (PKIStatus \(code.last ?? 0))") }
            guard parts.count >= 2 else { throw Refused(description: "the answer holds no time-stamp token") }
            // ContentInfo { signedData, [0] SignedData { version, digestAlgorithms, encapContentInfo, … } }
            let content = try children(parts[1])
            guard content.count == 2, let signedData = try children(content[1]).first else { throw Refused(description: "the token is not CMS SignedData") }
            let sd = try children(signedData)
            guard sd.count >= 3 else { throw Refused(description: "the token's SignedData is incomplete") }
            let encap = try children(sd[2])
            guard encap.count == 2, let octets = try children(encap[1]).first, case .primitive(let tstBytes) = octets.content else {
                throw Refused(description: "the token holds no TSTInfo")
            }
            let tst = try children(try BER.parse(Array(tstBytes)))
            // TSTInfo { version, policy, messageImprint { algorithm, hashedMessage }, serialNumber, genTime, … nonce }
            guard tst.count >= 5 else { throw Refused(description: "the TSTInfo is incomplete") }
            let imprint = try children(tst[2])
            guard imprint.count == 2, case .primitive(let hashed) = imprint[1].content else { throw Refused(description: "the TSTInfo has no message imprint") }
            guard Array(hashed) == digest else { throw Refused(description: "the token's message imprint is not the SHA-256 of the tag manifest") }
            guard case .primitive(let time) = tst[4].content, tst[4].identifier == .generalizedTime else {
                throw Refused(description: "the TSTInfo has no genTime")
            }
            if let nonce {
                let given = tst.dropFirst(5).first { $0.identifier == .integer }.flatMap(integer)
                guard given.map({ Array($0.drop(while: { $0 == 0 })) }) == Array(nonce.drop(while: { $0 == 0 })) else {
                    throw Refused(description: "the token's nonce is not the request's (a replayed answer)")
                }
            }
            return Token(genTime: String(decoding: time, as: UTF8.self))
        } catch let r as Refused {
            throw r
        } catch {
            throw Refused(description: "the answer is not valid ASN.1 (\(error))")
        }
    }

    static func children(_ node: ASN1Node) throws -> [ASN1Node] {
        guard case .constructed(let c) = node.content else { throw Refused(description: "unexpected primitive in the answer") }
        return Array(c)
    }

    static func integer(_ node: ASN1Node) -> [UInt8]? {
        guard node.identifier == .integer, case .primitive(let b) = node.content else { return nil }
        return Array(b)
    }

    /// Asks `url` for a time-stamp of `digest` (a POST of `application/timestamp-query`, 30 s at most) and
    /// returns the checked answer's bytes. Every failure says what the authority did.
    public static func obtain(url: String, sha256 digest: [UInt8]) throws(Refused) -> (response: [UInt8], token: Token) {
        guard let u = URL(string: url) else { throw Refused(description: "tsa_url is not a URL") }
        let nonce = nonce()
        var request = URLRequest(url: u, timeoutInterval: 30)
        request.httpMethod = "POST"
        request.setValue("application/timestamp-query", forHTTPHeaderField: "Content-Type")
        request.httpBody = Data(self.request(sha256: digest, nonce: nonce))
        let box = ResultBox()
        let done = DispatchSemaphore(value: 0)
        URLSession.shared.dataTask(with: request) { data, response, error in
            box.set(data, (response as? HTTPURLResponse)?.statusCode, error.map { "\($0.localizedDescription)" })
            done.signal()
        }.resume()
        done.wait()
        let (data, status, failure) = box.get()
        if let failure { throw Refused(description: "the time-stamping authority could not be reached: \(failure)") }
        guard status == 200, let data else { throw Refused(description: "the time-stamping authority answered HTTP \(status ?? 0)") }
        let bytes = Array(data)
        return (bytes, try check(response: bytes, sha256: digest, nonce: nonce))
    }

    /// The answer of one request, handed from URLSession's queue to the waiting thread.
    final class ResultBox: @unchecked Sendable {
        private let lock = NSLock()
        private var value: (Data?, Int?, String?) = (nil, nil, nil)
        func set(_ d: Data?, _ s: Int?, _ e: String?) { lock.lock(); value = (d, s, e); lock.unlock() }
        func get() -> (Data?, Int?, String?) { lock.lock(); defer { lock.unlock() }; return value }
    }
}
