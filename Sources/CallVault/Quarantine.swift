// Quarantine (SPEC §3): rejected inputs become vault-owned private copies with a reason, all or nothing per
// pair; the repair of an interrupted quarantine; and `quarantine retry`, which puts pairs back through ingest.
import CallVaultAudio
import CallVaultCore
import CallVaultStore
import Crypto
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The content of `reason.json` in a quarantine folder. Written after the copies are whole: its presence says
/// the folder holds every input, so repair may finish the move.
struct QuarantineReason: Codable {
    struct Input: Codable {
        var name: String
        var from: String
        /// Of the copy, so repair removes an inbox file only when it is still the file that was copied.
        var sha256: String?
        var bytes: Int64?
    }
    var id: String
    var reason: String
    var detail: String
    var at: String
    var tenant: String?
    /// The inbox sub-folder's tenant, for `quarantine retry` of a sidecar that names none.
    var defaultTenant: String?
    var inputs: [Input]

    enum CodingKeys: String, CodingKey {
        case id, reason, detail, at, tenant, inputs
        case defaultTenant = "default_tenant"
    }

    func encoded() throws -> Data {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try e.encode(self)
    }
}

/// Folder layout: `quarantine/YYYY-MM-DD/ID/reason.json` and the inputs under `…/ID/files/` — apart, so an input
/// named `reason.json` can never overwrite the reason. Stores of the first version kept inputs beside it.
public struct Quarantine: Sendable {
    public let vault: Vault
    static let filesDirectory = "files"

    public init(vault: Vault) { self.vault = vault }

    /// Where a quarantined input lies, relative to the store: under `files/`, or (first version) beside reason.json.
    func inputPath(_ dir: String, _ name: String) -> String {
        let nested = "\(dir)/\(Self.filesDirectory)/\(name)"
        return vault.files.exists(nested) || !vault.files.exists("\(dir)/\(name)") ? nested : "\(dir)/\(name)"
    }

    /// A rejected pair, with the inputs as the check opened them (when it did).
    struct Item {
        var pair: InputPair
        var rejection: Rejection
        var tenant: String?
        var opened: [String: InputFile] = [:]
    }

    /// Room the store keeps free after a quarantine copy: a recorder's huge (or sparse) file must not fill it.
    static let reserveBytes: Int64 = 64 << 20

    /// Quarantines rejected pairs: per pair, private copies of its inputs — from the descriptors the check read,
    /// so what is kept is what was judged — then `reason.json`; one sync for the batch; then the inbox files are
    /// removed (each only while unchanged) and the rejections registered. A pair that cannot be quarantined (an
    /// input the vault cannot read, too big for the room left, a copy that fails) is left in place and reported
    /// as unreadable: one input never stops the others.
    func quarantine(_ items: [Item]) throws -> (rejected: [IngestReport.Rejected], unreadable: [IngestReport.Unreadable]) {
        let files = vault.files
        let now = vault.clock.now()
        let day = String(Timestamp.utc(now).prefix(10))
        var done: [(QuarantineReason, String, Item, [String: FileIdentity])] = []
        var finished: [(QuarantineReason, String)] = []
        var finishedWhole: [IngestReport.Rejected] = []
        var markers: [String] = []
        var unreadable: [IngestReport.Unreadable] = []
        for item in items {
            let pair = item.pair
            let marker = Self.marker(pair)
            markers.append(marker)
            if let (reason, dir) = try finishLeftover(marker: marker) {
                finished.append((reason, dir))
                // The inbox holds nothing more of the pair: the entry the dead worker made is its quarantine.
                if [pair.audio, pair.sidecar].compactMap({ $0 }).allSatisfy({ var st = stat(); return lstat($0, &st) != 0 && errno == ENOENT }) {
                    finishedWhole.append(.init(input: pair.input, reason: item.rejection.reason, detail: item.rejection.detail, quarantinePath: dir))
                    continue
                }
            }
            let id = RecordingID.make(at: now)
            let dir = "\(Vault.quarantineDirectory)/\(day)/\(id)"
            var inputs: [QuarantineReason.Input] = []
            var identities: [String: FileIdentity] = [:]
            var problem: String?
            do {
                try files.makeDirectories("\(dir)/\(Self.filesDirectory)")
                try files.makeDirectories(Placement.stagingDirectory)
                try files.writeFile(Data(dir.utf8), at: marker)
                for path in [pair.audio, pair.sidecar].compactMap({ $0 }) where problem == nil {
                    let file: InputFile
                    if let f = item.opened[path] {
                        file = f
                    } else {
                        switch InboxFiles.open(path) {
                        case .success(let f): file = f
                        case .failure(let u):
                            problem = u.detail
                            continue
                        }
                    }
                    let free = files.freeBytes()
                    if file.size > free - Self.reserveBytes {
                        problem = "cannot be quarantined: \(file.size) bytes, and the store has \(max(free, 0)) bytes free"
                        continue
                    }
                    let name = URL(fileURLWithPath: path).lastPathComponent
                    let copy = try files.copyIn(from: file.fd, to: "\(dir)/\(Self.filesDirectory)/\(name)")
                    inputs.append(.init(name: name, from: absolutePath(path), sha256: copy.sha256, bytes: copy.bytes))
                    identities[path] = file.identity
                    CrashPoint.reached("quarantine.after-copy")
                }
            } catch let e as VaultError {
                problem = "cannot be quarantined (\(item.rejection.reason.rawValue)): \(e.message)"
            }
            if let problem {
                try files.removeTree(dir)
                _ = try files.remove(marker)
                unreadable.append(.init(input: pair.input, detail: problem))
                continue
            }
            let reason = QuarantineReason(id: id, reason: item.rejection.reason.rawValue, detail: item.rejection.detail,
                                          at: Timestamp.utc(now), tenant: item.tenant, defaultTenant: pair.defaultTenant, inputs: inputs)
            try files.writeFile(reason.encoded(), at: dir + "/reason.json")
            CrashPoint.reached("quarantine.after-reason")
            done.append((reason, dir, item, identities))
        }
        guard !done.isEmpty || !finished.isEmpty else { return ([], unreadable) }
        try files.syncFileSystem()
        for (_, _, item, identities) in done {
            for path in [item.pair.audio, item.pair.sidecar].compactMap({ $0 }) {
                try InboxFiles.remove(path, ifStill: identities[path])
            }
            CrashPoint.reached("quarantine.after-remove-input")
        }
        try vault.catalog.commitRejections(done.map { reason, dir, _, _ in row(reason, dir) } + finished.map { row($0, $1) },
                                           events: done.map { reason, _, _, _ in event(reason, repaired: false) }
                                               + finished.map { reason, _ in event(reason, repaired: true) })
        // A marker left after the commit names a registered entry: the next quarantine of the name, or repair,
        // removes it.
        for marker in markers { _ = try? files.remove(marker) }
        return (finishedWhole + done.map { reason, dir, item, _ in
            IngestReport.Rejected(input: item.pair.input, reason: item.rejection.reason, detail: item.rejection.detail, quarantinePath: dir)
        }, unreadable)
    }

    /// The marker of a pair: `staging/<SHA-256 of the pair's key>.quarantine`, holding the entry its worker is
    /// writing. Written before the first copy, removed after the commit. A worker killed in between leaves it,
    /// and the worker that takes the pair over next finishes that entry instead of quarantining the pair a second
    /// time — on a shared store, another live worker's repair leaves an entry younger than a lease alone, and
    /// would register it after the second one. The name is a digest: recorders put numbers in theirs.
    static func marker(_ pair: InputPair) -> String {
        let digest = Hex.encode(SHA256.hash(data: Data(IngestWorker.key(pair).utf8)))
        return "\(Placement.stagingDirectory)/\(digest)\(Placement.quarantineMarkerSuffix)"
    }

    /// What a marker names, when it is a quarantine entry of this store.
    func markedEntry(_ marker: String) throws -> (dir: String, id: String)? {
        guard let data = try vault.files.readSmallFile(marker, limit: 4096) else { return nil }
        let dir = String(decoding: data, as: UTF8.self)
        let parts = dir.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 3, parts[0] == Vault.quarantineDirectory, parts[1].count == 10, parts[1].allSatisfy({ $0.isASCII && ($0.isNumber || $0 == "-") }), RecordingID.isWellFormed(parts[2]) else { return nil }
        return (dir, parts[2])
    }

    /// Finishes the entry a marker names, when the worker that wrote it never registered it: a whole one (with
    /// reason.json) has its inbox files removed, each while still the file that was copied, and is returned to
    /// be registered; an incomplete one is removed. Nil when there is nothing to finish.
    func finishLeftover(marker: String) throws -> (QuarantineReason, String)? {
        let files = vault.files
        guard let (dir, id) = try markedEntry(marker) else {
            _ = try files.remove(marker)
            return nil
        }
        guard try vault.catalog.rejection(id: id) == nil, files.isDirectory(dir) else {
            _ = try files.remove(marker)
            return nil
        }
        guard let data = try? files.readSmallFile(dir + "/reason.json", limit: 1 << 20),
              let reason = try? JSONDecoder().decode(QuarantineReason.self, from: data), reason.id == id else {
            try files.removeTree(dir)
            _ = try files.remove(marker)
            return nil
        }
        try removeOriginals(reason)
        return (reason, dir)
    }

    func row(_ reason: QuarantineReason, _ dir: String) -> RejectionRow {
        RejectionRow(id: reason.id, at: reason.at, tenant: reason.tenant, reason: reason.reason, detail: reason.detail, quarantinePath: dir)
    }

    func event(_ reason: QuarantineReason, repaired: Bool) -> AuditEvent {
        var details = ["reason": reason.reason]
        if let t = reason.tenant { details["tenant"] = t }
        if repaired { details["repaired"] = "true" }
        return vault.event(.ingestRejected, target: reason.id, details: details)
    }

    /// Removes the inbox files of a quarantined pair — each only while it is still the file that was copied
    /// (same size and SHA-256): a recorder that wrote a new file under the name keeps it.
    func removeOriginals(_ reason: QuarantineReason) throws {
        for input in reason.inputs {
            guard let sha = input.sha256 else { continue }
            guard case .success(let file) = InboxFiles.open(input.from), file.size == input.bytes,
                  (try? FileDigest.sha256(fd: file.fd).hex) == sha else { continue }
            try InboxFiles.remove(input.from)
        }
    }

    /// Finishes what a crash interrupted: a folder without `reason.json` holds incomplete copies (the inputs are
    /// still in the inbox) and is removed; a folder with it but unregistered gets its inbox files removed and is
    /// registered, as the interrupted run would have done.
    func repair() throws -> Int {
        let files = vault.files
        var rows: [RejectionRow] = []
        var events: [AuditEvent] = []
        let othersAlive = try vault.isShared && vault.catalog.otherLiveWorkers(than: IngestWorker.of(vault).id) > 0
        for day in files.list(Vault.quarantineDirectory) where files.isDirectory("\(Vault.quarantineDirectory)/\(day)") {
            for id in files.list("\(Vault.quarantineDirectory)/\(day)") {
                let dir = "\(Vault.quarantineDirectory)/\(day)/\(id)"
                guard RecordingID.isWellFormed(id), files.isDirectory(dir) else { continue }
                // On a shared store another live worker may be writing this entry right now: only one older than
                // a lease is left over by a worker that died.
                if othersAlive, let modified = files.modificationTime(dir),
                   vault.clock.fileSystemNow().timeIntervalSince(modified) < vault.configuration.claimLease.approximateSeconds { continue }
                if let (_, deletedAt) = try vault.catalog.rejection(id: id) {
                    // A registered entry; one resolved by `quarantine retry` whose folder a crash left is removed.
                    if deletedAt != nil { try files.removeTree(dir) }
                    continue
                }
                guard let data = FileManager.default.contents(atPath: files.absolute(dir + "/reason.json")),
                      let reason = try? JSONDecoder().decode(QuarantineReason.self, from: data) else {
                    try files.removeTree(dir)
                    continue
                }
                if reason.inputs.allSatisfy({ $0.sha256 != nil }) {
                    try removeOriginals(reason)
                } else {
                    // First version: reason.json came first and inputs were moved one by one; finish the moves.
                    for input in reason.inputs where !files.exists(dir + "/" + input.name) {
                        if case .success(let file) = InboxFiles.open(input.from) {
                            try files.copyIn(from: file.fd, to: dir + "/" + input.name)
                            try files.syncFileSystem()
                            try InboxFiles.remove(input.from)
                        }
                    }
                }
                rows.append(row(reason, dir))
                events.append(event(reason, repaired: true))
            }
        }
        if !rows.isEmpty {
            try files.syncFileSystem()
            try vault.catalog.commitRejections(rows, events: events)
        }
        // Markers of entries now registered or gone; one of an entry still in the making (a live worker's, or a
        // dead one's too young to repair) stays, for whoever takes its pair next.
        for name in files.list(Placement.stagingDirectory) where name.hasSuffix(Placement.quarantineMarkerSuffix) {
            let marker = "\(Placement.stagingDirectory)/\(name)"
            if othersAlive, let modified = files.modificationTime(marker),
               vault.clock.fileSystemNow().timeIntervalSince(modified) < vault.configuration.claimLease.approximateSeconds { continue }
            if let (dir, id) = try markedEntry(marker), files.isDirectory(dir), try vault.catalog.rejection(id: id) == nil { continue }
            _ = try files.remove(marker)
        }
        return rows.count
    }

    func absolutePath(_ path: String) -> String {
        path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
    }
}
