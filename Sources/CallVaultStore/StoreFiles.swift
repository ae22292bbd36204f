// Every file-system effect on the store goes through here: placement, durability, removal.
import CSyscalls
import CallVaultCore
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

    static func errnoText(_ e: Int32 = errno) -> String { String(cString: strerror(e)) }

    func fail(_ what: String, _ path: String, _ e: Int32 = errno) -> VaultError {
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

    /// Puts the bytes of `source` at `destination` (relative): a hard link when possible (same file system,
    /// same owner), else a copy through a fixed buffer followed by fsync. Returns true when linked.
    @discardableResult
    public func place(source: String, sourceFD: Int32, at destination: String) throws -> Bool {
        let dest = absolute(destination)
        if link(source, dest) == 0 {
            if chmod(dest, 0o600) == 0 { return true }
            // Not our file to chmod: fall back to a private copy.
            unlink(dest)
        } else if errno == EEXIST {
            throw fail("cannot place audio at", dest)
        }
        try copy(fd: sourceFD, to: dest)
        return false
    }

    /// A private, fsynced copy of everything readable from `fd` at `relative` (which must not exist).
    public func copy(from fd: Int32, to relative: String) throws {
        try copy(fd: fd, to: absolute(relative))
    }

    func copy(fd: Int32, to dest: String) throws {
        let out = open(dest, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard out >= 0 else { throw fail("cannot create", dest) }
        var ok = false
        defer {
            close(out)
            if !ok { unlink(dest) }
        }
        let size = 1 << 20
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 16)
        defer { buffer.deallocate() }
        var offset: off_t = 0
        while true {
            let n = pread(fd, buffer, size, offset)
            if n < 0 { if errno == EINTR { continue }; throw fail("cannot read input for", dest) }
            if n == 0 { break }
            var written = 0
            while written < n {
                let w = write(out, buffer + written, n - written)
                if w < 0 { if errno == EINTR { continue }; throw fail("cannot write", dest) }
                written += w
            }
            offset += off_t(n)
        }
        guard fsync(out) == 0 else { throw fail("cannot fsync", dest) }
        ok = true
    }

    /// Writes a small file atomically and durably (temporary name, fsync, rename).
    public func writeFile(_ data: Data, at relative: String) throws {
        let dest = absolute(relative)
        let temp = dest + ".tmp"
        let fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else { throw fail("cannot create", temp) }
        defer { close(fd) }
        let ok = data.withUnsafeBytes { raw -> Bool in
            var done = 0
            while done < raw.count {
                let w = write(fd, raw.baseAddress! + done, raw.count - done)
                if w < 0 { if errno == EINTR { continue }; return false }
                done += w
            }
            return true
        }
        guard ok else { let e = errno; unlink(temp); throw fail("cannot write", temp, e) }
        guard fsync(fd) == 0 else { let e = errno; unlink(temp); throw fail("cannot fsync", temp, e) }
        guard Glibc.rename(temp, dest) == 0 else { throw fail("cannot rename", temp) }
    }

    public func rename(_ from: String, to: String) throws {
        guard Glibc.rename(absolute(from), absolute(to)) == 0 else { throw fail("cannot rename", absolute(from)) }
    }

    /// Moves an input file (outside the store) into the store: rename when on the same file system,
    /// else copy + fsync + rename, and only then unlink the source.
    public func moveIn(source: String, to relative: String) throws {
        let dest = absolute(relative)
        if Glibc.rename(source, dest) == 0 {
            // A renamed file keeps the writer's mode; quarantine is as private as the vault.
            guard chmod(dest, 0o600) == 0 else { throw fail("cannot make private", dest) }
            return
        }
        guard errno == EXDEV else { throw fail("cannot move input to", dest) }
        let fd = open(source, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else { throw fail("cannot open", source) }
        defer { close(fd) }
        try copy(fd: fd, to: dest + ".tmp")
        guard Glibc.rename(dest + ".tmp", dest) == 0 else { throw fail("cannot rename", dest) }
        try syncFileSystem()
        guard unlink(source) == 0 || errno == ENOENT else { throw fail("cannot remove", source) }
    }

    /// Removes a store file; a file already gone is not an error. Returns whether it existed.
    @discardableResult
    public func remove(_ relative: String) throws -> Bool {
        if unlink(absolute(relative)) == 0 { return true }
        if errno == ENOENT { return false }
        throw fail("cannot remove", absolute(relative))
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

    public func isDirectory(_ relative: String) -> Bool {
        var st = stat()
        return lstat(absolute(relative), &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }
}
