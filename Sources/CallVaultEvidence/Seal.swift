// The organisation's e-seal over an evidence bag: a detached CMS SignedData (RFC 5652) over the tag manifest,
// made with the X.509 certificate and key the operator configures (`[evidence] seal_certificate`, `seal_key`).
// An eIDAS qualified seal certificate is what gives a court the presumption of integrity and origin; the
// store's own Ed25519 key only binds the bag to the vault.
@_spi(CMS) @_spi(FixedExpiryValidationTime) import X509
import CallVaultCore
import Crypto
import Foundation
import SwiftASN1

public enum EvidenceSeal {
    public static let path = "signatures/tagmanifest-sha256.txt.p7s"

    /// The certificate and key a seal is made with, checked to belong together and to be valid `at`.
    public struct Signer: Sendable {
        public let certificate: Certificate
        public let intermediates: [Certificate]
        let key: Certificate.PrivateKey

        /// The seal holder as the certificate names it (its subject), for bag-info.txt and the output.
        public var holder: String { certificate.subject.description }
        /// SHA-256 of the certificate's DER, in hex.
        public var fingerprint: String { EvidenceSeal.fingerprint(certificate) }
    }

    /// Why a seal could not be made: the message names the setting and the file, never the key's bytes.
    public struct Unusable: Error, CustomStringConvertible {
        public let description: String
    }

    /// Reads `certificatePEM` (the seal certificate first, then any intermediates) and `keyPEM` (PKCS#8, or
    /// SEC 1 EC, or PKCS#1 RSA), and checks that the key is the certificate's and the certificate valid `at`.
    public static func signer(certificatePEM: String, keyPEM: String, at: Date) throws(Unusable) -> Signer {
        let certificates: [Certificate]
        do {
            certificates = try PEMDocument.parseMultiple(pemString: certificatePEM)
                .filter { $0.discriminator == "CERTIFICATE" }.map { try Certificate(pemDocument: $0) }
        } catch {
            throw Unusable(description: "evidence.seal_certificate: not a PEM certificate (\(error))")
        }
        guard let leaf = certificates.first else { throw Unusable(description: "evidence.seal_certificate: no PEM certificate in the file") }
        let key: Certificate.PrivateKey
        do { key = try Certificate.PrivateKey(pemEncoded: keyPEM) } catch {
            throw Unusable(description: "evidence.seal_key: not a PEM private key (PKCS#8, EC or RSA)")
        }
        guard key.publicKey == leaf.publicKey else {
            throw Unusable(description: "evidence.seal_key is not the key of the certificate in evidence.seal_certificate (\(leaf.subject))")
        }
        guard leaf.notValidBefore <= at, at <= leaf.notValidAfter else {
            throw Unusable(description: "evidence.seal_certificate (\(leaf.subject)) is valid from \(leaf.notValidBefore) to \(leaf.notValidAfter), not now")
        }
        return Signer(certificate: leaf, intermediates: Array(certificates.dropFirst()), key: key)
    }

    /// The seal: DER of a detached SignedData over `content`, with the signing time and the chain.
    public static func seal(_ content: Data, by signer: Signer, at: Date) throws -> Data {
        Data(try CMS.sign(content, additionalIntermediateCertificates: signer.intermediates, certificate: signer.certificate,
                          privateKey: signer.key, signingTime: at, detached: true))
    }

    public static func fingerprint(_ certificate: Certificate) -> String {
        var serializer = DER.Serializer()
        guard (try? serializer.serialize(certificate)) != nil else { return "" }
        return Hex.encode(SHA256.hash(data: serializer.serializedBytes))
    }

    /// What a seal check found.
    public enum Verdict: Sendable {
        /// The seal holds, by `holder`; `chainChecked` when it chains to a given root at `validAt`.
        case sealed(holder: String, fingerprint: String, chainChecked: Bool)
        case broken(String)
    }

    /// Checks a seal over `content`. With `roots`, the seal certificate must chain to one of them, valid at
    /// `validAt`. Without, only that the certificate in the seal signed `content`.
    public static func verify(_ seal: Data, over content: Data, roots: [Certificate]?, validAt: Date) async -> Verdict {
        let result = await CMS.isValidSignature(dataBytes: content, signatureBytes: seal, trustRoots: CertificateStore(roots ?? [])) {
            RFC5280Policy(fixedExpiryValidationTime: validAt)
        }
        switch result {
        case .success(let valid):
            return .sealed(holder: valid.signer.subject.description, fingerprint: fingerprint(valid.signer), chainChecked: true)
        case .failure(.unableToValidateSigner(let failure)):
            // The signature holds (it is checked before the chain); only the chain does not.
            if roots == nil {
                return .sealed(holder: failure.signer.subject.description, fingerprint: fingerprint(failure.signer), chainChecked: false)
            }
            return .broken("the seal certificate (\(failure.signer.subject)) does not chain to the given CA, or was not valid then")
        case .failure(.invalidCMSBlock(let block)):
            return .broken("does not verify: \(BagIt.tagManifest) was changed, or the seal is not a CMS signature (\(block.reason.prefix(120)))")
        case .failure(let other):
            return .broken("does not verify (\(other))")
        }
    }

    /// The certificates of a PEM file (a CA bundle a recipient trusts); nil when it holds none.
    public static func certificates(pem: String) -> [Certificate]? {
        guard let docs = try? PEMDocument.parseMultiple(pemString: pem) else { return nil }
        let certs = docs.filter { $0.discriminator == "CERTIFICATE" }.compactMap { try? Certificate(pemDocument: $0) }
        return certs.isEmpty ? nil : certs
    }
}
