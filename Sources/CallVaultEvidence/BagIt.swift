// BagIt (RFC 8493) as the evidence bag writes and checks it: manifests of SHA-256, the tag files, and the
// Ed25519 signature over the tag manifest. Needs no store: a recipient verifies a bag with this alone.
import CallVaultCore
import Crypto
import Foundation

public enum BagIt {
    public static let bagitText = "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"
    public static let manifest = "manifest-sha256.txt"
    public static let tagManifest = "tagmanifest-sha256.txt"
    public static let signature = "signatures/tagmanifest-sha256.txt.sig"
    public static let signerKey = "signatures/signer.pub"
    public static let timeStamp = "signatures/tagmanifest-sha256.txt.tsr"

    /// A manifest's text: `HEX  PATH` per line, sorted by path. Paths are the bag's own (ids and fixed names);
    /// CR, LF and % are percent-encoded as RFC 8493 §2.1.3 asks.
    public static func manifestText(_ entries: [(path: String, sha256: String)]) -> String {
        entries.sorted { $0.path < $1.path }.map { "\($0.sha256)  \(encode($0.path))\n" }.joined()
    }

    static func encode(_ path: String) -> String {
        path.replacingOccurrences(of: "%", with: "%25").replacingOccurrences(of: "\n", with: "%0A").replacingOccurrences(of: "\r", with: "%0D")
    }

    static func decode(_ path: String) -> String {
        path.replacingOccurrences(of: "%0A", with: "\n").replacingOccurrences(of: "%0D", with: "\r").replacingOccurrences(of: "%25", with: "%")
    }

    /// The entries of a manifest; nil when a line is not `HEX PATH`.
    public static func parseManifest(_ text: String) -> [(path: String, sha256: String)]? {
        var out: [(String, String)] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            let l = line.hasSuffix("\r") ? line.dropLast() : line
            guard let space = l.firstIndex(where: { $0 == " " || $0 == "\t" }) else { return nil }
            let hex = String(l[..<space]).lowercased()
            let path = String(l[space...].drop(while: { $0 == " " || $0 == "\t" }))
            guard hex.count == 64, Hex.decode(hex) != nil, !path.isEmpty else { return nil }
            out.append((decode(path), hex))
        }
        return out
    }

    /// A value for a bag-info.txt line: one line, whatever it quotes (a certificate's subject may hold anything).
    public static func tagValue(_ value: String) -> String {
        String(value.map { $0.isNewline || $0.asciiValue.map { $0 < 0x20 } == true ? " " : $0 })
    }

    /// `Payload-Oxum`: the payload's bytes and files.
    public static func oxum(bytes: Int64, files: Int) -> String { "\(bytes).\(files)" }
}

/// The store's evidence key as a recipient sees it: an Ed25519 public key in PEM (SubjectPublicKeyInfo).
public enum EvidencePublicKey {
    /// DER of SubjectPublicKeyInfo for Ed25519 (RFC 8410) before the 32 key bytes.
    static let spkiPrefix: [UInt8] = [0x30, 0x2A, 0x30, 0x05, 0x06, 0x03, 0x2B, 0x65, 0x70, 0x03, 0x21, 0x00]

    public static func pem(_ key: Curve25519.Signing.PublicKey) -> String {
        let der = Data(spkiPrefix + key.rawRepresentation)
        let b64 = der.base64EncodedString()
        return "-----BEGIN PUBLIC KEY-----\n\(b64)\n-----END PUBLIC KEY-----\n"
    }

    /// The key of a PEM `PUBLIC KEY` block holding an Ed25519 SubjectPublicKeyInfo; nil for anything else.
    public static func parse(pem text: String) -> Curve25519.Signing.PublicKey? {
        let body = text.split(whereSeparator: \.isNewline).filter { !$0.hasPrefix("-----") }.joined()
        guard text.contains("-----BEGIN PUBLIC KEY-----"), let der = Data(base64Encoded: body), der.count == 44,
              Array(der.prefix(12)) == spkiPrefix else { return nil }
        return try? Curve25519.Signing.PublicKey(rawRepresentation: der.suffix(32))
    }

    /// SHA-256 of the DER, in hex: what a recipient compares with the store's (`callvault evidence key`).
    public static func fingerprint(_ key: Curve25519.Signing.PublicKey) -> String {
        Hex.encode(SHA256.hash(data: Data(spkiPrefix + key.rawRepresentation)))
    }
}

/// What `evidence verify` found in a bag.
public struct BagReport: Sendable {
    /// Each file that differs, is missing, is not listed, or fails its signature, with why.
    public var problems: [(path: String, why: String)] = []
    /// What was checked and held (for the output).
    public var checked: [String] = []
    /// The fingerprint of the key that signed the tag manifest, when the signature holds.
    public var signer: String?
    /// The authority's time, when the bag has a time-stamp whose imprint holds.
    public var timeStamp: String?
    /// The e-seal's holder, when the bag has a seal whose signature holds.
    public var sealedBy: String?
    public var ok: Bool { problems.isEmpty }
}

public enum BagVerifier {
    /// `verify`, and the organisation's e-seal when the bag has one: the certificate bag-info.txt names, and
    /// with `sealRootsPEM` (the CA certificates the recipient trusts) its chain too, valid now.
    public static func verify(folder: String, expectedKeyPEM: String?, sealRootsPEM: String?) async -> BagReport {
        var report = verify(folder: folder, expectedKeyPEM: expectedKeyPEM)
        let fm = FileManager.default
        func isLink(_ path: String) -> Bool { (try? fm.attributesOfItem(atPath: folder + "/" + path)[.type] as? FileAttributeType) == .typeSymbolicLink }
        if isLink("signatures") || isLink(EvidenceSeal.path) {
            report.problems.append((EvidenceSeal.path, "a symbolic link"))
            return report
        }
        guard let seal = fm.contents(atPath: folder + "/" + EvidenceSeal.path) else { return report }
        guard let tagData = fm.contents(atPath: folder + "/" + BagIt.tagManifest) else { return report }
        // bag-info.txt is covered by the tag manifest (and so by the Ed25519 signature); the seal file is not.
        // The seal must be the one the bag declares: another certificate's seal, or a seal added to a bag
        // that was not sealed, is named.
        let info = fm.contents(atPath: folder + "/bag-info.txt").map { String(decoding: $0, as: UTF8.self) } ?? ""
        let declared = info.split(separator: "\n").first { $0.hasPrefix("Seal: CMS") }
            .flatMap { line in line.range(of: "certificate SHA-256 ").map { String(line[$0.upperBound...].prefix(64)) } }
        let roots = sealRootsPEM.flatMap(EvidenceSeal.certificates(pem:))
        // The chain is checked at the current time: the time-stamp's time would be attested only by a token whose
        // own signature this verifier does not check (`openssl ts -verify` does).
        switch await EvidenceSeal.verify(seal, over: tagData, roots: roots, validAt: Date()) {
        case .sealed(let holder, let fingerprint, let chainChecked):
            guard let declared else {
                report.problems.append((EvidenceSeal.path, "a seal that bag-info.txt does not declare (added to the bag)"))
                return report
            }
            guard declared == fingerprint else {
                report.problems.append((EvidenceSeal.path, "sealed with another certificate (SHA-256 \(fingerprint)) than the one bag-info.txt names"))
                return report
            }
            report.sealedBy = holder
            report.checked.append("the e-seal (CMS) of \(BagIt.tagManifest) by \(holder), certificate SHA-256 \(fingerprint) as bag-info.txt names it"
                                  + (chainChecked ? ", its chain to the given CA (valid now)" : "; its chain was not checked (give the holder's CA with --seal-ca)"))
        case .broken(let why):
            report.problems.append((EvidenceSeal.path, why))
        }
        return report
    }

    /// `verify` with the expected key in PEM (nil: the bag's own signer.pub).
    public static func verify(folder: String, expectedKeyPEM: String?) -> BagReport {
        verify(folder: folder, expectedKey: expectedKeyPEM.flatMap { EvidencePublicKey.parse(pem: $0) })
    }

    /// Checks a bag folder: bagit.txt, every payload file against manifest-sha256.txt (and none unlisted), every
    /// tag file against tagmanifest-sha256.txt, Payload-Oxum, and the Ed25519 signature of the tag manifest with
    /// the bag's signer.pub — or with `expectedKey` when given (the store's key, had from its operator).
    public static func verify(folder: String, expectedKey: Curve25519.Signing.PublicKey? = nil) -> BagReport {
        var report = BagReport()
        let fm = FileManager.default
        func read(_ path: String) -> Data? { fm.contents(atPath: folder + "/" + path) }
        // A bag is someone else's folder: a listed path that leaves it, or a symbolic link, is never read.
        func inside(_ path: String) -> Bool {
            let parts = path.split(separator: "/")
            guard !path.hasPrefix("/"), !parts.contains("..") else { return false }
            // No component may be a link: a folder of the bag replaced by a link leaves it as surely as `..`.
            var prefix = folder
            for part in parts {
                prefix += "/" + part
                if (try? fm.attributesOfItem(atPath: prefix)[.type] as? FileAttributeType) == .typeSymbolicLink { return false }
            }
            return true
        }
        func sha(_ path: String) -> String? {
            guard inside(path), let h = FileHandle(forReadingAtPath: folder + "/" + path) else { return nil }
            defer { try? h.close() }
            var hasher = SHA256()
            while let chunk = try? h.read(upToCount: 1 << 20), !chunk.isEmpty { hasher.update(data: chunk) }
            return Hex.encode(hasher.finalize())
        }
        guard let bagit = read("bagit.txt"), String(decoding: bagit, as: UTF8.self).hasPrefix("BagIt-Version: ") else {
            report.problems.append(("bagit.txt", "missing or not a BagIt declaration"))
            return report
        }
        // Payload.
        guard let manifestData = read(BagIt.manifest), let manifest = BagIt.parseManifest(String(decoding: manifestData, as: UTF8.self)) else {
            report.problems.append((BagIt.manifest, "missing or unreadable"))
            return report
        }
        var listed = Set<String>()
        var bytes: Int64 = 0
        for entry in manifest {
            listed.insert(entry.path)
            guard entry.path.hasPrefix("data/"), inside(entry.path) else {
                report.problems.append((entry.path, "listed outside data/, or a symbolic link"))
                continue
            }
            guard let found = sha(entry.path) else { report.problems.append((entry.path, "missing")); continue }
            if found != entry.sha256 { report.problems.append((entry.path, "SHA-256 differs from the manifest")) }
            bytes += Int64((try? fm.attributesOfItem(atPath: folder + "/" + entry.path)[.size] as? Int) ?? 0)
        }
        let payload = (fm.enumerator(atPath: folder + "/data")?.compactMap { $0 as? String } ?? [])
            .map { "data/" + $0 }.filter { p in var d: ObjCBool = false; return fm.fileExists(atPath: folder + "/" + p, isDirectory: &d) && !d.boolValue }
        for p in payload.sorted() where !listed.contains(p) { report.problems.append((p, "not in the manifest")) }
        report.checked.append("\(manifest.count) payload file(s) against \(BagIt.manifest)")
        // Tag files.
        guard let tagData = read(BagIt.tagManifest), let tags = BagIt.parseManifest(String(decoding: tagData, as: UTF8.self)) else {
            report.problems.append((BagIt.tagManifest, "missing or unreadable"))
            return report
        }
        for entry in tags {
            guard let found = sha(entry.path) else { report.problems.append((entry.path, "missing")); continue }
            if found != entry.sha256 { report.problems.append((entry.path, "SHA-256 differs from the tag manifest")) }
        }
        for required in ["bagit.txt", "bag-info.txt", BagIt.manifest] where !tags.contains(where: { $0.path == required }) {
            report.problems.append((required, "not in the tag manifest"))
        }
        report.checked.append("\(tags.count) tag file(s) against \(BagIt.tagManifest)")
        if let info = read("bag-info.txt").map({ String(decoding: $0, as: UTF8.self) }),
           let line = info.split(separator: "\n").first(where: { $0.hasPrefix("Payload-Oxum:") }) {
            let stated = line.dropFirst("Payload-Oxum:".count).trimmingCharacters(in: .whitespaces)
            if stated != BagIt.oxum(bytes: bytes, files: payload.count) {
                report.problems.append(("bag-info.txt", "Payload-Oxum \(stated) but the payload is \(BagIt.oxum(bytes: bytes, files: payload.count))"))
            }
        }
        // Signature.
        guard let pemData = read(BagIt.signerKey), let bagKey = EvidencePublicKey.parse(pem: String(decoding: pemData, as: UTF8.self)) else {
            report.problems.append((BagIt.signerKey, "missing or not an Ed25519 public key"))
            return report
        }
        let key = expectedKey ?? bagKey
        if let expectedKey, expectedKey.rawRepresentation != bagKey.rawRepresentation {
            report.problems.append((BagIt.signerKey, "not the key given with --key"))
        }
        guard let sig = read(BagIt.signature), sig.count == 64 else {
            report.problems.append((BagIt.signature, "missing or not a 64-byte Ed25519 signature"))
            return report
        }
        // The time-stamp: its imprint must be this tag manifest (its signature is the authority's, checked with
        // the authority's certificate by `openssl ts -verify`).
        let info = read("bag-info.txt").map { String(decoding: $0, as: UTF8.self) } ?? ""
        if let tsr = read(BagIt.timeStamp) {
            do {
                let token = try TimeStamp.check(response: Array(tsr), sha256: Array(SHA256.hash(data: tagData)), nonce: nil)
                report.timeStamp = token.genTime
                report.checked.append("the RFC 3161 time-stamp's imprint (\(token.genTime)); its signature: openssl ts -verify with the authority's CA")
            } catch {
                report.problems.append((BagIt.timeStamp, error.description))
            }
        } else if info.contains("Time-Stamp: RFC 3161") {
            report.problems.append((BagIt.timeStamp, "missing, though bag-info.txt says the bag was time-stamped"))
        }
        if read(EvidenceSeal.path) == nil, info.contains("Seal: CMS") {
            report.problems.append((EvidenceSeal.path, "missing, though bag-info.txt says the bag was sealed"))
        }
        if key.isValidSignature(sig, for: tagData) {
            report.signer = EvidencePublicKey.fingerprint(key)
            report.checked.append("the Ed25519 signature of \(BagIt.tagManifest)")
        } else {
            report.problems.append((BagIt.signature, "does not verify: \(BagIt.tagManifest) was changed, or another key signed it"))
        }
        return report
    }
}
