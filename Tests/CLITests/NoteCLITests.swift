// `callvault note add|list|delete` (issue 26): timestamped notes on a call, private or shared, audited
// without their text, and gone with the call's audio — at the end of its retention or by an erasure.
import CallVaultStore
import CallVaultTesting
import Foundation
import Testing

extension RequestCLITests {
    func notes(_ box: Sandbox, _ id: String, as user: String) throws -> [[String: Any]] {
        try ok(box, ["note", "list", id], as: user)["notes"] as! [[String: Any]]
    }

    @Test func notesArePrivateOrSharedAndAuditedWithoutTheirText() throws {
        let box = try populated()
        let s1 = try #require(try box.recordingIDs()["S1"])
        let mine = try ok(box, ["note", "add", s1, "--at", "8.5", "--text", "Good greeting, clear name"], as: "coach-an")
        #expect(mine["at_ms"] as? Int == 8_500 && mine["author"] as? String == "coach-an" && mine["shared"] as? Bool == false)
        let shared = try ok(box, ["note", "add", s1, "--at", "3", "--text", "Hold music too loud", "--shared"], as: "coach-an")
        // The author reads both, in the call's order; someone else who may see the call reads the shared one only.
        let own = try notes(box, s1, as: "coach-an")
        #expect(own.map { $0["at_ms"] as? Int } == [3000, 8_500])
        #expect(Set(own[0].keys) == ["id", "at_ms", "text", "author", "shared", "created_at"])
        #expect(own[1]["text"] as? String == "Good greeting, clear name")
        #expect(try notes(box, s1, as: "dpo").map { $0["id"] as? String } == [shared["id"] as? String])
        // Only the author (or an admin) deletes; another's private note does not exist for them.
        let refused = try box.run(["--as", "dpo", "note", "delete", shared["id"] as! String])
        #expect(refused.status == 3 && refused.stderr.contains("only its author"), "\(refused.stderr)")
        #expect(try box.run(["--as", "dpo", "note", "delete", mine["id"] as! String]).status == 2)
        #expect(try box.run(["--as", "coach-an", "note", "delete", mine["id"] as! String]).status == 0)
        #expect(try notes(box, s1, as: "coach-an").count == 1)
        // One note, one line.
        let text = try box.run(["--as", "coach-an", "note", "list", s1])
        #expect(text.status == 0 && text.stdout.split(separator: "\n").count == 1 && text.stdout.contains("0:03.0"), "\(text.stdout)")
        let details = try box.catalog().read { db in
            try String.fetchAll(db, sql: "SELECT details FROM audit_events WHERE action LIKE 'note.%'")
        }
        #expect(details.count == 3, "two added, one deleted")
        #expect(!details.joined().contains("greeting") && !details.joined().contains("music"), "the audit never holds a note's text")
    }

    @Test(arguments: [(["--at", "9999", "--text", "late"], "within the call"), (["--at=-1", "--text", "early"], "within the call"),
                      (["--at", "2", "--text", "   "], "empty"), (["--at", "2", "--text", "a\u{1B}[31mb"], "control characters"),
                      (["--at", "2", "--text", String(repeating: "x", count: 2001)], "at most 2000")])
    func aBadNoteIsRefusedSayingWhy(args: [String], said: String) throws {
        let box = try populated()
        let s1 = try #require(try box.recordingIDs()["S1"])
        let r = try box.run(["--as", "coach-an", "note", "add", s1] + args)
        #expect(r.status == 2 && r.stderr.contains(said), "\(r.stderr)")
        #expect(try box.count("SELECT count(*) FROM notes") == 0)
    }

    /// Notes are about the audio: the sweeper deletes them with it, and an erasure with the call.
    @Test func notesGoWithTheAudioAndWithAnErasure() throws {
        let box = try populated()
        let ids = try box.recordingIDs()
        _ = try ok(box, ["note", "add", ids["S1"]!, "--at", "1", "--text", "kept a month"], as: "coach-an")
        _ = try ok(box, ["note", "add", ids["O1"]!, "--at", "1", "--text", "someone else's call"], as: "coach-an")
        // Past S1's and O1's audio expiry: both notes go with the audio, the rows stay (metadata is kept longer).
        let swept = try box.run(["sweep", "--json", "--now", shifted("2027-01-15T00:00:00Z")])
        #expect(swept.status == 0, "\(swept.stderr)")
        #expect(try box.count("SELECT count(*) FROM notes") == 0)
        #expect(try box.count("SELECT count(*) FROM recordings WHERE id = '\(ids["S1"]!)'") == 1)
        #expect(try box.run(["--as", "dpo", "note", "add", ids["S1"]!, "--at", "1", "--text", "too late"]).status == 2, "no note on deleted audio")

        let fresh = try populated()
        let f = try fresh.recordingIDs()
        _ = try ok(fresh, ["note", "add", f["S1"]!, "--at", "1", "--text", "erased with the call"], as: "dpo")
        _ = try ok(fresh, ["note", "add", f["O1"]!, "--at", "1", "--text", "not the subject's"], as: "dpo")
        let req = try open(fresh, kind: "erasure", tenant: "acme-energy")
        _ = try ok(fresh, ["request", "erase", req])
        #expect(try fresh.count("SELECT count(*) FROM notes") == 1, "the subject's call's note went with it; the other's stays")
    }
}
