// `callvault note add|list|delete`: timestamped notes on a call, as the call page's notes are.
import ArgumentParser
import CallVault
import CallVaultCore
import Foundation

struct NoteCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "note", abstract: "Timestamped notes on a call (private to their author, or shared).",
        discussion: "A note marks a moment of a recording. Whoever may see the call may note it; a shared note is read by everyone who may see the call. Notes go with the call's audio at the end of its retention. Audited (the note's id and moment, never its text).",
        subcommands: [Add.self, List.self, Delete.self])

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "add", abstract: "Note a moment of a call.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The recording id.") var recording: String
        @Option(help: "Seconds into the call (decimals allowed).") var at: Double
        @Option(help: "The note (1 to 2000 characters).") var text: String
        @Flag(help: "Share the note with everyone who may see the call (default: only you).") var shared = false

        func run() throws {
            let vault = try global.openVault()
            let note = try Notes(vault: vault).add(recordingID: recording, atSeconds: at, text: text, shared: shared)
            if global.json { printJSON(notesJSON([note])["notes"].flatMap { ($0 as? [[String: Any]])?.first } ?? [:]) } else {
                printLine("added note \(note.id) at \(Notes.clock(note.atMs))\(note.shared ? " (shared)" : "")")
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "The notes of a call you may read: yours and the shared ones.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The recording id.") var recording: String

        func run() throws {
            let vault = try global.openVault()
            let notes = try Notes(vault: vault).list(recordingID: recording)
            if global.json { printJSON(notesJSON(notes)) } else {
                if notes.isEmpty { printLine("no notes") }
                for n in notes {
                    // Escaped: a note's line breaks must not forge lines of output.
                    printLine("\(n.id)  \(Notes.clock(n.atMs))  \(escapedForTerminal(n.author))\(n.shared ? "  shared" : "")  \(escapedForTerminal(n.text))")
                }
            }
        }
    }

    struct Delete: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "delete", abstract: "Delete a note (its author, or an admin).")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The note id.") var note: String

        func run() throws {
            let vault = try global.openVault()
            try Notes(vault: vault).delete(noteID: note)
            if global.json { printJSON(["deleted": note]) } else { printLine("deleted note \(note)") }
        }
    }
}
