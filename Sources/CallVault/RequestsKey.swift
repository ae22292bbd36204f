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

    /// Creation writes a whole key under a temporary name and links it into place, so two processes starting at
    /// once agree on one key and none ever reads half a key.
    static func create(root: String) throws -> SubjectKey {
        let path = root + "/" + fileName
        if let key = try read(path) { return SubjectKey(key: key) }
        let temp = root + "/." + fileName + "." + UUID().uuidString.prefix(8)
        let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else { throw VaultError.failure("cannot create \(temp): \(String(cString: strerror(errno)))") }
        defer { unlink(temp) }
        let bytes = SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) }
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        let synced = fsync(fd) == 0
        close(fd)
        guard written == bytes.count, synced else { throw VaultError.failure("cannot write \(temp): \(String(cString: strerror(errno)))") }
        if link(temp, path) != 0, errno != EEXIST {
            throw VaultError.failure("cannot create \(path): \(String(cString: strerror(errno)))")
        }
        guard let key = try read(path) else { throw VaultError.failure("cannot read \(path) after creating it") }
        return SubjectKey(key: key)
    }

    static func read(_ path: String) throws -> SymmetricKey? {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else {
            if errno == ENOENT { return nil }
            throw VaultError.failure("cannot read \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 64)
        let n = Glibc.read(fd, &buffer, buffer.count)
        // A key of another length was not written by this code: refuse it rather than hash with it.
        guard n == 32 else { throw VaultError.failure("\(path) is damaged (not a 32-byte key); restore it from the store's backup") }
        return SymmetricKey(data: buffer.prefix(32))
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
