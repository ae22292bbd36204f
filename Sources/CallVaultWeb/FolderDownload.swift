// A folder the use cases write (an access bundle, an evidence bag) sent as one zip: written to a private
// temporary folder, zipped, streamed from the open file in 64 KiB pieces, and gone from the disk at once.
import CallVault
import CallVaultCore
import Foundation
import Hummingbird
import ZIPFoundation
#if canImport(Glibc)
import Glibc
#endif

enum FolderDownload {
    /// Where downloads are written before they are zipped: inside the store (0700, the vault user's), never a
    /// shared /tmp, so a copy of a subject's calls never lies outside the vault, and one a killed server left is
    /// found and removed at the next start (`removeLeftovers`).
    static let directory = "tmp"

    /// `STORE/tmp/web-PID-…` folders of servers no longer running: what a `serve` killed mid-download left.
    static func removeLeftovers(root: String) {
        let dir = root + "/" + directory
        for name in (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [] {
            let parts = name.split(separator: "-")
            guard parts.count >= 3, parts[0] == "web", let pid = Int32(parts[1]) else { continue }
            if pid != getpid(), kill(pid, 0) != 0, errno == ESRCH { try? FileManager.default.removeItem(atPath: dir + "/" + name) }
        }
    }

    /// `write` is given an empty private folder and returns the folder it wrote inside it. `temporary` names
    /// the temporary folder (`STORE/tmp/web-PID-temporary-XXXXXX`).
    static func zip(root: String, temporary: String, _ write: @escaping @Sendable (String) throws -> String) async throws -> Response {
        let (zip, folder, name) = try await blocking { () -> (String, String, String) in
            if mkdir(root + "/" + directory, 0o700) != 0, errno != EEXIST {
                throw VaultError.failure("cannot create \(root)/\(directory): \(String(cString: strerror(errno)))")
            }
            var template = Array((root + "/" + directory + "/web-\(getpid())-" + temporary + "-XXXXXX").utf8CString)
            guard let made = mkdtemp(&template) else { throw VaultError.failure("cannot create a temporary folder: \(String(cString: strerror(errno)))") }
            let folder = String(cString: made)
            do {
                let written = try write(folder + "/bundle")
                let name = URL(fileURLWithPath: written).lastPathComponent
                let zip = folder + "/" + name + ".zip"
                try FileManager().zipItem(at: URL(fileURLWithPath: written), to: URL(fileURLWithPath: zip), compressionMethod: .deflate)
                return (zip, folder, name)
            } catch {
                try? FileManager.default.removeItem(atPath: folder)
                throw error
            }
        }
        // The folder goes at once: the open descriptor keeps the zip readable, and nothing is left behind if the
        // client leaves.
        let fd = open(zip, O_RDONLY | O_CLOEXEC)
        var st = stat()
        let opened = fd >= 0 && fstat(fd, &st) == 0
        try? FileManager.default.removeItem(atPath: folder)
        guard opened else {
            if fd >= 0 { close(fd) }
            throw VaultError.failure("cannot read the download: \(String(cString: strerror(errno)))")
        }
        let length = Int64(st.st_size)
        let file = OpenFile(fd: fd, size: length, what: "the download")
        let body = ResponseBody(contentLength: Int(length)) { writer in
            var offset: Int64 = 0
            while offset < length {
                let at = offset
                let chunk = try await blocking { try file.read(offset: at, count: Int(min(64 * 1024, length - at))) }
                if chunk.isEmpty { break }
                try await writer.write(ByteBuffer(bytes: chunk))
                offset += Int64(chunk.count)
            }
            try await writer.finish(nil)
        }
        var r = Response(status: .ok, body: body)
        r.headers[.contentType] = "application/zip"
        r.headers[.contentDisposition] = "attachment; filename=\"\(name).zip\""
        return r
    }

    /// A HEAD of a zip download: its type, without writing it (its length is known only once written).
    static func headResponse() -> Response {
        var r = Response(status: .ok)
        r.headers[.contentType] = "application/zip"
        return r
    }
}
