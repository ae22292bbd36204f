// The inbox side of every file-system effect: opening, reading and removing a recorder's files, never by a
// path twice where a descriptor will do, and never following a symlink or blocking on a FIFO.
import CallVaultCore
import CallVaultStore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Which file a name referred to when the vault opened it, and in what state: device and inode, size,
/// modification and change times. A file rewritten in place since (same inode) is not the file that was read.
struct FileIdentity: Sendable, Equatable {
    var device: UInt64
    var inode: UInt64
    var size: Int64
    var modified: timespec
    var changed: timespec

    init(_ st: stat) {
        device = UInt64(st.st_dev); inode = UInt64(st.st_ino); size = Int64(st.st_size)
        modified = st.st_mtim; changed = st.st_ctim
    }

    static func == (a: Self, b: Self) -> Bool {
        a.device == b.device && a.inode == b.inode && a.size == b.size
            && a.modified.tv_sec == b.modified.tv_sec && a.modified.tv_nsec == b.modified.tv_nsec
            && a.changed.tv_sec == b.changed.tv_sec && a.changed.tv_nsec == b.changed.tv_nsec
    }
}

/// An inbox file opened for reading: the descriptor every later check reads through.
final class InputFile: Sendable {
    let fd: Int32
    let size: Int64
    let identity: FileIdentity

    init(fd: Int32, size: Int64, identity: FileIdentity) { self.fd = fd; self.size = size; self.identity = identity }
    deinit { close(fd) }
}

enum InboxFiles {
    /// Why an input could not be opened or read. Not a rejection (nothing is known to be wrong with the call)
    /// and not a vault failure (the other pairs go on): it is left in place and tried again later.
    struct Unreadable: Error {
        var detail: String
        /// The file is gone (ENOENT): another worker sharing the inbox took the pair, or the recorder removed it.
        /// Nothing is wrong and nothing is left to retry, so it is not reported.
        var vanished = false

        static let gone = Unreadable(detail: "vanished before it could be read", vanished: true)
    }

    /// Splits a path into its folder and name.
    static func split(_ path: String) -> (folder: String, name: String) {
        guard let slash = path.lastIndex(of: "/") else { return (".", path) }
        let folder = String(path[..<slash])
        return (folder.isEmpty ? "/" : folder, String(path[path.index(after: slash)...]))
    }

    /// The folder holding an input, opened without following a symlink: a tenant folder swapped for a symlink
    /// after the scan cannot lead the vault outside the inbox.
    static func openFolder(_ folder: String) -> Result<Int32, Unreadable> {
        let fd = Glibc.open(folder, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else {
            let e = errno
            if e == ELOOP || e == ENOTDIR { return .failure(Unreadable(detail: "its folder became a symlink (symlinks are never followed)")) }
            if e == ENOENT { return .failure(.gone) }
            return .failure(Unreadable(detail: "cannot open its folder: \(StoreFiles.errnoText(e))"))
        }
        return .success(fd)
    }

    /// Opens a regular file without following a symlink (neither the file nor its folder) and without blocking
    /// on a FIFO swapped in.
    static func open(_ path: String) -> Result<InputFile, Unreadable> {
        let (folder, name) = split(path)
        let dirfd: Int32
        switch openFolder(folder) {
        case .success(let d): dirfd = d
        case .failure(let u): return .failure(u)
        }
        defer { close(dirfd) }
        let fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY)
        guard fd >= 0 else {
            let e = errno
            switch e {
            case ENOENT: return .failure(.gone)
            case ELOOP: return .failure(Unreadable(detail: "became a symlink (symlinks are never followed)"))
            default: return .failure(Unreadable(detail: "cannot open: \(StoreFiles.errnoText(e))"))
            }
        }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            let e = errno
            close(fd)
            return .failure(Unreadable(detail: "cannot stat: \(StoreFiles.errnoText(e))"))
        }
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            return .failure(Unreadable(detail: "is not a regular file"))
        }
        return .success(InputFile(fd: fd, size: Int64(st.st_size), identity: FileIdentity(st)))
    }

    /// Reads at most `limit + 1` bytes through the descriptor (the limit is enforced on the read, not on a
    /// size seen earlier: a file that grows, or a device swapped in, is never read whole).
    static func read(_ file: InputFile, limit: Int) -> Result<Data, Unreadable> {
        var data = Data(count: limit + 1)
        var total = 0
        let ok = data.withUnsafeMutableBytes { raw -> Bool in
            while total < raw.count {
                let n = pread(file.fd, raw.baseAddress! + total, raw.count - total, off_t(total))
                if n < 0 { if errno == EINTR { continue }; return false }
                if n == 0 { break }
                total += n
            }
            return true
        }
        guard ok else { return .failure(Unreadable(detail: "cannot read: \(StoreFiles.errnoText())")) }
        return .success(data.prefix(total))
    }

    /// Removes an inbox file once its outcome is durable; one already gone is fine. With `identity`, only while
    /// the name still refers to the file that was read: a file a recorder put under the name since (a rename
    /// over it) is new input and stays.
    static func remove(_ path: String, ifStill identity: FileIdentity? = nil) throws {
        let (folder, name) = split(path)
        // Relative to the folder opened without following a symlink: never a file outside the inbox.
        guard case .success(let dirfd) = openFolder(folder) else { return }
        defer { close(dirfd) }
        if let identity {
            var st = stat()
            guard fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 else { return }
            // Changed since it was read (replaced, rewritten, appended to): new input, left for the next run.
            guard FileIdentity(st) == identity else { return }
        }
        if unlinkat(dirfd, name, 0) != 0, errno != ENOENT {
            // No path: inbox names may carry phone numbers, and this line can reach the daemon's log.
            throw VaultError.failure("cannot remove a file from the inbox: \(StoreFiles.errnoText()) (the vault user needs write access to the inbox folder)")
        }
    }

    /// The entries of a folder as raw names: `names` decode as UTF-8, `undecodable` do not (reported as
    /// `unsafe_name`, never skipped in silence). Nil with the errno text when the folder cannot be read.
    static func list(_ dir: String) -> Result<(names: [String], undecodable: [[UInt8]]), Unreadable> {
        guard let d = opendir(dir) else { return .failure(Unreadable(detail: "folder not readable: \(StoreFiles.errnoText())")) }
        defer { closedir(d) }
        var names: [String] = []
        var undecodable: [[UInt8]] = []
        while let entry = readdir(d) {
            let bytes: [UInt8] = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                Array(raw.prefix(while: { $0 != 0 }))
            }
            if bytes == [46] || bytes == [46, 46] { continue }
            if let name = String(validating: bytes, as: UTF8.self) { names.append(name) } else { undecodable.append(bytes) }
        }
        return .success((names.sorted(), undecodable))
    }

    /// A name that is not UTF-8, shown with its invalid bytes escaped (`\xff`) so it can be found and renamed.
    static func escaped(_ bytes: [UInt8]) -> String {
        var out = ""
        var i = 0
        while i < bytes.count {
            // Decode the longest valid UTF-8 prefix character by character; escape what does not decode.
            var decoded = false
            for len in 1...4 where i + len <= bytes.count {
                if let s = String(validating: bytes[i..<(i + len)], as: UTF8.self) {
                    out += s; i += len; decoded = true; break
                }
            }
            if !decoded { out += String(format: "\\x%02x", bytes[i]); i += 1 }
        }
        return out
    }
}
