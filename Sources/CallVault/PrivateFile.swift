// A secret the operator keeps in a file of its own (the catalog's password, the e-seal's key): read through one
// descriptor, so what is checked is what is read, and refused when others could read it.
import CallVaultCore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

enum PrivateFile {
    /// The file's bytes. `setting` names it in errors (`catalog.password_file`); `secret`: refused unless only
    /// its owner may read it; `ownedByVaultUser`: and that owner is the vault user.
    static func read(_ path: String, setting: String, kind: VaultError.Kind, secret: Bool = true, ownedByVaultUser: Bool = false) throws -> Data {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { throw VaultError(kind, "\(setting) \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, st.st_size < 1 << 20 else {
            throw VaultError(kind, "\(setting) \(path): not a regular file of at most 1 MiB")
        }
        if secret, st.st_mode & 0o077 != 0 || (ownedByVaultUser && st.st_uid != geteuid()) {
            throw VaultError(kind, "\(setting) \(path): readable by others (mode \(String(st.st_mode & 0o777, radix: 8)), owner uid \(st.st_uid)); it must be readable by the vault user only: chmod 600 it\(ownedByVaultUser ? " and make the vault user its owner" : "")")
        }
        guard let data = try? FileHandle(fileDescriptor: fd, closeOnDealloc: false).readToEnd() else {
            throw VaultError(kind, "\(setting) \(path): cannot be read")
        }
        return data
    }
}
