// SHA-256 of a file's bytes, streamed through one 1 MiB buffer (memory does not grow with the file).
import CallVaultCore
import Crypto
import Foundation
#if canImport(Glibc)
import Glibc
#endif

public enum FileDigest {
    /// Hex SHA-256 of everything readable from `fd`, from offset 0. Throws on a read error.
    public static func sha256(fd: Int32) throws -> (hex: String, bytes: Int64) {
        var hasher = SHA256()
        var total: Int64 = 0
        let size = 1 << 20
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 16)
        defer { buffer.deallocate() }
        var offset: off_t = 0
        while true {
            let n = pread(fd, buffer.baseAddress, size, offset)
            if n < 0 {
                if errno == EINTR { continue }
                throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
            }
            if n == 0 { break }
            hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
            total += Int64(n)
            offset += off_t(n)
        }
        return (Hex.encode(hasher.finalize()), total)
    }
}
