// The DPO's register in the browser's terms: open, find, download the bundle, erase with a plan and a
// confirmation — and nothing of it for coaches.
import CallVault
import CallVaultCore
@testable import CallVaultWeb
import CallVaultTesting
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

@Suite(.serialized) struct RequestsPageTests {
    func open(_ client: some TestClientProtocol, _ b: Browser, kind: String, reference: String, tenant: String = "acme-energy") async throws -> String {
        let today = String(Timestamp.utc(TestDays.now).prefix(10))
        return try await client.execute(uri: "/requests", method: .post, headers: b.headers([.contentType: "application/x-www-form-urlencoded"]),
                                        body: form([("csrf", b.csrf), ("kind", kind), ("tenant", tenant), ("received", today),
                                                    ("reference", reference), ("subjects", "+32470123456")])) { r -> String in
            #expect(r.status == .seeOther, "\(String(buffer: r.body))")
            return r.headers[.location] ?? ""
        }
    }

    /// Two tenants, two controllers: the form offers no "all tenants", and a request without one is refused.
    @Test func aRequestNamesItsController() async throws {
        let f = try WebFixture()
        try await Application(router: f.router()).test(.router) { client in
            let b = try await client.login("dana")
            try await client.execute(uri: "/requests", method: .get, headers: b.headers) { r in
                let page = String(buffer: r.body)
                #expect(page.contains("<select name=\"tenant\" required>") && !page.contains("all tenants"))
            }
            let today = String(Timestamp.utc(TestDays.now).prefix(10))
            try await client.execute(uri: "/requests", method: .post, headers: b.headers([.contentType: "application/x-www-form-urlencoded"]),
                                     body: form([("csrf", b.csrf), ("kind", "access"), ("tenant", ""), ("received", today),
                                                 ("reference", "DSR-NONE"), ("subjects", "+32470123456")])) { r in
                #expect(r.status == .badRequest)
                let page = String(buffer: r.body)
                #expect(page.contains("controller of its own"))
                // The form comes back with what was typed, the numbers in its body only (no redirect, no URL).
                #expect(page.contains("id=\"request-error\""))
                #expect(page.contains("value=\"DSR-NONE\"") && page.contains("value=\"\(today)\""))
                #expect(page.contains("autocomplete=\"off\">+32470123456</textarea>"))
                #expect(page.contains("<option selected>access</option>"))
                #expect(r.headers[.location] == nil)
            }
            #expect(try Requests(vault: f.vault).list(openOnly: false, overdueOnly: false).isEmpty)
        }
    }

    @Test func anAccessRequestFindsTheCallsAndDownloadsTheBundle() async throws {
        let f = try WebFixture()
        try await Application(router: f.router()).test(.router) { client in
            let b = try await client.login("dana")
            let location = try await open(client, b, kind: "access", reference: "DSR-1")
            #expect(location.hasPrefix("/requests/"))
            try await client.execute(uri: location, method: .get, headers: b.headers) { r in
                let html = String(buffer: r.body)
                #expect(html.contains("3 calls of the subject"))
                #expect(!html.contains("+32470123456"))
                #expect(html.contains("/export.zip"))
            }
            try await client.execute(uri: location + "/export.zip", method: .get, headers: b.headers) { r in
                #expect(r.status == .ok)
                #expect(r.headers[.contentType] == "application/zip")
                #expect(r.body.getBytes(at: 0, length: 2) == [0x50, 0x4B])  // "PK"
                // Streamed whole: the length announced, and the zip's end record (PK 5 6) in its last bytes.
                #expect(r.headers[.contentLength] == String(r.body.readableBytes))
                let tail = r.body.getBytes(at: max(0, r.body.readableBytes - 22), length: min(22, r.body.readableBytes)) ?? []
                #expect(tail.starts(with: [0x50, 0x4B, 0x05, 0x06]))
            }
            let leftovers = (try? FileManager.default.contentsOfDirectory(atPath: NSTemporaryDirectory()))?.filter { $0.hasPrefix("callvault-export-") } ?? []
            #expect(leftovers.isEmpty, "the bundle's temporary folder is removed")
            try await client.execute(uri: "/requests", method: .get, headers: b.headers) { r in
                #expect(String(buffer: r.body).contains("DSR-1"))
            }
        }
        #expect(try f.auditCount(action: "request.exported") == 1)
    }

    /// A call of the subject stored after the request was opened is added by typing the number again.
    @Test func theRegisterAddsCallsStoredSinceTheRequestWasOpened() async throws {
        let f = try WebFixture()
        try await Application(router: f.router()).test(.router) { client in
            let b = try await client.login("dana")
            let location = try await open(client, b, kind: "access", reference: "DSR-10", tenant: "telco-be")
            // The recorder delivers another call of the subject.
            let inbox = f.dir + "/later/telco-be"
            try FileManager.default.createDirectory(atPath: inbox, withIntermediateDirectories: true)
            let src = WebFixture.packageRoot + "/fixtures/inbox/telco-be/call-1001"
            let yesterday = String(Timestamp.utc(f.clock.now().addingTimeInterval(-86_400)).prefix(10))
            try String(contentsOfFile: src + ".json", encoding: .utf8).replacingOccurrences(of: "2026-11-20T", with: yesterday + "T")
                .replacingOccurrences(of: "sbc7-20261120-0001", with: "sbc7-20261120-0009").write(toFile: inbox + "/call-1009.json", atomically: false, encoding: .utf8)
            try FileManager.default.copyItem(atPath: WebFixture.packageRoot + "/fixtures/formats/call-gsm.wav", toPath: inbox + "/call-1009.wav")
            #expect(try Ingestor(vault: f.vault).ingest(paths: [f.dir + "/later"]).stored.count == 1)
            try await client.execute(uri: location, method: .get, headers: b.headers) { r in
                let html = String(buffer: r.body)
                #expect(html.contains("3 calls of the subject") && html.contains("id=\"find-again\""))
            }
            // No number: refused. The subject's number typed again: the fourth call is listed.
            try await client.execute(uri: location + "/find", method: .post, headers: b.headers([.contentType: "application/x-www-form-urlencoded"]),
                                     body: form([("csrf", b.csrf), ("subjects", "")])) { #expect($0.status == .badRequest) }
            try await client.execute(uri: location + "/find", method: .post, headers: b.headers([.contentType: "application/x-www-form-urlencoded"]),
                                     body: form([("csrf", b.csrf), ("subjects", "+32 470 12 34 56")])) { #expect($0.status == .seeOther) }
            try await client.execute(uri: location, method: .get, headers: b.headers) { r in
                #expect(String(buffer: r.body).contains("4 calls of the subject"))
            }
            // Without the CSRF token nothing is looked up.
            try await client.execute(uri: location + "/find", method: .post, headers: b.headers([.contentType: "application/x-www-form-urlencoded"]),
                                     body: form([("subjects", "+32470123456")])) { #expect($0.status == .forbidden) }
        }
    }

    /// A pair refused at ingest whose sidecar names the subject is on the request page, in the erasure's plan,
    /// and deleted by it.
    @Test func theRequestPageListsAndErasesTheQuarantineCopiesOfTheSubject() async throws {
        let f = try WebFixture()
        let inbox = f.dir + "/refused/telco-be"
        try FileManager.default.createDirectory(atPath: inbox, withIntermediateDirectories: true)
        try Data(#"{"schema": "callvault.call/1", "call_id": "refused-1", "tenant": "telco-be", "caller": "+32470123456"}"#.utf8)
            .write(to: URL(fileURLWithPath: inbox + "/r1.json"))
        try FileManager.default.copyItem(atPath: WebFixture.packageRoot + "/fixtures/formats/call-gsm.wav", toPath: inbox + "/r1.wav")
        let rejected = try Ingestor(vault: f.vault).ingest(paths: [f.dir + "/refused"]).rejected
        #expect(rejected.count == 1)
        try await Application(router: f.router()).test(.router) { client in
            let b = try await client.login("dana")
            let location = try await open(client, b, kind: "erasure", reference: "DSR-Q", tenant: "telco-be")
            try await client.execute(uri: location, method: .get, headers: b.headers) { r in
                let html = String(buffer: r.body)
                #expect(html.contains("1 quarantine copy(ies) naming the subject") && html.contains("sidecar_invalid"), "\(html)")
                #expect(!html.contains("r1.wav") && !html.contains("470123456"), "no file name, no number")
            }
            try await client.execute(uri: location + "?plan=1", method: .get, headers: b.headers) { r in
                #expect(String(buffer: r.body).contains("quarantine copy (sidecar_invalid) — delete now"))
            }
            try await client.execute(uri: location + "/erase", method: .post, headers: b.headers([.contentType: "application/x-www-form-urlencoded"]),
                                     body: form([("csrf", b.csrf), ("confirm", "yes")])) { #expect($0.status == .seeOther) }
            try await client.execute(uri: location, method: .get, headers: b.headers) { r in
                let html = String(buffer: r.body)
                #expect(html.contains("1 quarantine copy(ies) deleted") && !html.contains("naming the subject"), "\(html)")
            }
        }
        #expect(try f.auditCount(action: "request.quarantine_erased") == 1)
    }

    /// A held call whose erasure waits says so on its page, naming the request, for officers only.
    @Test func aCallWaitingForAnErasureSaysSoOnItsPage() async throws {
        let f = try WebFixture()
        var held = HoldSelection()
        held.tenant = "telco-be"
        _ = try Holds(vault: f.vault).place(kind: .legal, caseRef: "C-9", note: nil, reviewAt: nil, selection: held)
        let telco = try f.vault.catalog.db.read { db in try String.fetchAll(db, sql: "SELECT id FROM recordings WHERE tenant = 'telco-be' ORDER BY id") }
        try await Application(router: f.router()).test(.router) { client in
            let b = try await client.login("dana")
            let location = try await open(client, b, kind: "erasure", reference: "DSR-9", tenant: "telco-be")
            let request = String(location.dropFirst("/requests/".count))
            try await client.execute(uri: location + "/erase", method: .post, headers: b.headers([.contentType: "application/x-www-form-urlencoded"]),
                                     body: form([("csrf", b.csrf), ("confirm", "yes")])) { #expect($0.status == .seeOther) }
            try await client.execute(uri: "/calls/\(telco[0])", method: .get, headers: b.headers) { r in
                #expect(String(buffer: r.body).contains("erasure pending (request <a href=\"/requests/\(request)\">\(request)</a>)"))
            }
            let coach = try await client.login("cora")
            try await client.execute(uri: "/calls/\(telco[0])", method: .get, headers: coach.headers) { r in
                #expect(!String(buffer: r.body).contains("erasure pending"))
            }
        }
    }

    @Test func erasureShowsThePlanAndNeedsTheConfirmation() async throws {
        let f = try WebFixture()
        try await Application(router: f.router()).test(.router) { client in
            let b = try await client.login("dana")
            let location = try await open(client, b, kind: "erasure", reference: "DSR-2", tenant: "telco-be")
            try await client.execute(uri: location + "?plan=1", method: .get, headers: b.headers) { r in
                #expect(String(buffer: r.body).contains("delete now"))
            }
            try await client.execute(uri: location + "/erase", method: .post, headers: b.headers([.contentType: "application/x-www-form-urlencoded"]),
                                     body: form([("csrf", b.csrf)])) { #expect($0.status == .badRequest) }
            #expect(try f.recordings().count == 6)
            try await client.execute(uri: location + "/erase", method: .post, headers: b.headers([.contentType: "application/x-www-form-urlencoded"]),
                                     body: form([("csrf", b.csrf), ("confirm", "yes")])) { #expect($0.status == .seeOther) }
            #expect(try f.recordings().count == 3)
            // The erased calls' rows say when they were erased; none links to a call page that no longer exists.
            try await client.execute(uri: location, method: .get, headers: b.headers) { r in
                let html = String(buffer: r.body)
                #expect(html.components(separatedBy: "badge neutral\">erased ").count == 4, "\(html)")
                #expect(!html.contains("href=\"/calls/"))
            }
        }
    }

    /// The extension is offered in words, as the subject is told it, not as an ISO duration.
    @Test func anExtensionIsOfferedInMonthsNotAsADuration() async throws {
        let f = try WebFixture()
        try await Application(router: f.router()).test(.router) { client in
            let b = try await client.login("dana")
            let location = try await open(client, b, kind: "access", reference: "DSR-EXT")
            try await client.execute(uri: location, method: .get, headers: b.headers) { r in
                let html = String(buffer: r.body)
                #expect(html.contains(">1 month</option>") && html.contains(">2 months</option>"))
                #expect(!html.contains(">P1M<") && !html.contains(">P2M<"))
            }
        }
    }

    @Test func coachesHaveNoRegister() async throws {
        let f = try WebFixture()
        try await Application(router: f.router()).test(.router) { client in
            let b = try await client.login("cora")
            try await client.execute(uri: "/requests", method: .get, headers: b.headers) { #expect($0.status == .forbidden) }
            try await client.execute(uri: "/requests", method: .post, headers: b.headers([.contentType: "application/x-www-form-urlencoded"]),
                                     body: form([("csrf", b.csrf), ("kind", "access"), ("received", "2026-11-01"), ("reference", "X"), ("subjects", "+32470123456")])) {
                #expect($0.status == .forbidden)
            }
        }
    }
}

@Suite struct NoticeTests {
    /// The green notice states what the app did, never what a link says: `?done=` and `?retried=` are ignored.
    @Test func aNoticeComesFromTheActionNotFromTheURL() async throws {
        let f = try WebFixture()
        let opened = try Requests(vault: f.vault).open(kind: .restriction, subjects: ["+32470123456"], tenant: "acme-energy",
                                                        received: f.clock.now(), reference: "DSR-N", note: nil)
        let id = opened.request.id
        try await Application(router: f.router()).test(.router) { client in
            let dpo = try await client.login("dana")
            try await client.execute(uri: "/requests/\(id)?done=Restriction%20lifted%20by%20the%20DPO", method: .get, headers: dpo.headers) {
                #expect(!String(buffer: $0.body).contains("lifted by the DPO"))
            }
            try await client.execute(uri: "/requests/\(id)/restrict", method: .post,
                                     headers: dpo.headers([.contentType: "application/x-www-form-urlencoded"]),
                                     body: form([("csrf", dpo.csrf), ("ground", "accuracy")])) { r in
                #expect(r.status == .seeOther)
                #expect(r.headers[.location] == "/requests/\(id)")
            }
            try await client.execute(uri: "/requests/\(id)", method: .get, headers: dpo.headers) {
                #expect(String(buffer: $0.body).contains("Restricted 3 calls"))
            }
            // Shown once.
            try await client.execute(uri: "/requests/\(id)", method: .get, headers: dpo.headers) {
                #expect(!String(buffer: $0.body).contains("Restricted 3 calls"))
            }
        }
    }
}

@Suite(.serialized) struct RestrictionInTheWebAppTests {
    /// A restricted call is gone for the coach in every web view, and stays for compliance.
    @Test func aRestrictedCallIsHiddenFromTheCoachEverywhere() async throws {
        let f = try WebFixture()
        let mine = try f.recordings(team: "billing-nl")
        let requests = Requests(vault: f.vault)
        let opened = try requests.open(kind: .restriction, subjects: ["+32470123456"], tenant: "acme-energy",
                                       received: f.clock.now(), reference: "DSR-R", note: nil)
        #expect(try requests.restrict(id: opened.request.id, ground: .accuracy, lift: false, subjectInformed: false) == 3)
        try await Application(router: f.router()).test(.router) { client in
            let coach = try await client.login("cora")
            try await client.execute(uri: "/calls", method: .get, headers: coach.headers([.accept: "application/json"])) { r in
                let o = try JSONSerialization.jsonObject(with: Data(buffer: r.body)) as! [String: Any]
                #expect((o["recordings"] as! [[String: Any]]).isEmpty)
            }
            try await client.execute(uri: "/calls.csv", method: .get, headers: coach.headers) { r in
                #expect(String(buffer: r.body).split(separator: "\n").count == 1)  // the header only
            }
            for path in ["/calls/\(mine[0])", "/calls/\(mine[0])/audio", "/calls/\(mine[0])/waveform.svg", "/calls/\(mine[0])/download"] {
                // As if it did not exist (a restricted call is outside the coach's scope).
                try await client.execute(uri: path, method: .get, headers: coach.headers) { #expect($0.status == .notFound, "\(path)") }
            }
            let officer = try await client.login("dana")
            try await client.execute(uri: "/calls/\(mine[0])/audio", method: .get, headers: officer.headers) { #expect($0.status == .ok) }

            // Lifted: the same session plays the call, and that playback is audited (the refused one was not).
            #expect(try requests.restrict(id: opened.request.id, ground: nil, lift: true, subjectInformed: true) == 3)
            let before = try f.auditCount(action: "recording.played")
            try await client.execute(uri: "/calls/\(mine[0])/audio", method: .get, headers: coach.headers) { #expect($0.status == .ok) }
            #expect(try f.auditCount(action: "recording.played") == before + 1)
        }
    }
}
