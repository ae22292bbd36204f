// Timestamped notes on a call (table `notes`, SQLite v16 / PostgreSQL v6): a coach's remark at a moment of the
// recording, private to its author or shared with whoever may see the call. Notes are personal data (mostly
// the agent's): they go with the audio (the sweeper deletes them in the audio's transaction) and with the row.
import CallVaultCore
import Foundation

/// One note as the catalog keeps it. `kind` is "note" today; an evaluation form's answers will be notes of
/// another kind hanging off `form_id`, so the table need not change shape for them.
public struct NoteRow: Codable, Sendable, Equatable, CatalogRecord {
    public static let databaseTableName = "notes"
    public var id: String
    public var recordingID: String
    public var author: String
    public var atMs: Int64
    public var text: String
    public var shared: Bool
    public var kind: String
    public var formID: String?
    public var createdAt: String

    enum CodingKeys: String, CodingKey {
        case id, author, text, shared, kind
        case recordingID = "recording_id", atMs = "at_ms", formID = "form_id", createdAt = "created_at"
    }

    public init(id: String, recordingID: String, author: String, atMs: Int64, text: String, shared: Bool, createdAt: String) {
        self.id = id; self.recordingID = recordingID; self.author = author; self.atMs = atMs; self.text = text
        self.shared = shared; self.kind = "note"; self.formID = nil; self.createdAt = createdAt
    }
}

extension Catalog {
    /// Adds a note and its audit event in one transaction, if the recording's audio is still there (a note on
    /// deleted audio would outlive what it is about).
    public func addNote(_ note: NoteRow, event: AuditEvent) throws -> Bool {
        try wrap("add note") {
            try db.write { db in
                guard try Bool.fetchOne(db, sql: "SELECT 1 FROM recordings WHERE id = ? AND audio_deleted_at IS NULL", arguments: [note.recordingID]) ?? false else {
                    return false
                }
                try note.insert(db)
                try AuditLog.append([event], in: db)
                return true
            }
        }
    }

    /// The notes of a recording that `reader` may read: their own and the shared ones (`all`: every note, for
    /// the use cases that answer for the controller), in the order of the recording.
    public func notes(recordingID: String, reader: String, all: Bool = false) throws -> [NoteRow] {
        try wrap("read notes") {
            try db.read { db in
                try NoteRow.fetchAll(db, sql: "SELECT * FROM notes WHERE recording_id = ? AND (? = 1 OR author = ? OR shared = 1) ORDER BY at_ms, id",
                                     arguments: [recordingID, all ? 1 : 0, reader])
            }
        }
    }

    public func note(id: String) throws -> NoteRow? {
        try wrap("read note") { try db.read { try NoteRow.fetchOne($0, sql: "SELECT * FROM notes WHERE id = ?", arguments: [id]) } }
    }

    /// Deletes a note and audits it in one transaction; false when it was gone already.
    public func deleteNote(id: String, event: AuditEvent) throws -> Bool {
        try wrap("delete note") {
            try db.write { db in
                try db.execute(cached: "DELETE FROM notes WHERE id = ?", arguments: [id])
                guard db.changesCount == 1 else { return false }
                try AuditLog.append([event], in: db)
                return true
            }
        }
    }

    /// How many notes each recording has, for the access bundle (which says they exist, not what they say).
    public func noteCounts(recordingIDs: [String]) throws -> [String: Int] {
        guard !recordingIDs.isEmpty else { return [:] }
        return try wrap("count notes") {
            try db.read { db in
                var out: [String: Int] = [:]
                for run in recordingIDs.runs(of: 500) {
                    for row in try SQLRow.fetchAll(db, sql: "SELECT recording_id, count(*) AS n FROM notes WHERE recording_id IN (\(marks(run.count))) GROUP BY recording_id",
                                                   arguments: SQLArguments(run)) {
                        out[row["recording_id"]] = row["n"]
                    }
                }
                return out
            }
        }
    }
}
