// The placement protocol of stored audio (SPEC §3, §12): stage an independent copy, record the intent, sync,
// rename into place, commit, or undo — and the repair of what a crash left. Owns the audio layout of the store.
import CSyscalls
import CallVaultCore
import Crypto
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A vault-owned private copy of one input's audio, made through the descriptor the vault opened, with the
/// SHA-256 and size of exactly the bytes copied. No path or descriptor outside the store reaches its inode, so
/// what is probed, hashed and later stored cannot change behind the vault's back.
public final class StagedAudio: Sendable {
    /// Open for reading: the probe and the announcement check read the copy, never the input.
    public let fd: Int32
    /// Relative to the store root (under `staging/`).
    public let path: String
    public let sha256: String
    public let bytes: Int64
    /// Of each 1 MiB of the same bytes, for checking a range on its way out (`VerifiedAudio`).
    public let segments: SegmentDigests

    init(fd: Int32, path: String, sha256: String, bytes: Int64, segments: SegmentDigests) {
        self.fd = fd; self.path = path; self.sha256 = sha256; self.bytes = bytes; self.segments = segments
    }

    deinit { close(fd) }
}

/// Why staging failed: the input could not be read (its problem: left in place, reported), it grew past the
/// maximum while being read, or the store could not be written (a vault failure).
public enum StagingFailure: Error {
    case inputUnreadable(String)
    case tooLarge(Int64)
    case vault(VaultError)
}

/// One recording to place: its staged copy, its final store path, and the recorder's documents about it
/// (file name → bytes, verbatim), which are placed in its native folder with it.
public struct PlacementItem: Sendable {
    public var recordingID: String
    public var staged: StagedAudio
    public var audioPath: String
    public var native: [String: Data]

    public init(recordingID: String, staged: StagedAudio, audioPath: String, native: [String: Data] = [:]) {
        self.recordingID = recordingID; self.staged = staged; self.audioPath = audioPath; self.native = native
    }
}

/// The ingest worker a placement belongs to, when several share the store (a PostgreSQL catalog).
public struct WorkerScope: Sendable {
    public var worker: String
    /// How long a worker's lease lasts: a staged copy older than that belongs to no live check.
    public var lease: TimeInterval

    public init(worker: String, lease: TimeInterval) {
        self.worker = worker
        self.lease = lease
    }
}

public struct Placement: Sendable {
    public static let stagingDirectory = "staging"
    public static let nativeDirectory = "native"
    /// The name a `callvault.call/1` sidecar is kept under in a recording's native folder.
    public static let sidecarDocument = "sidecar.json"

    /// A recording's native folder, derived from its audio path (`audio/T/Y/M/D/ID.wav` →
    /// `native/T/Y/M/D/ID`): repair, sweep and erasure find it from the row alone, and the recorder's own
    /// file names (which may carry numbers) never become store names.
    public static func nativeFolder(forAudioPath audioPath: String) -> String {
        var rest = Substring(audioPath)
        if let slash = rest.firstIndex(of: "/") { rest = rest[rest.index(after: slash)...] }
        if let dot = rest.lastIndex(of: "."), !rest[dot...].contains("/") { rest = rest[..<dot] }
        return nativeDirectory + "/" + rest
    }
    public let files: StoreFiles
    public let catalog: Catalog
    /// nil: the only ingest on this store (SQLite, under the store's ingest lock).
    public let scope: WorkerScope?

    public init(files: StoreFiles, catalog: Catalog, scope: WorkerScope? = nil) {
        self.files = files; self.catalog = catalog; self.scope = scope
    }

    /// Copies everything readable from `input` (the descriptor the vault opened and checked) into
    /// `staging/ID.tmp`, hashing the bytes as they are written: one read pass over the input. A copy-on-write
    /// clone (FICLONE) is used where the file system offers one — it is as independent as a copy — and is then
    /// hashed. The copy is 0600 and owned by the vault user whatever the input's owner and mode.
    public func stage(from input: Int32, id: String, maxBytes: Int64) throws(StagingFailure) -> StagedAudio {
        do { try files.makeDirectories(Self.stagingDirectory) } catch { throw .vault(error as? VaultError ?? .failure("\(error)")) }
        let relative = "\(Self.stagingDirectory)/\(id).tmp"
        let path = files.absolute(relative)
        let out = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard out >= 0 else { throw .vault(files.fail("cannot create", path)) }
        var ok = false
        defer { if !ok { close(out); unlink(path) } }
        // The umask can only remove bits; fchmod makes 0600 explicit whatever the process umask.
        guard fchmod(out, 0o600) == 0 else { throw .vault(files.fail("cannot make private", path)) }

        var hasher = SHA256()
        var segments = SegmentDigests.Accumulator()
        var total: Int64 = 0
        let size = 1 << 20
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 16)
        defer { buffer.deallocate() }
        if callvault_ficlone(out, input) == 0 {
            // The clone holds the input's bytes as of this instant; hash the clone, not the input.
            while true {
                let n = pread(out, buffer, size, off_t(total))
                if n < 0 { if errno == EINTR { continue }; throw .vault(files.fail("cannot read", path)) }
                if n == 0 { break }
                hasher.update(bufferPointer: UnsafeRawBufferPointer(start: buffer, count: n))
                segments.update(UnsafeRawBufferPointer(start: buffer, count: n))
                total += Int64(n)
                if total > maxBytes { throw .tooLarge(total) }
            }
        } else {
            while true {
                let n = pread(input, buffer, size, off_t(total))
                if n < 0 {
                    if errno == EINTR { continue }
                    throw .inputUnreadable("cannot read: \(StoreFiles.errnoText())")
                }
                if n == 0 { break }
                hasher.update(bufferPointer: UnsafeRawBufferPointer(start: buffer, count: n))
                segments.update(UnsafeRawBufferPointer(start: buffer, count: n))
                var written = 0
                while written < n {
                    let w = write(out, buffer + written, n - written)
                    if w < 0 { if errno == EINTR { continue }; throw .vault(files.fail("cannot write", path)) }
                    written += w
                }
                total += Int64(n)
                if total > maxBytes { throw .tooLarge(total) }
                CrashPoint.reached("ingest.mid-stage")
            }
        }
        ok = true
        return StagedAudio(fd: out, path: relative, sha256: Hex.encode(hasher.finalize()), bytes: total, segments: segments.finish())
    }

    /// Where a recording's native documents wait in staging until they are renamed into place with its audio.
    static func stagedNativeFolder(_ recordingID: String) -> String { "\(stagingDirectory)/\(recordingID).native" }

    /// Names in staging that say which quarantine entry a pair's worker was writing (see `Quarantine`): they are
    /// the quarantine's to finish, not copies of an interrupted evaluation.
    public static let quarantineMarkerSuffix = ".quarantine"

    /// Replaces a staged copy with bytes derived from it (a redaction): `write` fills `staging/ID.derived` from
    /// the copy, which is then staged as the copy to store — hashed and digested like any input — and the
    /// received copy is dropped. A crash in between leaves only staging files, which repair removes.
    public func restage(_ staged: StagedAudio, id: String, write: (_ from: Int32, _ to: Int32) throws -> Void) throws -> StagedAudio {
        let relative = "\(Self.stagingDirectory)/\(id).derived"
        let path = files.absolute(relative)
        let out = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard out >= 0 else { throw files.fail("cannot create", path) }
        defer { close(out); unlink(path) }
        guard fchmod(out, 0o600) == 0 else { throw files.fail("cannot make private", path) }
        try write(staged.fd, out)
        CrashPoint.reached("ingest.after-derive")
        discard(staged)
        do { return try stage(from: out, id: id, maxBytes: .max) } catch {
            switch error {
            case .vault(let e): throw e
            case .inputUnreadable(let detail): throw VaultError.failure("cannot read \(relative): \(detail)")
            case .tooLarge: throw VaultError.failure("\(relative): too large")
            }
        }
    }

    /// Drops a staged copy that will not be stored (its pair was rejected or is a duplicate).
    public func discard(_ staged: StagedAudio) {
        unlink(files.absolute(staged.path))
    }

    /// Makes a batch of staged copies the stored audio, in the order that survives kill -9 at any step:
    /// intent recorded → native documents staged → data synced → renamed into place (audio, then its native
    /// folder) → names synced → `commit` (the catalog rows, which clear the intent in the same transaction). On
    /// any failure every placed name is removed again and the intent cleared, so the inputs (still in the
    /// inbox) can be retried. Repair finds an uncommitted native folder from the intent's audio path.
    public func place(_ items: [PlacementItem], commit: () throws -> Void) throws {
        try catalog.recordPending(items.map { PendingPlacement(recordingID: $0.recordingID, audioPath: $0.audioPath, tempPath: $0.staged.path,
                                                                worker: scope?.worker) })
        CrashPoint.reached("ingest.after-pending")
        var committing = false
        do {
            for item in items where !item.native.isEmpty {
                let folder = Self.stagedNativeFolder(item.recordingID)
                try files.makeDirectories(folder)
                for (name, data) in item.native { try files.createFile(data, at: folder + "/" + name) }
            }
            try files.syncFileSystem()
            CrashPoint.reached("ingest.after-sync")
            var made = Set<String>()   // a batch shares a few day folders: one mkdir walk each
            for item in items {
                let dir = String(item.audioPath[..<item.audioPath.lastIndex(of: "/")!])
                if made.insert(dir).inserted { try files.makeDirectories(dir) }
                try files.rename(item.staged.path, to: item.audioPath)
                CrashPoint.reached("ingest.after-rename")
                if !item.native.isEmpty {
                    let native = Self.nativeFolder(forAudioPath: item.audioPath)
                    let parent = String(native[..<native.lastIndex(of: "/")!])
                    if made.insert(parent).inserted { try files.makeDirectories(parent) }
                    try files.rename(Self.stagedNativeFolder(item.recordingID), to: native)
                    CrashPoint.reached("ingest.after-rename-native")
                }
            }
            try files.syncFileSystem()
            CrashPoint.reached("ingest.after-sync-renames")
            committing = true
            try commit()
            CrashPoint.reached("ingest.after-commit")
        } catch {
            // A commit to a server that failed may still have committed (the connection broke after COMMIT was
            // sent): the placed files then belong to stored rows. They stay, with their intent, for repair to decide
            // from the catalog once it answers (intent still there: not committed, undo; gone: committed, keep).
            let undone = error is Catalog.PlacementUndone
            if committing, !undone, catalog.db.dialect == .postgres { throw error }
            for item in items {
                _ = try? files.remove(item.staged.path)
                _ = try? files.remove(item.audioPath)
                try? files.removeTree(Self.stagedNativeFolder(item.recordingID))
                try? files.removeTree(Self.nativeFolder(forAudioPath: item.audioPath))
            }
            try? catalog.clearPending(items.map(\.recordingID))
            if let undone = error as? Catalog.PlacementUndone { throw VaultError.failure(undone.message) }
            throw error
        }
    }

    /// Undoes placements whose row never committed (both names are orphans: no row exists for a pending
    /// placement) and empties staging (a copy there belongs to an evaluation a crash interrupted). Callers hold
    /// the ingest lock, so no other process is staging. Returns the number of orphans removed.
    public func repair(now: Date = Date()) throws -> Int {
        var removed = 0
        let pending = try scope.map { try catalog.takeOverAbandonedPlacements(worker: $0.worker) } ?? catalog.pendingPlacements()
        for p in pending {
            // The staged native folder first: its placer, if still alive, can then no longer rename it into place.
            try files.removeTree(Self.stagedNativeFolder(p.recordingID))
            let a = try files.remove(p.tempPath)
            let b = try files.remove(p.audioPath)
            let native = Self.nativeFolder(forAudioPath: p.audioPath)
            let c = files.exists(native)
            try files.removeTree(native)
            if a || b || c { removed += 1 }
        }
        // Staging is shared by every worker on the store: while another worker is alive, only a copy older than a
        // lease is nobody's any more; with no other worker alive, none is anybody's.
        let othersAlive = try scope.map { try catalog.otherLiveWorkers(than: $0.worker) > 0 } ?? false
        for name in files.list(Self.stagingDirectory) where !name.hasSuffix(Self.quarantineMarkerSuffix) {
            let path = "\(Self.stagingDirectory)/\(name)"
            if othersAlive, let scope, let modified = files.modificationTime(path), now.timeIntervalSince(modified) < scope.lease { continue }
            if files.isDirectory(path) {
                try files.removeTree(path)
                removed += 1
            } else if try files.remove(path) { removed += 1 }
        }
        if !pending.isEmpty {
            try files.syncFileSystem()
            try catalog.clearPending(pending.map(\.recordingID))
        }
        return removed
    }
}
