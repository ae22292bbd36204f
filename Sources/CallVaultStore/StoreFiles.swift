// Every file-system effect on the store goes through here: placement, durability, removal.
import CSyscalls
import CallVaultCore
import Crypto
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// File operations under one store root. Paths given to it are relative to the root; the type never
/// follows a symlink it did not create. Errors become `.vaultFailure` VaultErrors naming the operation
/// and the errno text (store paths contain ids only, never caller data).
public struct StoreFiles: Sendable {
    public let root: String

    public init(root: String) { self.root = root }

    public func absolute(_ relative: String) -> String { root + "/" + relative }

    public static func errnoText(_ e: Int32 = errno) -> String { String(cString: strerror(e)) }

    public func fail(_ what: String, _ path: String, _ e: Int32 = errno) -> VaultError {
        VaultError.failure("\(what) \(path): \(Self.errnoText(e))")
    }

    /// `mkdir -p` with 0700 for every directory it creates.
    public func makeDirectories(_ relative: String) throws {
        var path = root
        for part in relative.split(separator: "/") {
            path += "/" + part
            if mkdir(path, 0o700) != 0, errno != EEXIST { throw fail("cannot create directory", path) }
        }
    }

    /// A private (0600, vault-owned), fsynced copy of everything readable from `fd` at `relative`, written under
    /// a hidden `.part` name in the same folder and renamed, so the final name only ever holds a whole copy.
    /// Returns the SHA-256 and size of the bytes written.
    @discardableResult
    public func copyIn(from fd: Int32, to relative: String) throws -> (sha256: String, bytes: Int64) {
        let dest = absolute(relative)
        // Errors name the folder, not the file: a quarantined input keeps the recorder's name, which may hold
        // a phone number.
        let folder = String(dest[..<(dest.lastIndex(of: "/") ?? dest.endIndex)])
        // The temporary name does not grow the input's name: a legal 250-byte name must not become too long.
        let temp = folder + "/." + String(UUID().uuidString.prefix(12)) + ".part"
        let out = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard out >= 0 else { throw fail("cannot create a copy in", folder) }
        var ok = false
        defer {
            close(out)
            if !ok { unlink(temp) }
        }
        guard fchmod(out, 0o600) == 0 else { throw fail("cannot make a copy private in", folder) }
        var hasher = SHA256()
        var total: Int64 = 0
        let size = 1 << 20
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let n = pread(fd, buffer, size, off_t(total))
            if n < 0 { if errno == EINTR { continue }; throw fail("cannot read the input of a copy into", folder) }
            if n == 0 { break }
            hasher.update(bufferPointer: UnsafeRawBufferPointer(start: buffer, count: n))
            var written = 0
            while written < n {
                let w = write(out, buffer + written, n - written)
                if w < 0 { if errno == EINTR { continue }; throw fail("cannot write a copy in", folder) }
                written += w
            }
            total += Int64(n)
            CrashPoint.reached("copy.mid-write")
        }
        guard fsync(out) == 0 else { throw fail("cannot fsync a copy in", folder) }
        guard Glibc.rename(temp, dest) == 0 else { throw fail("cannot rename a copy in", folder) }
        ok = true
        return (Hex.encode(hasher.finalize()), total)
    }

    /// A private, fsynced copy of everything readable from `fd` at `relative` (which must not exist).
    public func copy(from fd: Int32, to relative: String) throws {
        let dest = absolute(relative)
        guard !exists(relative) else { throw fail("cannot create", dest, EEXIST) }  // export: the target names an id
        try copyIn(from: fd, to: relative)
    }

    /// Creates a new small file (never over an existing one) without syncing it: for writes a batch makes
    /// durable with one `syncFileSystem()` before anything depends on them.
    public func createFile(_ data: Data, at relative: String) throws {
        let path = absolute(relative)
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else { throw fail("cannot create", path) }
        defer { close(fd) }
        guard Self.writeAll(fd, data) else { let e = errno; unlink(path); throw fail("cannot write", path, e) }
    }

    static func writeAll(_ fd: Int32, _ data: Data) -> Bool {
        data.withUnsafeBytes { raw -> Bool in
            var done = 0
            while done < raw.count {
                let w = write(fd, raw.baseAddress! + done, raw.count - done)
                if w < 0 { if errno == EINTR { continue }; return false }
                done += w
            }
            return true
        }
    }

    /// Writes a small file atomically and durably (temporary name, fsync, rename).
    public func writeFile(_ data: Data, at relative: String) throws {
        let dest = absolute(relative)
        let temp = dest + ".tmp"
        let fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else { throw fail("cannot create", temp) }
        defer { close(fd) }
        guard Self.writeAll(fd, data) else { let e = errno; unlink(temp); throw fail("cannot write", temp, e) }
        guard fsync(fd) == 0 else { let e = errno; unlink(temp); throw fail("cannot fsync", temp, e) }
        guard Glibc.rename(temp, dest) == 0 else { throw fail("cannot rename", temp) }
    }

    public func rename(_ from: String, to: String) throws {
        guard Glibc.rename(absolute(from), absolute(to)) == 0 else { throw fail("cannot rename", absolute(from)) }
    }

    /// Removes a store file; a file already gone is not an error. Returns whether it existed.
    @discardableResult
    public func remove(_ relative: String) throws -> Bool {
        if unlink(absolute(relative)) == 0 { return true }
        if errno == ENOENT { return false }
        throw fail("cannot remove", absolute(relative))
    }

    /// Removes a store directory and everything below it, without following symlinks; gone already is fine.
    /// An error names the directory given, not a file below it (quarantined inputs keep the recorder's names).
    public func removeTree(_ relative: String) throws {
        func remove(_ path: String) -> Int32? {
            var st = stat()
            guard lstat(path, &st) == 0 else { return errno == ENOENT ? nil : errno }
            if (st.st_mode & S_IFMT) == S_IFDIR {
                let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
                for name in names { if let e = remove(path + "/" + name) { return e } }
                return rmdir(path) == 0 || errno == ENOENT ? nil : errno
            }
            return unlink(path) == 0 || errno == ENOENT ? nil : errno
        }
        if let e = remove(absolute(relative)) { throw fail("cannot remove", absolute(relative), e) }
    }

    /// Bytes free for the vault user on the store's file system.
    public func freeBytes() -> Int64 {
        var st = statvfs()
        guard statvfs(root, &st) == 0 else { return Int64.max }
        return Int64(st.f_bavail) * Int64(st.f_frsize)
    }

    public func exists(_ relative: String) -> Bool {
        var st = stat()
        return lstat(absolute(relative), &st) == 0
    }

    /// Flushes the whole store file system once: file data, new names and renames of a batch become durable
    /// with one wait (syncfs), instead of one fsync per file and directory.
    public func syncFileSystem() throws {
        let fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw fail("cannot open store", root) }
        defer { close(fd) }
        guard syncfs(fd) == 0 else { throw fail("cannot sync store file system", root) }
    }

    /// Names in a store directory (relative), without following symlinks; empty when it does not exist.
    public func list(_ relative: String) -> [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: absolute(relative)))?.sorted() ?? []
    }

    /// A small regular store file's bytes, read without following a link; nil when it does not exist. Larger
    /// than `limit`, or not a regular file, is a vault failure: nothing the vault writes is either.
    public func readSmallFile(_ relative: String, limit: Int) throws -> Data? {
        let path = absolute(relative)
        // O_NONBLOCK: a FIFO put here by hand must not hang the reader before fstat tells what it is.
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)
        if fd < 0 { if errno == ENOENT { return nil }; throw fail("cannot open", path) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw fail("cannot read", path) }
        guard (st.st_mode & S_IFMT) == S_IFREG, st.st_size <= limit else {
            throw VaultError.failure("\(path) is not a regular file of at most \(limit) bytes; the store was changed by hand")
        }
        var data = Data(count: Int(st.st_size))
        var done = 0
        while done < data.count {
            let n = data.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + done, $0.count - done, off_t(done)) }
            if n < 0 { if errno == EINTR { continue }; throw fail("cannot read", path) }
            if n == 0 { break }
            done += n
        }
        return data.prefix(done)
    }

    /// When a store file's data last changed (nil when it does not exist).
    public func modificationTime(_ relative: String) -> Date? {
        var st = stat()
        guard lstat(absolute(relative), &st) == 0 else { return nil }
        return Date(timeIntervalSince1970: Double(st.st_mtim.tv_sec) + Double(st.st_mtim.tv_nsec) / 1e9)
    }

    public func isDirectory(_ relative: String) -> Bool {
        var st = stat()
        return lstat(absolute(relative), &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }
}
