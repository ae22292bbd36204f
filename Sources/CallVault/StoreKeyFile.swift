// A store's secret of 32 bytes in a 0600 file (subject.key, evidence.key): made once, never half written.
import CallVaultCore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

enum StoreKeyFile {
    /// The key at `root/name`, made from `fresh()` if there is none. The whole key is written and fsynced under a
    /// temporary name and linked into place, so two processes starting at once agree on one key and none ever
    /// reads half a key; a crash leaves either no key or a whole one (and at most a stray temporary file).
    static func createOnce(root: String, name: String, fresh: () -> [UInt8]) throws -> [UInt8] {
        let path = root + "/" + name
        if let key = try read(path) { return key }
        let temp = root + "/." + name + "." + UUID().uuidString.prefix(8)
        let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else { throw VaultError.failure("cannot create \(temp): \(String(cString: strerror(errno)))") }
        defer { unlink(temp) }
        let bytes = fresh()
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        let synced = fsync(fd) == 0
        close(fd)
        guard written == bytes.count, synced else { throw VaultError.failure("cannot write \(temp): \(String(cString: strerror(errno)))") }
        if link(temp, path) != 0, errno != EEXIST {
            throw VaultError.failure("cannot create \(path): \(String(cString: strerror(errno)))")
        }
        let dir = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dir >= 0 { fsync(dir); close(dir) }
        guard let key = try read(path) else { throw VaultError.failure("cannot read \(path) after creating it") }
        return key
    }

    /// The 32 bytes at `path`, nil when there is no file. A file of another length was not written by this
    /// code: refused rather than used.
    static func read(_ path: String) throws -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else {
            if errno == ENOENT { return nil }
            throw VaultError.failure("cannot read \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 64)
        let n = Glibc.read(fd, &buffer, buffer.count)
        guard n == 32 else { throw VaultError.failure("\(path) is damaged (not a 32-byte key); restore it from the store's backup") }
        return Array(buffer.prefix(32))
    }
}
