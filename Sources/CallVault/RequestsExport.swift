// The answer to an access request (art. 15): a folder with the subject's calls, their audio, a manifest of
// hashes and a README in the tenant's language.
import CallVaultAudio
import CallVaultCore
import CallVaultStore
import Crypto
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One file of an access bundle, as manifest.json lists it.
public struct BundleFile: Sendable, Equatable {
    public var path: String
    public var sha256: String
    public var bytes: Int64
}

/// What `request export` wrote.
public struct RequestBundle: Sendable {
    /// DIR/REF
    public var folder: String
    public var calls: Int
    public var audioFiles: Int
    /// Every file but manifest.json, sorted by path.
    public var files: [BundleFile]
}

public struct RequestExport: Sendable {
    public let vault: Vault

    public init(vault: Vault) { self.vault = vault }

    /// Writes `directory/REF/` for an access request. Nothing of anyone else: only the request's calls, and of
    /// their metadata none of the agent's (id, team). Audited with the calls, the files and their hashes.
    /// `language`: the subject's (nl, fr, en); the tenant's by default.
    /// The checks `write` makes before writing anything (role, request, kind), for a request that writes nothing.
    public func check(id: String) throws {
        let requests = Requests(vault: vault)
        try vault.require(Requests.officers, to: "request export")
        let r = try requests.existing(id, action: "request export")
        try requests.requireKind(r, [.access], action: "export")
    }

    public func write(id: String, into directory: String, language: String? = nil) throws -> RequestBundle {
        if let language, AccessReadme.texts[language] == nil { throw VaultError(.usage, "--language: nl, fr or en") }
        let requests = Requests(vault: vault)
        try vault.require(Requests.officers, to: "request export")
        let r = try requests.existing(id, action: "request export")
        try requests.requireKind(r, [.access], action: "export")
        // Re-checked against the subjects: a call whose number was rectified since it was found is another
        // person's now, and is not sent.
        let subjects = Set(try vault.catalog.requestSubjects(id: id))
        let key = try SubjectKey.load(vault)
        let calls = try vault.catalog.requestCalls(id: id).compactMap(\.row)
            .filter { row in [row.caller, row.callee].contains { $0.map { subjects.contains(key.hash($0)) } ?? false } }
            .sorted { ($0.startedAt, $0.id) < ($1.startedAt, $1.id) }

        if mkdir(directory, 0o700) != 0, errno != EEXIST {
            throw VaultError.failure("cannot create \(directory): \(String(cString: strerror(errno)))")
        }
        let folder = directory + "/" + r.reference
        guard mkdir(folder, 0o700) == 0 else {
            if errno == EEXIST { throw VaultError(.usage, "--to: \(folder) exists already; choose another folder (an export never overwrites)") }
            throw VaultError.failure("cannot create \(folder): \(String(cString: strerror(errno)))")
        }
        let quarantine = try requests.quarantineCopies(r).map(\.copy)
        do {
            return try fill(folder: folder, request: r, calls: calls, quarantine: quarantine, language: language)
        } catch {
            // A half-written bundle must not be sent: remove it, the error says why.
            try? StoreFiles(root: directory).removeTree(r.reference)
            throw error
        }
    }

    func fill(folder: String, request r: RequestRow, calls: [RecordingRow], quarantine: [QuarantineCopy], language chosen: String?) throws -> RequestBundle {
        let out = StoreFiles(root: folder)
        try out.makeDirectories("audio")
        var files: [BundleFile] = []
        var audioNames: [String: (original: String, playable: String?)] = [:]
        for row in calls where row.audioDeletedAt == nil {
            let ext = URL(fileURLWithPath: row.audioPath).pathExtension
            let name = "audio/\(row.id).\(ext.isEmpty ? "audio" : ext)"
            let fd = open(vault.files.absolute(row.audioPath), O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
            guard fd >= 0 else { throw VaultError.failure("export: cannot read the audio of \(row.id): \(String(cString: strerror(errno)))") }
            defer { close(fd) }
            let (sha, bytes) = try out.copyIn(from: fd, to: name)
            // SPEC §12: never hand out audio whose bytes no longer match the catalog.
            guard sha == row.sha256 else {
                try vault.catalog.appendAudit([vault.event(.recordingExportRefused, target: row.id, details: [
                    "mismatch": "sha256", "action": "request export", "request": r.id, "segment": "whole file"])])
                throw VaultError.failure("export: the audio of \(row.id) no longer matches its SHA-256 in the catalog (run `callvault fixity`); nothing exported")
            }
            files.append(BundleFile(path: name, sha256: sha, bytes: bytes))
            // The player's own choice: where it would transcode (G.711, GSM, AIFF…), the bundle gets the very WAV
            // it plays beside the original.
            var playable: String?
            let copyFD = dup(fd)
            guard copyFD >= 0 else { throw VaultError.failure("export: cannot read the audio of \(row.id): \(String(cString: strerror(errno)))") }
            let stored = VerifiedAudio(fd: copyFD, size: bytes, sha256: row.sha256, segments: row.segmentSHA256.flatMap(SegmentDigests.init(text:)))
            do {
                let audio = try BrowserAudio.playable(stored, frames: row.frames)
                if audio.form == .transcoded {
                    let copy = "audio/\(row.id).playable.wav"
                    var data = Data(capacity: Int(audio.length))
                    while Int64(data.count) < audio.length {
                        let part = try audio.read(offset: Int64(data.count), count: BrowserAudio.maxReadCount)
                        guard !part.isEmpty else { break }
                        data.append(contentsOf: part)
                    }
                    try out.writeFile(data, at: copy)
                    files.append(BundleFile(path: copy, sha256: Hex.encode(SHA256.hash(data: data)), bytes: Int64(data.count)))
                    playable = copy
                }
            } catch let altered as AudioAltered {
                try vault.catalog.appendAudit([vault.event(.recordingExportRefused, target: row.id, details: [
                    "mismatch": "sha256", "action": "request export", "request": r.id, "segment": altered.segment.map(String.init) ?? "whole file"])])
                throw VaultError.failure("export: the audio of \(row.id) changed while it was exported (run `callvault fixity`); nothing exported")
            }
            audioNames[row.id] = (name, playable)
        }
        let tenant = r.tenant.flatMap { vault.configuration.tenants[$0] }
        let language = chosen ?? tenant?.language ?? Set(vault.configuration.tenants.values.map(\.language)).onlyElement ?? "en"
        let now = vault.clock.now()
        let documents: [(String, Data)] = [
            ("calls.json", try callsJSON(r, calls, audioNames, quarantine: quarantine, now: now)),
            ("calls.csv", callsCSV(calls, audioNames)),
            ("README.txt", Data(AccessReadme.text(language: language, reference: r.reference, calls: calls.count, exportedAt: now,
                                                  parts: controllerships(r, calls), quarantined: quarantine.count,
                                                  quarantinePeriod: vault.configuration.quarantineRetention)
                .utf8)),
        ]
        for (name, data) in documents {
            try out.writeFile(data, at: name)
            files.append(BundleFile(path: name, sha256: Hex.encode(SHA256.hash(data: data)), bytes: Int64(data.count)))
        }
        files.sort { $0.path < $1.path }
        let manifest: [String: Any] = [
            "request_id": r.id, "reference": r.reference, "created_at": Timestamp.utc(now),
            "files": files.map { ["path": $0.path, "sha256": $0.sha256, "bytes": $0.bytes] as [String: Any] },
        ]
        try out.writeFile(try JSONSerialization.data(withJSONObject: manifest, options: [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]),
                          at: "manifest.json")
        try out.syncFileSystem()
        try vault.catalog.appendAudit([vault.event(.requestExported, target: r.id, details: [
            "calls": String(calls.count), "recordings": calls.map(\.id).joined(separator: ","), "quarantine": String(quarantine.count),
            "files": files.map { "\($0.path)=\($0.sha256)" }.joined(separator: ","),
        ])])
        return RequestBundle(folder: folder, calls: calls.count, audioFiles: audioNames.count, files: files)
    }

    func zone(_ tenant: String) -> TimeZone { vault.configuration.zone(forTenant: tenant) }

    /// `2026-11-20 10:14:03 +01:00` on the tenant's wall clock: for people, not for scripts.
    func local(_ utc: String?, _ tenant: String) -> String? {
        guard let utc, let d = Timestamp.parse(utc) else { return nil }
        let offset = zone(tenant).secondsFromGMT(for: d)
        let text = Timestamp.utc(d.addingTimeInterval(Double(offset)))
        let sign = offset < 0 ? "-" : "+"
        let h = abs(offset) / 3600, m = abs(offset) / 60 % 60
        return String(text.prefix(10)) + " " + String(text.dropFirst(11).prefix(8)) + " " + sign + String(format: "%02d:%02d", h, m)
    }

    func callsJSON(_ r: RequestRow, _ calls: [RecordingRow], _ audio: [String: (original: String, playable: String?)],
                   quarantine: [QuarantineCopy], now: Date) throws -> Data {
        // Coaches' notes on a call are their assessment of the agent, mostly the agent's personal data and the
        // coach's (art. 15(4): the rights of others): the bundle says how many there are, not what they say.
        let notes = try vault.catalog.noteCounts(recordingIDs: calls.map(\.id))
        let list: [[String: Any]] = calls.map { c in
            [
                "recording_id": c.id, "call_id": c.callID, "tenant": c.tenant, "time_zone": zone(c.tenant).identifier,
                "started_at": local(c.startedAt, c.tenant)!, "ended_at": nullable(local(c.endedAt, c.tenant)),
                "duration_s": c.durationS, "direction": c.direction, "caller": nullable(c.caller), "callee": nullable(c.callee),
                "queue": nullable(c.queue), "audio_file": nullable(audio[c.id]?.original),
                "playable_copy": nullable(audio[c.id]?.playable ?? nil), "audio_deleted_at": nullable(local(c.audioDeletedAt, c.tenant)),
                "audio_kept_until": local(c.audioExpiresAt, c.tenant)!, "metadata_kept_until": local(c.metadataExpiresAt, c.tenant)!,
                "coaching_notes": notes[c.id] ?? 0,
            ]
        }
        // Refused at intake, not used, deleted when the quarantine period ends: listed, their bytes not sent.
        let period = vault.configuration.quarantineRetention
        let held: [[String: Any]] = quarantine.map { q in
            ["quarantined_at": q.at, "reason": q.reason,
             "deleted_at_the_latest": Timestamp.parse(q.at).map { Timestamp.utc(period.added(to: $0, in: vault.configuration.timeZone)) } ?? NSNull()]
        }
        let doc: [String: Any] = ["reference": r.reference, "exported_at": Timestamp.utc(now), "calls": list, "quarantine": held]
        return try JSONSerialization.data(withJSONObject: doc, options: [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes])
    }

    /// A JSON value or null.
    func nullable(_ v: Any?) -> Any { v ?? NSNull() }

    static let csvColumns = ["recording_id", "call_id", "tenant", "started_at", "ended_at", "duration_s", "direction", "caller", "callee",
                             "queue", "audio_file", "playable_copy", "audio_deleted_at", "audio_kept_until", "metadata_kept_until"]

    func callsCSV(_ calls: [RecordingRow], _ audio: [String: (original: String, playable: String?)]) -> Data {
        var lines = [Self.csvColumns.joined(separator: ",")]
        for c in calls {
            let cells: [String?] = [c.id, c.callID, c.tenant, local(c.startedAt, c.tenant), local(c.endedAt, c.tenant),
                                    String(c.durationS), c.direction, c.caller, c.callee, c.queue, audio[c.id]?.original,
                                    audio[c.id]?.playable ?? nil, local(c.audioDeletedAt, c.tenant), local(c.audioExpiresAt, c.tenant),
                                    local(c.metadataExpiresAt, c.tenant)]
            lines.append(cells.map { CSVCell.text($0 ?? "") }.joined(separator: ","))
        }
        return Data((lines.joined(separator: "\r\n") + "\r\n").utf8)
    }

    /// The controllers the answer is from: the request's tenant, or (an older request across tenants) those of its calls.
    func controllerships(_ r: RequestRow, _ calls: [RecordingRow]) -> [AccessReadme.Controllership] {
        let names = r.tenant.map { [$0] } ?? Set(calls.map(\.tenant)).sorted()
        return names.map { name in
            let t = vault.configuration.tenants[name]
            let p = t?.retention ?? vault.configuration.defaultRetention
            return AccessReadme.Controllership(controller: t?.controller, country: t?.country, audio: p.audio, metadata: p.metadata)
        }
    }
}

/// RFC 4180 cells a spreadsheet cannot read as a formula (SPEC §12): `= + - @` TAB CR first gets a `'`,
/// except an E.164 number, which stays readable.
enum CSVCell {
    static func text(_ s: String) -> String {
        var v = s
        let e164 = v.hasPrefix("+") && v.count > 7 && v.dropFirst().allSatisfy(\.isASCIIDigitCharacter)
        if let first = v.unicodeScalars.first, "=+-@\t\r".unicodeScalars.contains(first), !e164 { v = "'" + v }
        return v.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) ? "\"" + v.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : v
    }
}

extension Character {
    fileprivate var isASCIIDigitCharacter: Bool { isASCII && isNumber }
}

extension Set {
    /// The element of a one-element set.
    fileprivate var onlyElement: Element? { count == 1 ? first : nil }
}
