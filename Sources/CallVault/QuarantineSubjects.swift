// The quarantine's copies of a data subject's calls (SPEC §14): a pair refused at ingest is still the subject's
// personal data, so an access request lists it and an erasure deletes it with the stored calls.
import CallVaultCore
import CallVaultStore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A quarantine entry whose sidecar names a subject of a request, as caller or callee. No file names: a
/// recorder may put the caller's number in them.
public struct QuarantineCopy: Sendable, Equatable {
    public var id: String
    /// When it was quarantined (UTC).
    public var at: String
    public var reason: String
    public var files: Int
    public var bytes: Int64
}

extension Quarantine {
    /// A sidecar bigger than this is not read for numbers: the largest a recorder writes is far smaller, and a
    /// quarantined one may be anything.
    static let subjectScanLimit = 1 << 20

    /// The entries among `rows` (live ones) of `tenant` (every tenant when nil) whose sidecar names one of `subjects` (keyed hashes
    /// of E.164 numbers). An entry that names no tenant is the subject's data whichever controller it was for,
    /// and is included. A sidecar that is not JSON (the reason it was refused, often) is read for runs of digits.
    func copies(of rows: [RejectionRow], naming subjects: Set<String>, tenant: String?, key: SubjectKey) -> [(copy: QuarantineCopy, row: RejectionRow)] {
        guard !subjects.isEmpty else { return [] }
        var found: [(QuarantineCopy, RejectionRow)] = []
        for row in rows {
            guard let data = FileManager.default.contents(atPath: vault.files.absolute(row.quarantinePath + "/reason.json")),
                  let reason = try? JSONDecoder().decode(QuarantineReason.self, from: data) else { continue }
            let owner = reason.tenant ?? reason.defaultTenant
            if let tenant, let owner, owner != tenant { continue }
            let country = vault.country(tenant: owner ?? tenant)
            let named = reason.inputs.contains { input in
                guard InboxScan.split(input.name).1.lowercased() == "json",
                      let text = readSmall(inputPath(row.quarantinePath, input.name)) else { return false }
                return Self.numbers(in: text).contains { candidate in
                    PhoneNumber.normalised(candidate, country: country).map { subjects.contains(key.hash($0)) } ?? false
                }
            }
            guard named else { continue }
            found.append((QuarantineCopy(id: row.id, at: row.at, reason: row.reason, files: reason.inputs.count,
                                         bytes: reason.inputs.reduce(0) { $0 + ($1.bytes ?? 0) }), row))
        }
        return found
    }

    /// The caller and callee of a JSON sidecar; of anything else, every run of digits (with + and separators)
    /// long enough to be a number.
    static func numbers(in data: Data) -> [String] {
        if let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] {
            return ["caller", "callee"].compactMap { object[$0] as? String }
        }
        var runs: [String] = [], current = ""
        for scalar in String(decoding: data, as: UTF8.self).unicodeScalars {
            if ("0"..."9").contains(scalar) || scalar == "+" || (!current.isEmpty && " ()-./".unicodeScalars.contains(scalar)) {
                current.unicodeScalars.append(scalar)
            } else {
                if current.filter(\.isNumber).count >= 7 { runs.append(current) }
                current = ""
            }
        }
        if current.filter(\.isNumber).count >= 7 { runs.append(current) }
        return runs
    }

    /// A vault-owned quarantined file's bytes, when it is a regular file no bigger than the scan limit.
    func readSmall(_ path: String) -> Data? {
        let fd = open(vault.files.absolute(path), O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, st.st_size <= Self.subjectScanLimit else { return nil }
        return FileHandle(fileDescriptor: fd, closeOnDealloc: false).readDataToEndOfFile()
    }

    /// Deletes the entries for erasure request `requestID`: each resolved with its audit event, then its folder
    /// removed (a crash in between leaves a resolved entry's folder, which repair removes). Under the ingest
    /// lock, so a `quarantine retry` of the same entry cannot store it meanwhile.
    func erase(_ rows: [RejectionRow], requestID: String) throws -> Int {
        guard !rows.isEmpty else { return 0 }
        return try vault.withIngestLock {
            var n = 0
            for row in rows {
                guard let (_, deletedAt) = try vault.catalog.rejection(id: row.id), deletedAt == nil else { continue }
                try vault.catalog.resolveRejection(id: row.id, at: vault.clock.now(), event: vault.event(
                    .requestQuarantineErased, target: row.id, details: ["request": requestID, "reason": row.reason]))
                CrashPoint.reached("erase.after-quarantine-resolve")
                try vault.files.removeTree(row.quarantinePath)
                n += 1
            }
            try vault.files.syncFileSystem()
            return n
        }
    }
}
