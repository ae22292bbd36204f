// Fixity (SPEC §12): re-read stored audio against the catalog, find strays, and refuse to export altered evidence.
import CallVaultCore
import CallVaultStore
import Crypto
import Dispatch
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// What a fixity run found. `unexpected` holds store-relative paths; the other lists recording ids.
public struct FixityReport: Sendable {
    public var checked = 0
    public var bytes: Int64 = 0
    public var modified: [String] = []
    public var missing: [String] = []
    public var unexpected: [String] = []
    /// Stored calls whose recorder document is not kept (stored before the vault kept them, or removed since):
    /// told, not failed — their ids are in the audit event, for a look.
    public var nativeAbsent = 0
    public var nativeAbsentIDs: [String] = []
    public var ok: Bool { modified.isEmpty && missing.isEmpty && unexpected.isEmpty }
}

/// Which stored audio a run covers and how fast it may read.
public struct FixityOptions: Sendable {
    public var tenant: String?
    /// Only recordings ingested at or after this instant.
    public var since: Date?
    /// Read at most this many bytes per second (nil: as fast as the disk goes).
    public var maxBytesPerSecond: Double?

    public init(tenant: String? = nil, since: Date? = nil, maxBytesPerSecond: Double? = nil) {
        self.tenant = tenant
        self.since = since
        self.maxBytesPerSecond = maxBytesPerSecond
    }
}

public struct Fixity: Sendable {
    public let vault: Vault

    public init(vault: Vault) { self.vault = vault }

    static let officers = Role.officers
    /// Catalog rows per read transaction: a page is read in well under a millisecond, so a run never holds
    /// a snapshot while it reads files, and ingest and the sweeper commit between pages.
    static let pageSize = 256
    /// Paths looked up per read transaction while walking `audio/`.
    static let lookupBatch = 512
    /// The most ids one audit event lists (the counts are always complete).
    static let auditIDLimit = 100

    /// Re-reads every stored audio file of `options`' scope whose audio is present, compares size and
    /// SHA-256 with the catalog, walks `audio/` for files the catalog does not know, records the result
    /// (one audit event, and the summary the daemon's metrics show) and returns it.
    public func run(_ options: FixityOptions, progress: (any RunProgress)? = nil) throws -> FixityReport {
        try vault.require(Self.officers, to: "fixity")
        if let t = options.tenant, !Sidecar.isSafeTenant(t) {
            throw VaultError(.usage, "--tenant \(t): tenant names are [a-z0-9][a-z0-9-]{0,62}")
        }
        let scope = FixityScope(tenant: options.tenant, since: options.since)
        let catalog = vault.catalog
        let totals = try catalog.fixityTotals(scope)
        progress?.start(files: totals.files, bytes: totals.bytes)
        var report = FixityReport()
        var limiter = RateLimiter(bytesPerSecond: options.maxBytesPerSecond)

        var after: Int64 = 0
        while true {
            let page = try catalog.fixityPage(scope, after: after, limit: Self.pageSize)
            guard let last = page.last else { break }
            after = last.rowid
            for item in page {
                var outcome = try check(item, limiter: &limiter, progress: progress)
                // The recorder's document is evidence too: one altered (or replaced by a link) is the call modified.
                if case .matches(let n) = outcome {
                    switch try checkNative(item, limiter: &limiter) {
                    case .some(false): outcome = .modified(n)
                    case .none:
                        report.nativeAbsent += 1
                        if report.nativeAbsentIDs.count < Self.auditIDLimit { report.nativeAbsentIDs.append(item.id) }
                    case .some(true): break
                    }
                }
                switch outcome {
                case .matches(let n):
                    report.checked += 1
                    report.bytes += n
                case .modified(let n):
                    report.checked += 1
                    report.bytes += n
                    report.modified.append(item.id)
                case .missing:
                    // Gone from disk: missing only if the catalog still says present (a sweep may just have run).
                    if try catalog.audioPresent(id: item.id) {
                        report.checked += 1
                        report.missing.append(item.id)
                    }
                }
                progress?.advance(files: 1, bytes: 0)
            }
        }
        report.unexpected = try unexpectedFiles(tenant: options.tenant)

        let now = vault.clock.now()
        var details = ["checked": String(report.checked), "bytes": String(report.bytes), "modified": String(report.modified.count),
                       "missing": String(report.missing.count), "unexpected": String(report.unexpected.count), "ok": String(report.ok),
                       "native_absent": String(report.nativeAbsent)]
        if let t = options.tenant { details["tenant"] = t }
        if let s = options.since { details["since"] = Timestamp.utc(s) }
        // Recording ids only (never the unexpected paths: a stray file's name may carry a phone number).
        if !report.modified.isEmpty { details["modified_ids"] = report.modified.prefix(Self.auditIDLimit).joined(separator: ",") }
        if !report.missing.isEmpty { details["missing_ids"] = report.missing.prefix(Self.auditIDLimit).joined(separator: ",") }
        if !report.nativeAbsentIDs.isEmpty { details["native_absent_ids"] = report.nativeAbsentIDs.joined(separator: ",") }
        let summary = FixitySummary(at: Timestamp.utc(now), checked: report.checked, bytes: report.bytes, modified: report.modified.count,
                                    missing: report.missing.count, unexpected: report.unexpected.count)
        try catalog.recordFixity(summary, event: vault.event(.fixityChecked, target: nil, details: details))
        return report
    }

    enum Outcome {
        case matches(Int64)
        case modified(Int64)
        case missing
    }

    /// Reads one stored file through a descriptor that never follows a symlink.
    func check(_ item: FixityItem, limiter: inout RateLimiter, progress: (any RunProgress)?) throws -> Outcome {
        switch try Self.digest(path: vault.files.absolute(item.audioPath), limiter: &limiter, progress: progress) {
        case .absent:
            return .missing
        case .notARegularFile, .unreadable:
            return .modified(0)
        case .read(let hex, let bytes):
            return hex == item.sha256 && bytes == item.audioBytes ? .matches(bytes) : .modified(bytes)
        }
    }

    /// The recording's sidecar as kept under `native/`: true when it is the document ingest read (its SHA-256
    /// is the row's), false when altered, replaced or unreadable, nil when none is kept — a call stored before
    /// the vault kept them, or (rarely) a document a sweep removed after the audio a crash kept.
    func checkNative(_ item: FixityItem, limiter: inout RateLimiter) throws -> Bool? {
        guard let expected = item.sidecarSHA256 else { return nil }
        let path = vault.files.absolute(Placement.nativeFolder(forAudioPath: item.audioPath) + "/sidecar.json")
        switch try Self.digest(path: path, limiter: &limiter, progress: nil) {
        case .absent: return nil
        case .notARegularFile, .unreadable: return false
        case .read(let hex, _): return hex == expected
        }
    }

    enum FileDigestResult {
        case absent
        /// A symlink, directory, device or FIFO where a stored file should be.
        case notARegularFile
        /// The vault can no longer open or read its own file (owner or mode changed, an I/O error): it cannot be
        /// vouched for, so it is reported with the modified ones and the run goes on.
        case unreadable
        case read(hex: String, bytes: Int64)
    }

    /// SHA-256 and size of the regular file at `path`, streamed through a 1 MiB buffer. O_NOFOLLOW: a symlink
    /// is not the stored file; O_NONBLOCK: a FIFO put in its place cannot hang the run.
    static func digest(path: String, limiter: inout RateLimiter, progress: (any RunProgress)?) throws -> FileDigestResult {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)
        if fd < 0 {
            switch errno {
            case ENOENT, ENOTDIR: return .absent
            case ELOOP, ENXIO: return .notARegularFile
            default: return .unreadable
            }
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { return .unreadable }
        guard (st.st_mode & S_IFMT) == S_IFREG else { return .notARegularFile }
        var hasher = SHA256()
        var total: Int64 = 0
        let size = 1 << 20
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let n = read(fd, buffer.baseAddress, size)
            if n < 0 {
                if errno == EINTR { continue }
                return .unreadable
            }
            if n == 0 { break }
            hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
            total += Int64(n)
            progress?.advance(files: 0, bytes: Int64(n))
            limiter.consumed(n)
        }
        return .read(hex: Hex.encode(hasher.finalize()), bytes: total)
    }

    /// Store-relative paths under `audio/` (or `audio/TENANT`) that are not the present audio of a
    /// recording nor a placement in flight. Symlinks, devices and FIFOs are always unexpected.
    func unexpectedFiles(tenant: String?) throws -> [String] {
        let top = Vault.audioDirectory + (tenant.map { "/" + $0 } ?? "")
        var strays: [String] = []
        var candidates: [String] = []
        func flush() throws {
            guard !candidates.isEmpty else { return }
            let status = try vault.catalog.classifyAudioFiles(candidates)
            // A file that vanished since it was listed was swept or renamed into place by ingest: not a stray.
            strays += candidates.filter { status[$0] != .known && vault.files.exists($0) }
            candidates.removeAll(keepingCapacity: true)
        }
        var directories = [top]
        while let dir = directories.popLast() {
            let listing: (names: [String], undecodable: [[UInt8]])
            switch InboxFiles.list(vault.files.absolute(dir)) {
            case .success(let l): listing = l
            case .failure(let u):
                if dir == top, !vault.files.exists(top) { continue }
                throw VaultError.failure("fixity: cannot list \(dir): \(u.detail)")
            }
            // Never a name the vault wrote (ids and extensions are ASCII): a stray, shown escaped.
            strays += listing.undecodable.map { dir + "/" + InboxFiles.escaped($0) }
            for name in listing.names {
                let rel = dir + "/" + name
                var st = stat()
                guard lstat(vault.files.absolute(rel), &st) == 0 else { continue }  // gone meanwhile
                switch st.st_mode & S_IFMT {
                case S_IFDIR: directories.append(rel)
                case S_IFREG:
                    candidates.append(rel)
                    if candidates.count >= Self.lookupBatch { try flush() }
                default: strays.append(rel)
                }
            }
        }
        try flush()
        return strays.sorted()
    }

    // MARK: export

    /// Before `export` copies a recording: refuses (exit 1, audited) when the stored bytes no longer match
    /// the catalog. Scope and role are checked first, as `export` checks them.
    public func checkBeforeExport(id: String) throws {
        let (row, _) = try Listing(vault: vault).visibleRecording(id: id, action: "export")
        guard row.audioDeletedAt == nil else { return }  // export itself says the audio is gone
        var limiter = RateLimiter(bytesPerSecond: nil)
        let found = try Self.digest(path: vault.files.absolute(row.audioPath), limiter: &limiter, progress: nil)
        try refuseUnlessMatching(found, row, removing: [])
    }

    /// After `export` copied a recording: the copy itself is re-read, so what leaves the vault is exactly
    /// what was checked even if the stored file changed during the copy. A mismatch removes both files.
    public func checkExportedCopy(id: String, audio: String, metadata: String) throws {
        guard let row = try vault.catalog.recording(id: id) else { return }
        var limiter = RateLimiter(bytesPerSecond: nil)
        let found = try Self.digest(path: audio, limiter: &limiter, progress: nil)
        try refuseUnlessMatching(found, row, removing: [audio, metadata])
    }

    func refuseUnlessMatching(_ found: FileDigestResult, _ row: RecordingRow, removing: [String]) throws {
        let why: String
        switch found {
        case .read(_, let bytes) where bytes != row.audioBytes: why = "size"
        case .read(let hex, _) where hex != row.sha256: why = "sha256"
        case .read: return
        case .notARegularFile: why = "not a regular file"
        case .unreadable: why = "unreadable"
        case .absent: return  // export reports a missing file itself
        }
        for p in removing { unlink(p) }
        try vault.catalog.appendAudit([vault.event(.recordingExportRefused, target: row.id, details: ["mismatch": why])])
        throw VaultError.failure("export \(row.id): refused: the stored audio no longer matches the catalog (\(why)); see `callvault fixity`")
    }
}

/// Holds a read rate: after each read, sleeps until the bytes read so far are no longer ahead of the allowed rate.
struct RateLimiter {
    let bytesPerSecond: Double?
    private let started = DispatchTime.now().uptimeNanoseconds
    private var total: Double = 0

    init(bytesPerSecond: Double?) {
        self.bytesPerSecond = bytesPerSecond
    }

    mutating func consumed(_ n: Int) {
        guard let rate = bytesPerSecond, rate > 0 else { return }
        let now = DispatchTime.now().uptimeNanoseconds
        total += Double(n)
        let due = total / rate
        let elapsed = Double(now - started) / 1e9
        if due > elapsed {
            // At most a second per sleep: a rate check is never stuck behind one huge wait.
            let wait = min(due - elapsed, 1)
            usleep(UInt32(wait * 1_000_000))
        }
    }
}
