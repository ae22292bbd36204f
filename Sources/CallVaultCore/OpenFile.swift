// A regular file held by its own descriptor and read at any offset: the stored audio a browser plays, the zip of
// an access bundle whose folder is already gone.
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// An owned descriptor of a regular file of `size` bytes, read with `pread` (no shared file position: safe from
/// any thread). Closed when released.
public final class OpenFile: Sendable {
    public let fd: Int32
    public let size: Int64
    /// What the file is, for errors: "the stored audio".
    let what: String

    public init(fd: Int32, size: Int64, what: String) {
        self.fd = fd
        self.size = size
        self.what = what
    }

    deinit { close(fd) }

    /// Exactly `count` bytes from `offset`.
    public func read(offset: Int64, count: Int) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        var done = 0
        try out.withUnsafeMutableBytes { raw in
            while done < count {
                let n = pread(fd, raw.baseAddress! + done, count - done, off_t(offset + Int64(done)))
                if n < 0 {
                    if errno == EINTR { continue }
                    throw VaultError.failure("cannot read \(what): \(String(cString: strerror(errno)))")
                }
                // The file is never shorter than the size checked at open, unless it was altered since.
                if n == 0 { throw VaultError.failure("\(what) ended \(offset + Int64(done)) bytes in, before the \(size) bytes it had when opened") }
                done += n
            }
        }
        return out
    }
}
