// The store's key for hashing subjects' numbers: the register and the audit log keep HMAC-SHA256(key, number).
import CallVaultCore
import CallVaultStore
import Crypto
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A keyed hash, not a plain SHA-256: phone numbers are few enough that a plain hash is reversed by trying
/// them all. Without the key file (0600, in the store) a hash in an exported audit log says nothing.
struct SubjectKey: Sendable {
    static let fileName = "subject.key"
    /// The key's bytes (swift-crypto's `SymmetricKey` is not `Sendable`; the batch's pair checks share this).
    let bytes: [UInt8]
    var key: SymmetricKey { SymmetricKey(data: bytes) }

    init(key: SymmetricKey) { bytes = key.withUnsafeBytes { Array($0) } }

    /// The store's key. Created on first use, but never again once the catalog holds hashes made with it (the
    /// register's subjects, the tombstones of erased calls): a new key would orphan every request and let
    /// every erased call back in. Then a missing key is a vault failure that says to restore it.
    static func load(_ vault: Vault) throws -> SubjectKey {
        let path = vault.root + "/" + fileName
        if let key = try read(path) { return SubjectKey(key: key) }
        if try vault.catalog.holdsKeyedHashes() {
            throw VaultError.failure("\(path) is missing, but the register and the erased calls' tombstones hold hashes made with it: restore it from the store's backup (a new key would orphan every request); nothing was changed")
        }
        return try create(root: vault.root)
    }

    static func create(root: String) throws -> SubjectKey {
        SubjectKey(key: SymmetricKey(data: try StoreKeyFile.createOnce(root: root, name: fileName) {
            SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) }
        }))
    }

    static func read(_ path: String) throws -> SymmetricKey? {
        try StoreKeyFile.read(path).map { SymmetricKey(data: $0) }
    }

    /// The keys of an erased call's tombstone, each under its own label so that no key of one kind matches
    /// another kind's text. The call id may hold a number or a date; the audio's hash identifies a recording:
    /// both are kept only keyed.
    func tombstone(tenant: String, callID: String, sha256: String) -> ErasedCallKeys {
        ErasedCallKeys(callKey: hash("erased-call\u{0}" + tenant + "\u{0}" + callID), audioKey: hash("erased-audio\u{0}" + sha256))
    }

    /// Hex HMAC-SHA256 of a text (an E.164 number, or a rectified value).
    func hash(_ text: String) -> String {
        Hex.encode(HMAC<SHA256>.authenticationCode(for: Data(text.utf8), using: key))
    }
}
