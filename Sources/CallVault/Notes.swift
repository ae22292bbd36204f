// Timestamped notes on a call (issue 26): what a coach marks at a moment of the recording. Who may see the call
// may note it; a note is private to its author or shared with everyone who may see the call. The text is
// personal data: it is never in the audit (which records the note's id, moment and sharing), logs or errors.
import CallVaultCore
import CallVaultStore
import Foundation

/// A note as its readers see it.
public struct NoteView: Sendable, Equatable {
    public var id: String
    public var recordingID: String
    public var atMs: Int64
    public var text: String
    public var author: String
    public var shared: Bool
    public var createdAt: String
    /// Whether the acting user may delete it (its author, or an admin).
    public var deletable: Bool
}

public struct Notes: Sendable {
    public let vault: Vault

    public init(vault: Vault) { self.vault = vault }

    public static let maximumLength = 2000

    /// "1:05.3": a moment of a call as the player's clock and the note lists show it.
    public static func clock(_ ms: Int64) -> String {
        String(format: "%d:%04.1f", ms / 60_000, Double(ms % 60_000) / 1000)
    }

    /// Adds a note at `seconds` into the call, for a user who may see the call (the same scope and audit as
    /// `show`). The audio must still be there, the moment inside the call, the text 1–2000 characters of
    /// printable text (line breaks allowed).
    public func add(recordingID: String, atSeconds seconds: Double, text: String, shared: Bool) throws -> NoteView {
        let (row, _) = try Listing(vault: vault).visibleRecording(id: recordingID, action: "note add")
        guard row.audioDeletedAt == nil else { throw VaultError(.gone, "note add \(recordingID): its audio was deleted at \(row.audioDeletedAt!); notes go with it") }
        guard seconds.isFinite, seconds >= 0, seconds <= row.durationS + 1 else {
            throw VaultError(.usage, String(format: "A note's moment must be within the call: from 0 to %.0f seconds.", row.durationS))
        }
        let trimmed = try Self.checkedText(text)
        let now = vault.clock.now()
        let note = NoteRow(id: RecordingID.make(at: now), recordingID: row.id, author: vault.actor, atMs: Int64((min(seconds, row.durationS) * 1000).rounded()),
                           text: trimmed, shared: shared, createdAt: Timestamp.utc(now))
        let event = vault.event(.noteAdded, target: row.id, details: ["note": note.id, "at_ms": String(note.atMs), "shared": String(shared)])
        guard try vault.catalog.addNote(note, event: event) else {
            throw VaultError(.gone, "note add \(recordingID): its audio was deleted meanwhile; notes go with it")
        }
        return view(note)
    }

    /// A note's text as kept: trimmed, 1–2000 characters, no control characters (line breaks and tabs are
    /// writing; the rest would reach a terminal or a page raw).
    public static func checkedText(_ text: String) throws -> String {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { throw VaultError(.usage, "The note is empty.") }
        guard trimmed.count <= maximumLength else { throw VaultError(.usage, "A note has at most \(maximumLength) characters (this one has \(trimmed.count)).") }
        guard !trimmed.unicodeScalars.contains(where: { ($0.value < 0x20 && $0 != "\n" && $0 != "\t") || (0x7F...0x9F).contains($0.value) }) else {
            throw VaultError(.usage, "A note may not contain control characters (line breaks and tabs are fine).")
        }
        return trimmed
    }

    /// The notes of a call the acting user may read: their own and the shared ones, in the call's order.
    public func list(recordingID: String) throws -> [NoteView] {
        let (row, _) = try Listing(vault: vault).visibleRecording(id: recordingID, action: "note list")
        return try vault.catalog.notes(recordingID: row.id, reader: vault.actor).map(view)
    }

    /// Deletes a note: its author, or an admin. Audited. Returns the note's recording.
    @discardableResult
    public func delete(noteID: String) throws -> String {
        try vault.require(Role.readers, to: "note delete")
        guard RecordingID.isWellFormed(noteID) else { throw vault.refuseInvalidID(action: "note delete", what: "note") }
        guard let note = try vault.catalog.note(id: noteID), note.author == vault.actor || note.shared || vault.principal.user?.role == .admin else {
            throw VaultError(.notFound, "note \(noteID): no such note")
        }
        guard note.author == vault.actor || vault.principal.user?.role == .admin else {
            try vault.catalog.appendAudit([vault.event(.accessDenied, target: note.recordingID, details: ["action": "note delete", "why": "not the author", "note": noteID])])
            throw VaultError(.accessDenied, "note delete \(noteID): only its author (\(note.author)) or an admin may delete it")
        }
        _ = try vault.catalog.deleteNote(id: noteID, event: vault.event(.noteDeleted, target: note.recordingID, details: ["note": noteID]))
        return note.recordingID
    }

    func view(_ n: NoteRow) -> NoteView {
        NoteView(id: n.id, recordingID: n.recordingID, atMs: n.atMs, text: n.text, author: n.author, shared: n.shared, createdAt: n.createdAt,
                 deletable: n.author == vault.actor || vault.principal.user?.role == .admin)
    }
}

/// `note list --json` and the web's JSON: `{"notes":[{"id","at_ms","text","author","shared","created_at"}]}`.
public func notesJSON(_ notes: [NoteView]) -> [String: Any] {
    ["notes": notes.map { ["id": $0.id, "at_ms": $0.atMs, "text": $0.text, "author": $0.author, "shared": $0.shared, "created_at": $0.createdAt] as [String: Any] }]
}
