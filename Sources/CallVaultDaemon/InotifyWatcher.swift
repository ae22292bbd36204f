// inotify on Linux: which inbox files were closed after writing, renamed in, written or chmod-ed, and which
// folders appeared.
import CallVault
import Dispatch
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A watch event, by path.
public enum WatchEvent: Sendable, Equatable {
    case closedAfterWrite(String)
    case renamedIn(String)
    /// Written to (IN_MODIFY): whatever close came before, the writer is not done.
    case modified(String)
    /// Owner or mode changed (IN_ATTRIB): an input the vault could not read may be readable now.
    case attributesChanged(String)
    case directoryCreated(String)
    /// The kernel queue overflowed: events were lost, rescan everything.
    case overflow
}

/// Reads inotify through a non-blocking descriptor and a Dispatch read source (a blocking read would starve
/// the cooperative thread pool); events are buffered and drained by the daemon's loop.
public final class InotifyWatcher: @unchecked Sendable {
    private let fd: Int32
    private let lock = NSLock()
    private var watches: [Int32: String] = [:]
    private var pending: [WatchEvent] = []
    private var source: DispatchSourceRead?
    private let queue = DispatchQueue(label: "callvault.inotify")

    public init() throws {
        fd = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        guard fd >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        let s = DispatchSource.makeReadSource(fileDescriptor: fd, queue: queue)
        s.setEventHandler { [weak self] in self?.readEvents() }
        s.resume()
        source = s
    }

    deinit {
        source?.cancel()
        close(fd)
    }

    /// Watches a folder (not recursive: the daemon adds sub-folders as they appear). Returns false if the
    /// folder cannot be watched (then the periodic scan still finds its files).
    @discardableResult
    public func watch(directory: String) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        if watches.values.contains(directory) { return true }
        let mask = UInt32(IN_CLOSE_WRITE) | UInt32(IN_MOVED_TO) | UInt32(IN_CREATE) | UInt32(IN_MODIFY) | UInt32(IN_ATTRIB)
            | UInt32(IN_ONLYDIR) | UInt32(IN_DONT_FOLLOW)
        let wd = inotify_add_watch(fd, directory, mask)
        guard wd >= 0 else { return false }
        watches[wd] = directory
        return true
    }

    /// Events since the last call.
    public func drain() -> [WatchEvent] {
        lock.lock()
        defer { lock.unlock() }
        let out = pending
        pending.removeAll(keepingCapacity: true)
        return out
    }

    private func readEvents() {
        let size = 64 * 1024
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 8)
        defer { buffer.deallocate() }
        while true {
            let n = read(fd, buffer, size)
            if n <= 0 { return }
            var offset = 0
            var batch: [WatchEvent] = []
            lock.lock()
            // struct inotify_event: int wd; uint32 mask, cookie, len; char name[len] (zero-padded).
            while offset + 16 <= n {
                let wd = buffer.loadUnaligned(fromByteOffset: offset, as: Int32.self)
                let mask = buffer.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self)
                let len = Int(buffer.loadUnaligned(fromByteOffset: offset + 12, as: UInt32.self))
                var name = ""
                if len > 0 {
                    let bytes = UnsafeRawBufferPointer(start: buffer + offset + 16, count: len)
                    name = String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
                }
                offset += 16 + len
                if mask & UInt32(IN_Q_OVERFLOW) != 0 { batch.append(.overflow); continue }
                guard let dir = watches[wd], !name.isEmpty else { continue }
                let path = dir + "/" + name
                if mask & UInt32(IN_ISDIR) != 0 {
                    // A folder made readable by chmod can be watched now: treat it as new.
                    if mask & (UInt32(IN_CREATE) | UInt32(IN_MOVED_TO) | UInt32(IN_ATTRIB)) != 0 { batch.append(.directoryCreated(path)) }
                } else if mask & UInt32(IN_MOVED_TO) != 0 {
                    batch.append(.renamedIn(path))
                } else if mask & UInt32(IN_CLOSE_WRITE) != 0 {
                    batch.append(.closedAfterWrite(path))
                } else if mask & UInt32(IN_MODIFY) != 0 {
                    // The kernel merges repeated identical events, so a steady writer costs little.
                    if batch.last != .modified(path) { batch.append(.modified(path)) }
                } else if mask & UInt32(IN_ATTRIB) != 0 {
                    if batch.last != .attributesChanged(path) { batch.append(.attributesChanged(path)) }
                }
            }
            pending.append(contentsOf: batch)
            lock.unlock()
        }
    }
}
