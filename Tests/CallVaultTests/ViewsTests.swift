// What the use cases hand the front ends (issue 10: "returning view values, not catalog rows"): the role rules
// live in the library, so a coach's values carry no phone number and no hold state whichever front end asks.
import CallVault
import CallVaultCore
import CallVaultTesting
import Foundation
import Testing

@Suite struct ViewsTests {
    /// One call of billing-nl with a caller number, held by the DPO.
    func heldCallWithNumber() throws -> (PlaybackStore, String) {
        let store = try PlaybackStore()
        let id = try store.ingest(audio: WAVBuilder.pcm16([Int16](repeating: 800, count: 8000)), ext: "wav", caller: "+32470123456")
        var selection = HoldSelection()
        selection.recordingIDs = [id]
        _ = try Holds(vault: store.acting("dpo")).place(kind: .incident, caseRef: "INC-7", note: nil, reviewAt: nil, selection: selection)
        return (store, id)
    }

    @Test func aCoachsRecordingCarriesNoNumberAndNoHoldState() throws {
        let (store, id) = try heldCallWithNumber()
        let coach = Listing(vault: store.acting("coach-billing"))
        let listed = try #require(try coach.list(ListFilters()).page.first)
        #expect(listed.id == id)
        #expect(listed.parties == nil)
        #expect(listed.onHold == nil)
        let (shown, holds) = try coach.show(id: id)
        #expect(shown.parties == nil && shown.onHold == nil && holds.isEmpty)
        // The export's metadata is written from the same view: nothing to leak even by a careless writer.
        let out = store.dir + "/coach-export"
        var seen: (RecordingView, [HoldView])?
        _ = try coach.export(id: id, to: out) { v, h in seen = (v, h); return Data("{}".utf8) }
        #expect(seen?.0.parties == nil && seen?.0.onHold == nil && seen?.1.isEmpty == true)
    }

    @Test func anOfficersRecordingCarriesTheNumbersAndTheHold() throws {
        let (store, id) = try heldCallWithNumber()
        let dpo = Listing(vault: store.acting("dpo"))
        let listed = try #require(try dpo.list(ListFilters()).page.first)
        #expect(listed.parties?.caller == "+32470123456")
        #expect(listed.onHold == true)
        let (shown, holds) = try dpo.show(id: id)
        #expect(shown.parties?.caller == "+32470123456" && shown.onHold == true)
        #expect(holds.map(\.caseRef) == ["INC-7"])
        #expect(try Holds(vault: store.acting("dpo")).list(activeOnly: true).map(\.1) == [1])
    }
}
