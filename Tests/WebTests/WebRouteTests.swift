// Every route, role and refusal of the web app, in process (Hummingbird's router test client).
import CallVault
import CallVaultCore
import CallVaultStore
@testable import CallVaultWeb
import CallVaultTesting
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

@Suite(.serialized) struct WebRouteTests {
    @Test func withoutASessionPagesRedirectToLoginAndJSONGets401() async throws {
        let f = try WebFixture()
        try await Application(router: f.router()).test(.router) { client in
            try await client.execute(uri: "/healthz", method: .get) { #expect($0.status == .ok) }
            try await client.execute(uri: "/calls?team=billing-nl", method: .get) { r in
                #expect(r.status == .seeOther)
                #expect(r.headers[.location] == "/login?next=%2Fcalls%3Fteam%3Dbilling-nl")
            }
            try await client.execute(uri: "/calls", method: .get, headers: [.accept: "application/json"]) { #expect($0.status == .unauthorized) }
            for path in ["/holds", "/report", "/audit", "/quarantine", "/calls.csv"] {
                try await client.execute(uri: path, method: .get) { #expect($0.status == .seeOther, "\(path)") }
            }
            // A forged cookie is no session.
            try await client.execute(uri: "/calls", method: .get, headers: [.cookie: "callvault_session=forged"]) { #expect($0.status == .seeOther) }
        }
    }

    @Test func everyAnswerCarriesTheSecurityHeaders() async throws {
        let f = try WebFixture()
        try await Application(router: f.router()).test(.router) { client in
            for (path, status) in [("/login", HTTPResponse.Status.ok), ("/calls", .seeOther), ("/assets/app.css", .ok), ("/assets/nope", .notFound), ("/calls/x/audio", .seeOther)] {
                try await client.execute(uri: path, method: .get) { r in
                    #expect(r.status == status, "\(path)")
                    #expect(r.headers[HTTPField.Name("Content-Security-Policy")!]?.contains("default-src 'self'") == true, "\(path)")
                    #expect(r.headers[HTTPField.Name("Content-Security-Policy")!]?.contains("frame-ancestors 'none'") == true, "\(path)")
                    #expect(r.headers[HTTPField.Name("X-Content-Type-Options")!] == "nosniff", "\(path)")
                    #expect(r.headers[HTTPField.Name("Referrer-Policy")!] == "no-referrer", "\(path)")
                }
            }
        }
    }

    @Test func loginSetsAStrictHttpOnlyCookieAndANewSessionEachTime() async throws {
        let f = try WebFixture()
        try await Application(router: f.router()).test(.router) { client in
            try await client.execute(uri: "/login", method: .post, headers: [.contentType: "application/x-www-form-urlencoded"],
                                     body: form([("user", "cora"), ("password", "wrong password!")])) { r in
                #expect(r.status == .unauthorized)
                #expect(r.headers[.setCookie] == nil)
            }
            try await client.execute(uri: "/login", method: .post, headers: [.contentType: "application/x-www-form-urlencoded"],
                                     body: form([("user", "cora"), ("password", WebFixture.password)])) { r in
                #expect(r.status == .seeOther)
                #expect(r.headers[.location] == "/calls")
                let cookie = r.headers[.setCookie] ?? ""
                #expect(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict") && !cookie.contains("Secure"))
                let value = cookie.split(separator: ";")[0].split(separator: "=")[1]
                #expect(value.count >= 43)  // 256 random bits
            }
            let a = try await client.login("cora"), b = try await client.login("cora")
            #expect(a.cookie != b.cookie && a.csrf != b.csrf)
            // `next` keeps the page asked for, but never leaves the app.
            // A tab or newline inside is dropped by browsers ("/<TAB>/evil.example" is "//evil.example"), a
            // backslash read as a slash.
            for (next, expected) in [("/calls/x?y=1", "/calls/x?y=1"), ("//evil.example/", "/calls"), ("https://evil.example/", "/calls"),
                                     ("/\t/evil.example/x", "/calls"), ("/\n/evil.example", "/calls"), ("/\\evil.example", "/calls"),
                                     ("/ /evil.example", "/calls")] {
                try await client.execute(uri: "/login", method: .post, headers: [.contentType: "application/x-www-form-urlencoded"],
                                         body: form([("user", "cora"), ("password", WebFixture.password), ("next", next)])) {
                    #expect($0.headers[.location] == expected)
                }
            }
        }
        #expect(try f.auditCount(action: "auth.failed") == 1)
        #expect(try f.auditCount(action: "auth.login") >= 3)
    }

    @Test func fiveFailuresLockTheUserOutFor15Minutes() async throws {
        let f = try WebFixture()
        try await Application(router: f.router()).test(.router) { client in
            for _ in 0..<5 {
                try await client.execute(uri: "/login", method: .post, headers: [.contentType: "application/x-www-form-urlencoded"],
                                         body: form([("user", "dana"), ("password", "not the password")])) { #expect($0.status == .unauthorized) }
            }
            try await client.execute(uri: "/login", method: .post, headers: [.contentType: "application/x-www-form-urlencoded"],
                                     body: form([("user", "dana"), ("password", WebFixture.password)])) { #expect($0.status == .tooManyRequests) }
            // Another user is not locked out.
            _ = try await client.login("cora")
            f.clock.advance(16 * 60)
            _ = try await client.login("dana")
        }
    }

    @Test func sessionsEndWhenIdleAndAtLogout() async throws {
        let f = try WebFixture()
        try await Application(router: f.router()).test(.router) { client in
            let b = try await client.login("cora")
            f.clock.advance(14 * 60)
            try await client.execute(uri: "/calls", method: .get, headers: b.headers) { #expect($0.status == .ok) }
            f.clock.advance(16 * 60)
            // The session ended on its own: the login page says so.
            let expired = try await client.execute(uri: "/calls", method: .get, headers: b.headers) { r -> String in
                #expect(r.status == .seeOther)
                return r.headers[.location] ?? ""
            }
            #expect(expired.contains("expired=1"), "\(expired)")
            try await client.execute(uri: expired, method: .get) { r in
                #expect(String(buffer: r.body).contains("Your session ended after 15 minutes without activity"))
            }
            let c = try await client.login("cora")
            // Logging out needs the CSRF token too.
            try await client.execute(uri: "/logout", method: .post, headers: c.headers) { #expect($0.status == .forbidden) }
            try await client.execute(uri: "/logout", method: .post, headers: c.headers([.contentType: "application/x-www-form-urlencoded"]),
                                     body: form([("csrf", c.csrf)])) { r in
                #expect(r.status == .seeOther)
                #expect(r.headers[.location] == "/login?bye=1")
            }
            try await client.execute(uri: "/login?bye=1", method: .get) { #expect(String(buffer: $0.body).contains("You are logged out.")) }
            try await client.execute(uri: "/calls", method: .get, headers: c.headers) { #expect($0.status == .seeOther) }
        }
    }

    /// The server's wall clock is set back a day or forward a day: a login made before or after the step keeps
    /// its session, and the idle timeout is still measured as time that passed.
    @Test(arguments: [-86_400.0, 86_400.0])
    func sessionsSurviveAClockStep(step: TimeInterval) async throws {
        let f = try WebFixture()
        try await Application(router: f.router()).test(.router) { client in
            let before = try await client.login("cora")
            f.clock.step(step)
            try await client.execute(uri: "/calls", method: .get, headers: before.headers) { #expect($0.status == .ok, "session made before a step of \(step) s") }
            // Logged in on the stepped clock (the password was set before it): the next request is signed in.
            let after = try await client.login("dana")
            try await client.execute(uri: "/holds", method: .get, headers: after.headers) { #expect($0.status == .ok, "session made after a step of \(step) s") }
            f.clock.advance(14 * 60)
            try await client.execute(uri: "/calls", method: .get, headers: before.headers) { #expect($0.status == .ok) }
            f.clock.advance(16 * 60)
            try await client.execute(uri: "/calls", method: .get, headers: before.headers) { #expect($0.status == .seeOther, "idle 16 minutes") }
        }
    }

    /// A user locked out before the clock went back is told the lockout's true remainder, not a day more.
    @Test func aLockoutAnnouncedAfterTheClockWentBackSaysMinutesNotADay() async throws {
        let f = try WebFixture()
        try await Application(router: f.router()).test(.router) { client in
            for _ in 0..<5 {
                try await client.execute(uri: "/login", method: .post, headers: [.contentType: "application/x-www-form-urlencoded"],
                                         body: form([("user", "cora"), ("password", "wrong password!")])) { #expect($0.status == .unauthorized) }
            }
            f.clock.advance(60)
            f.clock.step(-86_400)
            try await client.execute(uri: "/login", method: .post, headers: [.contentType: "application/x-www-form-urlencoded"],
                                     body: form([("user", "cora"), ("password", WebFixture.password)])) { r in
                #expect(r.status == .tooManyRequests)
                #expect(String(buffer: r.body).contains("try again in 14 minutes"), "\(String(buffer: r.body).suffix(400))")
            }
        }
    }

    @Test func disablingAnAccountEndsItsLiveSessions() async throws {
        let f = try WebFixture()
        try await Application(router: f.router()).test(.router) { client in
            let b = try await client.login("cora")
            try Accounts(vault: f.vault).disable(user: "cora")
            try await client.execute(uri: "/calls", method: .get, headers: b.headers) { #expect($0.status == .seeOther) }
            try await client.execute(uri: "/login", method: .post, headers: [.contentType: "application/x-www-form-urlencoded"],
                                     body: form([("user", "cora"), ("password", WebFixture.password)])) { #expect($0.status == .unauthorized) }
        }
    }

    @Test func aNewPasswordEndsTheSessionsMadeBeforeIt() async throws {
        let f = try WebFixture()
        try await Application(router: f.router()).test(.router) { client in
            let stolen = try await client.login("cora")
            f.clock.advance(1)
            try Accounts(vault: f.vault).setPassword(user: "cora", password: "a new password for cora")
            try await client.execute(uri: "/calls", method: .get, headers: stolen.headers) { #expect($0.status == .seeOther) }
            try await client.execute(uri: "/login", method: .post, headers: [.contentType: "application/x-www-form-urlencoded"],
                                     body: form([("user", "cora"), ("password", "a new password for cora")])) { r in
                #expect(r.status == .seeOther)
                let cookie = String((r.headers[.setCookie] ?? "").split(separator: ";")[0])
                try await client.execute(uri: "/calls", method: .get, headers: [.cookie: cookie]) { #expect($0.status == .ok) }
            }
        }
    }

    @Test func aCoachSeesOnlyTheirScopeAndGets404ForCallsOutsideIt() async throws {
        let f = try WebFixture()
        let mine = try f.recordings(team: "billing-nl"), others = try f.recordings(notTeam: "billing-nl")
        #expect(mine.count == 2 && others.count == 4)
        try await Application(router: f.router()).test(.router) { client in
            let b = try await client.login("cora")
            try await client.execute(uri: "/calls", method: .get, headers: b.headers([.accept: "application/json"])) { r in
                let o = try JSONSerialization.jsonObject(with: Data(buffer: r.body)) as! [String: Any]
                let ids = (o["recordings"] as! [[String: Any]]).map { $0["recording_id"] as! String }
                #expect(Set(ids) == Set(mine))
                #expect((o["recordings"] as! [[String: Any]]).allSatisfy { $0["on_hold"] is NSNull })
            }
            // A call outside the scope answers exactly as one that does not exist: ids cannot be probed.
            let missing = RecordingID.make(at: Date())
            var answers: [String: (HTTPResponse.Status, String)] = [:]
            for (name, id) in [("outside", others[0]), ("missing", missing)] {
                for suffix in ["", "/audio", "/waveform.svg", "/download"] {
                    try await client.execute(uri: "/calls/\(id)\(suffix)", method: .get, headers: b.headers) { r in
                        // The error page of the app, never raw JSON (a forbidden audio URL opened in a tab).
                        #expect(r.headers[.contentType]?.hasPrefix("text/html") == true, "\(name)\(suffix)")
                        answers[name + suffix] = (r.status, String(buffer: r.body))
                    }
                }
            }
            for suffix in ["", "/audio", "/waveform.svg", "/download"] {
                #expect(answers["outside" + suffix]?.0 == .notFound, "\(suffix)")
                #expect(answers["outside" + suffix]?.0 == answers["missing" + suffix]?.0, "\(suffix)")
                #expect(answers["outside" + suffix]?.1 == answers["missing" + suffix]?.1, "the same page for \(suffix)")
            }
            // The tenant filter names only the tenants of the coach's calls, never another client.
            try await client.execute(uri: "/calls", method: .get, headers: b.headers) { r in
                let html = String(buffer: r.body)
                #expect(html.contains("<option>acme-energy</option>"))
                #expect(!html.contains("telco-be"), "another tenant's name")
            }
            try await client.execute(uri: "/calls/\(mine[0])", method: .get, headers: b.headers) { r in
                #expect(r.status == .ok)
                let html = String(buffer: r.body)
                #expect(html.contains("<audio id=\"player\""))
                #expect(!html.contains("+32470123456"))  // coaches never see the numbers
                #expect(!html.contains("Place hold"))
            }
            for path in ["/holds", "/report", "/audit", "/quarantine"] {
                try await client.execute(uri: path, method: .get, headers: b.headers) { r in
                    #expect(r.status == .forbidden, "\(path)")
                    // The refusal is a page of the app: the user still has the top bar and Log out.
                    #expect(String(buffer: r.body).contains("Log out"), "\(path)")
                }
            }
            try await client.execute(uri: "/holds", method: .post, headers: b.headers([.contentType: "application/x-www-form-urlencoded"]),
                                     body: form([("csrf", b.csrf), ("kind", "legal"), ("case", "C-1"), ("recording", mine[0])])) { #expect($0.status == .forbidden) }
        }
        #expect(try f.auditCount(action: "access.denied", target: others[0]) >= 2)
    }

    /// A coach whose scope names tenants sees those in the filter, and an officer every tenant.
    @Test func theTenantFilterFollowsTheScope() async throws {
        let f = try WebFixture(extraConfiguration: "[users.cleo]\nrole = \"coach\"\ntenants = [\"telco-be\"]\n")
        try Accounts(vault: f.vault).setPassword(user: "cleo", password: WebFixture.password)
        try await Application(router: f.router()).test(.router) { client in
            let cleo = try await client.login("cleo")
            try await client.execute(uri: "/calls", method: .get, headers: cleo.headers) { r in
                let html = String(buffer: r.body)
                #expect(html.contains("<option>telco-be</option>") && !html.contains("acme-energy"), "\(html.count)")
            }
            let dana = try await client.login("dana")
            try await client.execute(uri: "/calls", method: .get, headers: dana.headers) { r in
                let html = String(buffer: r.body)
                #expect(html.contains("<option>telco-be</option>") && html.contains("<option>acme-energy</option>"))
            }
        }
    }

    /// HEAD answers as GET does, with no body, on every GET route — and where GET has an effect (an audit
    /// event of a playback or an export, a bag written) HEAD has none, since nothing left.
    @Test func headAnswersLikeGetWithoutABodyOrItsEffects() async throws {
        let f = try WebFixture()
        let id = try f.recordings(team: "billing-nl")[0]
        var selection = HoldSelection()
        selection.tenant = "acme-energy"
        let hold = try Holds(vault: f.vault).place(kind: .legal, caseRef: "C-HEAD", note: nil, reviewAt: nil, selection: selection).holdID
        let before = try f.vault.catalog.db.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM audit_events WHERE action IN ('recording.played', 'export', 'evidence.exported')") ?? 0 }
        try await Application(router: f.router()).test(.router) { client in
            let dana = try await client.login("dana")
            for path in ["/healthz", "/login", "/calls", "/calls/\(id)", "/calls/\(id)/waveform.svg", "/calls/\(id)/audio", "/calls/\(id)/download",
                         "/calls.csv", "/holds", "/holds/\(hold)", "/holds/\(hold)/evidence.zip", "/report", "/audit", "/quarantine", "/requests"] {
                let got = try await client.execute(uri: path, method: .get, headers: dana.headers) { ($0.status, $0.headers[.contentType]) }
                try await client.execute(uri: path, method: .head, headers: dana.headers) { r in
                    #expect(r.status == got.0, "HEAD \(path)")
                    #expect(r.headers[.contentType] == got.1, "HEAD \(path): \(String(describing: r.headers[.contentType]))")
                    #expect(r.body.readableBytes == 0, "HEAD \(path) has no body")
                }
            }
            // The audio's length is the one GET sends.
            let length = try await client.execute(uri: "/calls/\(id)/audio", method: .get, headers: dana.headers) { $0.body.readableBytes }
            try await client.execute(uri: "/calls/\(id)/audio", method: .head, headers: dana.headers) { r in
                #expect(r.headers[.contentLength] == String(length))
            }
            // HEAD of what the user may not see is refused as GET is.
            let cora = try await client.login("cora")
            try await client.execute(uri: "/holds/\(hold)/evidence.zip", method: .head, headers: cora.headers) { #expect($0.status == .forbidden) }
        }
        // The GETs above: one playback, one export, one bag. The HEADs: nothing.
        let after = try f.vault.catalog.db.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM audit_events WHERE action IN ('recording.played', 'export', 'evidence.exported')") ?? 0 }
        #expect(after - before == 3, "\(after - before)")
    }

    /// The waveform is drawn from the audio: after logout, a restriction or an erasure it must not stay in the
    /// browser's cache.
    @Test func theWaveformIsNotCached() async throws {
        let f = try WebFixture()
        let id = try f.recordings(team: "billing-nl")[0]
        try await Application(router: f.router()).test(.router) { client in
            let b = try await client.login("cora")
            try await client.execute(uri: "/calls/\(id)/waveform.svg", method: .get, headers: b.headers) { r in
                #expect(r.status == .ok)
                #expect(r.headers[.cacheControl]?.contains("no-store") == true)
            }
        }
    }

    /// Opening a call's page is not a playback (the player fetches nothing before play); pressing play is,
    /// once per page view whatever ranges follow, and a second view played is a second playback.
    @Test func aPlaybackIsAuditedOncePerPageViewWhenPlayed() async throws {
        let f = try WebFixture()
        let id = try f.recordings(team: "billing-nl")[0]
        try await Application(router: f.router()).test(.router) { client in
            let b = try await client.login("cora")
            var views: [String] = []
            for _ in 0..<2 {
                try await client.execute(uri: "/calls/\(id)", method: .get, headers: b.headers) { r in
                    let html = String(buffer: r.body)
                    #expect(html.contains("preload=\"none\""))
                    let src = try #require(html.range(of: "src=\"/calls/\(id)/audio?view="))
                    views.append(String(html[src.upperBound...].prefix { $0 != "\"" }))
                }
            }
            #expect(try f.auditCount(action: "recording.played", target: id) == 0, "opening the page is not a playback")
            #expect(views.count == 2 && views[0] != views[1])
            for range in ["bytes=0-", "bytes=100-199", "bytes=5000-"] {
                try await client.execute(uri: "/calls/\(id)/audio?view=\(views[0])", method: .get, headers: b.headers([.range: range])) { _ in }
            }
            #expect(try f.auditCount(action: "recording.played", target: id) == 1)
            try await client.execute(uri: "/calls/\(id)/audio?view=\(views[1])", method: .get, headers: b.headers([.range: "bytes=0-"])) { _ in }
            #expect(try f.auditCount(action: "recording.played", target: id) == 2)
        }
    }

    /// The audit page says what happened in words, at times on the configured zone named once; the raw codes
    /// stay beside the words and alone in JSON. The quarantine lists what just happened first.
    @Test func officerPagesReadAsPeopleReadThem() async throws {
        let f = try WebFixture()
        let inbox = f.dir + "/bad"
        try FileManager.default.createDirectory(atPath: inbox + "/acme-energy", withIntermediateDirectories: true)
        for (i, name) in ["bad-duration-mismatch", "bad-audio-truncated"].enumerated() {
            for ext in ["json", "wav"] {
                try FileManager.default.copyItem(atPath: WebFixture.packageRoot + "/fixtures/inbox/acme-energy/\(name).\(ext)", toPath: inbox + "/acme-energy/\(name).\(ext)")
            }
            if i == 0 { _ = try Ingestor(vault: f.vault).ingest(paths: [inbox]); f.clock.advance(120) }
        }
        _ = try Ingestor(vault: f.vault).ingest(paths: [inbox])
        try await Application(router: f.router()).test(.router) { client in
            let root = try await client.login("root")
            try await client.execute(uri: "/quarantine", method: .get, headers: root.headers) { r in
                let html = String(buffer: r.body)
                let truncated = try #require(html.range(of: "audio_truncated")), mismatch = try #require(html.range(of: "duration_mismatch"))
                #expect(truncated.lowerBound < mismatch.lowerBound, "the newest entry first")
                #expect(html.contains("When (Europe/Brussels)"))
            }
            try await client.execute(uri: "/audit", method: .get, headers: root.headers) { r in
                let html = String(buffer: r.body)
                #expect(html.contains("When (Europe/Brussels)") && !html.contains("When (UTC)"))
                #expect(html.contains("logged in <span class=\"muted small mono\">auth.login</span>"))
                #expect(html.contains("quarantined a pair"))
            }
            try await client.execute(uri: "/audit", method: .get, headers: root.headers([.accept: "application/json"])) { r in
                let text = String(buffer: r.body)
                #expect(text.contains("\"auth.login\"") && !text.contains("logged in"))
            }
        }
    }

    /// Notes from the call page: CSRF-checked, line breaks kept, private to the author unless shared, shown
    /// as markers on the waveform and buttons that play from their moment; the author deletes them.
    @Test func notesOnTheCallPage() async throws {
        let f = try WebFixture()
        let id = try f.recordings(team: "billing-nl")[0]
        try await Application(router: f.router()).test(.router) { client in
            let cora = try await client.login("cora")
            let post: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]
            try await client.execute(uri: "/calls/\(id)/notes", method: .post, headers: cora.headers(post),
                                     body: form([("at", "2.5"), ("text", "no token")])) { #expect($0.status == .forbidden) }
            try await client.execute(uri: "/calls/\(id)/notes", method: .post, headers: cora.headers(post),
                                     body: form([("csrf", cora.csrf), ("at", "2.5"), ("text", "Greets by name\nthen checks the account")])) { r in
                #expect(r.status == .seeOther)
                #expect(r.headers[.location]?.hasPrefix("/calls/\(id)#note-") == true)
            }
            try await client.execute(uri: "/calls/\(id)/notes", method: .post, headers: cora.headers(post),
                                     body: form([("csrf", cora.csrf), ("at", "1"), ("text", "Shared with the team"), ("shared", "1")])) { #expect($0.status == .seeOther) }
            try await client.execute(uri: "/calls/\(id)/notes", method: .post, headers: cora.headers(post),
                                     body: form([("csrf", cora.csrf), ("at", "one"), ("text", "Kept <when> refused"), ("shared", "1")])) { r in
                #expect(r.status == .badRequest)
                let html = String(buffer: r.body)
                #expect(html.contains("in seconds") && !html.contains("--at"))
                // The call page again, the note as typed (escaped), the moment and the sharing too.
                #expect(html.contains("id=\"note-error\""))
                #expect(html.contains(">Kept &lt;when&gt; refused</textarea>"))
                #expect(html.contains("value=\"one\"") && html.contains("value=\"1\" checked"))
            }
            try await client.execute(uri: "/calls/\(id)", method: .get, headers: cora.headers) { r in
                let html = String(buffer: r.body)
                #expect(html.contains("Greets by name\nthen checks the account"))
                #expect(html.contains("data-seek=\"2.500\"") && html.contains("class=\"mark note\" data-at=\"2.500\""))
                #expect(html.contains("Shared with the team"))
            }
            let dana = try await client.login("dana")
            let noteID = try await client.execute(uri: "/calls/\(id)", method: .get, headers: dana.headers) { r -> String in
                let html = String(buffer: r.body)
                #expect(!html.contains("Greets by name"), "a private note is its author's alone")
                #expect(html.contains("Shared with the team"))
                #expect(!html.contains("/delete\""), "only the author may delete it")
                let start = try #require(html.range(of: "<li id=\"note-"))
                return String(html[start.upperBound...].prefix { $0 != "\"" })
            }
            try await client.execute(uri: "/notes/\(noteID)/delete", method: .post, headers: dana.headers(post),
                                     body: form([("csrf", dana.csrf)])) { #expect($0.status == .forbidden) }
            try await client.execute(uri: "/notes/\(noteID)/delete", method: .post, headers: cora.headers(post),
                                     body: form([("csrf", cora.csrf)])) { #expect($0.status == .seeOther) }
        }
        #expect(try f.auditCount(action: "note.added", target: id) == 2)
        #expect(try f.auditCount(action: "note.deleted", target: id) == 1)
    }

    /// The announcement review (SPEC §17) in the web app: the list for officers only; the call hidden from its
    /// coach until decided; the decision CSRF-checked, with a note; a refused one back with what was typed.
    @Test func announcementReviewInTheWebApp() async throws {
        let f = try WebFixture()
        let id = try f.recordings(team: "billing-nl")[0]
        // As ingest stores a barge-in (the CLI suite ingests a real one): matched from 0.3 s, 77 % of the prompt.
        try f.vault.catalog.db.write { db in
            try db.execute(sql: "UPDATE recordings SET announcement_verified = 'review', announcement_review_reason = 'partial', announcement_match = 'rec-notice-nl-v3', announcement_offset_ms = 300, announcement_score = 0.81, announcement_share = 0.77 WHERE id = ?",
                           arguments: [id])
        }
        try await Application(router: f.router()).test(.router) { client in
            let post: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]
            let cora = try await client.login("cora")
            try await client.execute(uri: "/review", method: .get, headers: cora.headers) { #expect($0.status == .forbidden) }
            try await client.execute(uri: "/calls/\(id)", method: .get, headers: cora.headers) { #expect($0.status == .forbidden || $0.status == .notFound) }
            try await client.execute(uri: "/calls", method: .get, headers: cora.headers) { r in
                #expect(!String(buffer: r.body).contains(id), "a call to review is not for coaching")
                #expect(!String(buffer: r.body).contains("href=\"/review\""))
            }
            let dana = try await client.login("dana")
            try await client.execute(uri: "/review", method: .get, headers: dana.headers) { r in
                #expect(r.status == .ok)
                let html = String(buffer: r.body)
                #expect(html.contains("href=\"/calls/\(id)#review\"") && html.contains("0.3 s") && html.contains("77 %"))
                #expect(html.contains("aria-current=\"page\">Review</a>"))
            }
            try await client.execute(uri: "/calls/\(id)", method: .get, headers: dana.headers) { r in
                let html = String(buffer: r.body)
                #expect(html.contains("id=\"review-form\"") && html.contains("data-seek=\"0.300\"") && html.contains("to review"))
            }
            try await client.execute(uri: "/calls/\(id)/review", method: .post, headers: dana.headers(post),
                                     body: form([("decision", "heard"), ("note", "no token")])) { #expect($0.status == .forbidden) }
            try await client.execute(uri: "/calls/\(id)/review", method: .post, headers: dana.headers(post),
                                     body: form([("csrf", dana.csrf), ("decision", "heard"), ("note", "   ")])) { r in
                #expect(r.status == .badRequest)
                let html = String(buffer: r.body)
                #expect(html.contains("id=\"review-error\"") && html.contains("value=\"heard\" required checked"))
            }
            try await client.execute(uri: "/calls/\(id)/review", method: .post, headers: dana.headers(post),
                                     body: form([("csrf", dana.csrf), ("decision", "heard"), ("note", "Heard <all> of it")])) { r in
                #expect(r.status == .seeOther && r.headers[.location] == "/review")
            }
            try await client.execute(uri: "/review", method: .get, headers: dana.headers) { r in
                let html = String(buffer: r.body)
                #expect(html.contains("id=\"review-result\"") && html.contains("id=\"review-empty\""))
            }
            try await client.execute(uri: "/calls/\(id)", method: .get, headers: cora.headers) { #expect($0.status == .ok, "decided heard: the coach may use it") }
        }
        #expect(try f.auditCount(action: "announcement.reviewed", target: id) == 1)
    }

    /// The waveform's lanes are named by who speaks on each channel when the tenant says (`channels`), by
    /// number when it does not; a multi-channel call has mute and solo per lane, a mono call none.
    @Test(arguments: [true, false])
    func lanesAreNamedByParty(mapped: Bool) async throws {
        let f = try WebFixture(tenantSettings: mapped ? ["telco-be": "channels = [\"agent\", \"caller\"]"] : [:])
        let (stereo, mono) = try f.vault.catalog.db.read { db in
            (try String.fetchOne(db, sql: "SELECT id FROM recordings WHERE tenant = 'telco-be' AND channels = 2"),
             try String.fetchOne(db, sql: "SELECT id FROM recordings WHERE channels = 1"))
        }
        let two = try #require(stereo), one = try #require(mono)
        try await Application(router: f.router()).test(.router) { client in
            let dana = try await client.login("dana")
            try await client.execute(uri: "/calls/\(two)", method: .get, headers: dana.headers) { r in
                let html = String(buffer: r.body)
                let names = mapped ? ["Agent", "Caller"] : ["Channel 1", "Channel 2"]
                #expect(html.contains("<div class=\"lane-names\" aria-hidden=\"true\"><span>\(names[0])</span><span>\(names[1])</span></div>"))
                for (i, name) in names.enumerated() {
                    #expect(html.contains("data-lane=\"\(i)\""))
                    #expect(html.contains("aria-label=\"Mute \(name)\"") && html.contains("aria-label=\"Solo \(name)\""))
                }
            }
            try await client.execute(uri: "/calls/\(one)", method: .get, headers: dana.headers) { r in
                let html = String(buffer: r.body)
                #expect(!html.contains("data-lane="), "one channel: nothing to mute")
                #expect(!html.contains("class=\"lane-names\""), "nor lanes to name")
            }
        }
    }

    /// Single sign-on requests of a name that is no user (or a disabled one) are counted, not each written
    /// and fsynced: one `auth.failed` a minute with how many it stands for.
    @Test func singleSignOnFailuresAreAggregated() async throws {
        let f = try WebFixture(extraConfiguration: "[web]\ntrusted_header = \"X-Remote-User\"\ntrusted_proxies = [\"127.0.0.1/32\"]\n")
        try await Application(router: f.router(), configuration: .init(address: .hostname("127.0.0.1", port: 0))).test(.live) { client in
            for _ in 0..<20 {
                try await client.execute(uri: "/calls", method: .get, headers: [HTTPField.Name("X-Remote-User")!: "mallory"]) { #expect($0.status == .forbidden) }
            }
            #expect(try f.auditCount(action: "auth.failed") == 1)
            f.clock.advance(61)
            try await client.execute(uri: "/calls", method: .get, headers: [HTTPField.Name("X-Remote-User")!: "mallory"]) { _ in }
        }
        let details = try f.vault.catalog.db.read { db in try String.fetchAll(db, sql: "SELECT details FROM audit_events WHERE action = 'auth.failed' ORDER BY seq") }
        #expect(details.count == 2 && details[1].contains("\"repeated\":\"19\""), "\(details)")
        #expect(!details.joined().contains("mallory"), "the typed name is never recorded")
    }

    @Test func listingFiltersPagesAndCSV() async throws {
        let f = try WebFixture()
        try await Application(router: f.router()).test(.router) { client in
            let b = try await client.login("dana")
            var seen: [String] = []
            var cursor: String? = nil
            repeat {
                let uri = "/calls?limit=4" + (cursor.map { "&cursor=" + ($0.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "") } ?? "")
                cursor = try await client.execute(uri: uri, method: .get, headers: b.headers([.accept: "application/json"])) { r -> String? in
                    let o = try JSONSerialization.jsonObject(with: Data(buffer: r.body)) as! [String: Any]
                    seen += (o["recordings"] as! [[String: Any]]).map { $0["recording_id"] as! String }
                    return o["next_cursor"] as? String
                }
            } while cursor != nil
            #expect(seen.count == 6 && Set(seen).count == 6)
            try await client.execute(uri: "/calls?tenant=telco-be&direction=inbound", method: .get, headers: b.headers([.accept: "application/json"])) { r in
                let o = try JSONSerialization.jsonObject(with: Data(buffer: r.body)) as! [String: Any]
                #expect((o["recordings"] as! [[String: Any]]).allSatisfy { $0["tenant"] as? String == "telco-be" && $0["direction"] as? String == "inbound" })
            }
            try await client.execute(uri: "/calls?limit=0", method: .get, headers: b.headers) { #expect($0.status == .badRequest) }
            try await client.execute(uri: "/calls?from=yesterday", method: .get, headers: b.headers) { #expect($0.status == .badRequest) }
            try await client.execute(uri: "/calls.csv?tenant=acme-energy", method: .get, headers: b.headers) { r in
                #expect(r.status == .ok)
                #expect(r.headers[.contentType]?.hasPrefix("text/csv") == true)
                let lines = String(buffer: r.body).split(separator: "\n")
                #expect(lines.first?.hasPrefix("recording_id,call_id,tenant") == true)
                #expect(lines.count == 4)
                // Times on the tenant's wall clock (Europe/Brussels: +01:00 or +02:00), never bare UTC.
                let header = lines[0].split(separator: ",").map(String.init)
                let started = try #require(header.firstIndex(of: "started_at"))
                for line in lines.dropFirst() {
                    let cell = String(line.split(separator: ",", omittingEmptySubsequences: false)[started])
                    #expect(cell.hasSuffix("+01:00") || cell.hasSuffix("+02:00"), "\(cell)")
                }
            }
            try await client.execute(uri: "/calls?tenant=acme-energy", method: .get, headers: b.headers([.accept: "application/json"])) { r in
                let o = try JSONSerialization.jsonObject(with: Data(buffer: r.body)) as! [String: Any]
                #expect((o["recordings"] as! [[String: Any]]).allSatisfy { ($0["started_at"] as? String)?.hasSuffix("Z") == true }, "JSON keeps UTC")
            }
            try await client.execute(uri: "/calls", method: .get, headers: b.headers) { r in
                let html = String(buffer: r.body)
                #expect(html.contains("Europe/Brussels"))
                #expect(html.contains("<th>Hold</th>"))
            }
        }
    }

    @Test func audioAnswersRangesAndAuditsOnePlayback() async throws {
        let f = try WebFixture()
        let id = try f.recordings(team: "billing-nl")[0]
        try await Application(router: f.router()).test(.router) { client in
            let b = try await client.login("cora")
            let length = try await client.execute(uri: "/calls/\(id)/audio", method: .get, headers: b.headers) { r -> Int in
                #expect(r.status == .ok)
                #expect(r.headers[.acceptRanges] == "bytes")
                #expect(r.headers[.contentType] == "audio/wav")
                return r.body.readableBytes
            }
            #expect(length > 44)
            try await client.execute(uri: "/calls/\(id)/audio", method: .get, headers: b.headers([.range: "bytes=0-"])) { r in
                #expect(r.status == .partialContent)
                #expect(r.headers[.contentRange] == "bytes 0-\(length - 1)/\(length)")
                #expect(r.body.readableBytes == length)
            }
            try await client.execute(uri: "/calls/\(id)/audio", method: .get, headers: b.headers([.range: "bytes=100-199"])) { r in
                #expect(r.status == .partialContent)
                #expect(r.body.readableBytes == 100)
            }
            try await client.execute(uri: "/calls/\(id)/audio", method: .get, headers: b.headers([.range: "bytes=-10"])) { r in
                #expect(r.headers[.contentRange] == "bytes \(length - 10)-\(length - 1)/\(length)")
            }
            try await client.execute(uri: "/calls/\(id)/audio", method: .get, headers: b.headers([.range: "bytes=\(length)-"])) { r in
                #expect(r.status == .rangeNotSatisfiable)
                #expect(r.headers[.contentRange] == "bytes */\(length)")
            }
            // Playing is not downloading: a coach may not download unless the configuration says so.
            try await client.execute(uri: "/calls/\(id)/download", method: .get, headers: b.headers) { #expect($0.status == .forbidden) }
        }
        #expect(try f.auditCount(action: "recording.played", target: id) == 1)
    }

    @Test func audioWhoseRetentionEndedAnswers410() async throws {
        let f = try WebFixture()
        let id = try f.recordings(team: "support-fr")[0]
        f.clock.advance(40 * 86_400)
        _ = try Sweeper(vault: f.vault).sweep(now: f.clock.now(), dryRun: false)
        try await Application(router: f.router()).test(.router) { client in
            let b = try await client.login("dana")
            try await client.execute(uri: "/calls/\(id)/audio", method: .get, headers: b.headers) { #expect($0.status == .gone) }
            try await client.execute(uri: "/calls/\(id)/download", method: .get, headers: b.headers) { #expect($0.status == .gone) }
            try await client.execute(uri: "/calls/\(id)", method: .get, headers: b.headers) { r in
                #expect(r.status == .ok)
                #expect(String(buffer: r.body).contains("was deleted at the end of its retention"))
                #expect(!String(buffer: r.body).contains("<audio"))
            }
        }
    }

    @Test func complianceDownloadsAndTheDownloadIsAnAuditedExport() async throws {
        let f = try WebFixture()
        let id = try f.recordings(team: "support-fr")[0]
        try await Application(router: f.router()).test(.router) { client in
            let b = try await client.login("dana")
            try await client.execute(uri: "/calls/\(id)/download", method: .get, headers: b.headers) { r in
                #expect(r.status == .ok)
                #expect(r.headers[.contentDisposition]?.hasPrefix("attachment; filename=\"\(id).") == true)
            }
        }
        #expect(try f.auditCount(action: "export", target: id) == 1)
    }

    /// Altered after ingest (same size): the download is refused, not sent with the catalog's hash in the audit,
    /// and playback is refused too; both refusals audited. A coach without the download right never gets the
    /// stored file from `/audio`.
    @Test func anAlteredRecordingLeavesByNoWayAndACoachGetsNoOriginal() async throws {
        let f = try WebFixture()
        let id = try f.recordings(team: "billing-nl")[0]
        let path = f.vault.files.absolute(try #require(try f.vault.catalog.recording(id: id)).audioPath)
        let original = try Data(contentsOf: URL(fileURLWithPath: path))
        try await Application(router: f.router()).test(.router) { client in
            let coach = try await client.login("cora")
            try await client.execute(uri: "/calls/\(id)/audio", method: .get, headers: coach.headers) { r in
                #expect(r.status == .ok)
                #expect(Data(r.body.readableBytesView) != original, "a rendition, not the evidence file")
            }
            var bytes = original
            bytes[100] ^= 0xFF
            try bytes.write(to: URL(fileURLWithPath: path))
            let dpo = try await client.login("dana")
            try await client.execute(uri: "/calls/\(id)/download", method: .get, headers: dpo.headers) { r in
                #expect(r.status == .internalServerError)
                #expect(!String(buffer: r.body).contains("RIFF"))
            }
            try await client.execute(uri: "/calls/\(id)/audio", method: .get, headers: dpo.headers([.range: "bytes=0-1023"])) { r in
                #expect(r.status == .internalServerError)
            }
        }
        #expect(try f.auditCount(action: "export", target: id) == 0, "the trail does not say the evidence left")
        #expect(try f.auditCount(action: "recording.export_refused", target: id) == 2)
    }

    /// The hold page's "Export evidence" is the signed bag as one zip, for officers; the export is audited.
    @Test func aHoldsEvidenceIsOneZipForOfficersOnly() async throws {
        let f = try WebFixture()
        var selection = HoldSelection()
        selection.tenant = "telco-be"
        let hold = try Holds(vault: f.vault).place(kind: .legal, caseRef: "C-EV", note: nil, reviewAt: nil, selection: selection).holdID
        try await Application(router: f.router()).test(.router) { client in
            let dpo = try await client.login("dana")
            try await client.execute(uri: "/holds/\(hold)", method: .get, headers: dpo.headers) { r in
                #expect(String(buffer: r.body).contains("href=\"/holds/\(hold)/evidence.zip\""))
            }
            try await client.execute(uri: "/holds/\(hold)/evidence.zip", method: .get, headers: dpo.headers) { r in
                #expect(r.status == .ok)
                #expect(r.headers[.contentType] == "application/zip")
                #expect(r.headers[.contentDisposition]?.contains("callvault-evidence-\(hold)-") == true)
                #expect(r.body.getBytes(at: 0, length: 2) == [0x50, 0x4B])
            }
            let coach = try await client.login("cora")
            try await client.execute(uri: "/holds/\(hold)/evidence.zip", method: .get, headers: coach.headers) { #expect($0.status == .forbidden) }
        }
        #expect(try f.auditCount(action: "evidence.exported", target: hold) == 1)
        let leftovers = (try? FileManager.default.contentsOfDirectory(atPath: f.store + "/tmp")) ?? []
        #expect(leftovers.isEmpty, "the bag's temporary folder, inside the store, is removed: \(leftovers)")
    }

    @Test func coachDownloadIsASetting() async throws {
        let f = try WebFixture(extraConfiguration: "[web]\ncoach_download = true\n")
        let id = try f.recordings(team: "billing-nl")[0]
        try await Application(router: f.router()).test(.router) { client in
            let b = try await client.login("cora")
            try await client.execute(uri: "/calls/\(id)/download", method: .get, headers: b.headers) { #expect($0.status == .ok) }
        }
    }

    @Test func complianceHoldsAndReleasesWithCSRF() async throws {
        let f = try WebFixture()
        let id = try f.recordings(team: "billing-nl")[0]
        try await Application(router: f.router()).test(.router) { client in
            let b = try await client.login("dana")
            let hold = [("kind", "legal"), ("case", "CASE-<b>7</b>"), ("note", "complaint"), ("recording", id)]
            try await client.execute(uri: "/holds", method: .post, headers: b.headers([.contentType: "application/x-www-form-urlencoded"]),
                                     body: form(hold)) { #expect($0.status == .forbidden) }
            // A token one character off (never the token itself, whatever its first character).
            try await client.execute(uri: "/holds", method: .post, headers: b.headers([.contentType: "application/x-www-form-urlencoded"]),
                                     body: form(hold + [("csrf", (b.csrf.hasPrefix("0") ? "1" : "0") + b.csrf.dropFirst())])) { #expect($0.status == .forbidden) }
            // A refused hold (a review date already past) comes back as the form, with what was typed.
            let yesterday = String(Timestamp.utc(TestDays.now.addingTimeInterval(-86_400)).prefix(10))
            try await client.execute(uri: "/holds", method: .post, headers: b.headers([.contentType: "application/x-www-form-urlencoded"]),
                                     body: form(hold + [("csrf", b.csrf), ("review_at", yesterday)])) { r in
                #expect(r.status == .badRequest)
                let html = String(buffer: r.body)
                #expect(html.contains("id=\"hold-error\"") && html.contains("in the past"))
                #expect(html.contains("value=\"CASE-&lt;b&gt;7&lt;/b&gt;\"") && html.contains("value=\"complaint\""))
                #expect(html.contains("<option value=\"legal\" selected>") && html.contains(">\(id)</textarea>"))
            }
            // A kind the form does not offer: refused, naming the field in words.
            try await client.execute(uri: "/holds", method: .post, headers: b.headers([.contentType: "application/x-www-form-urlencoded"]),
                                     body: form([("kind", "lawsuit"), ("case", "C-2"), ("recording", id), ("csrf", b.csrf)])) { r in
                #expect(r.status == .badRequest)
                #expect(String(buffer: r.body).contains("The kind: incident or legal"))
            }
            #expect(try f.auditCount(action: "hold.placed") == 0)
            let location = try await client.execute(uri: "/holds", method: .post, headers: b.headers([.contentType: "application/x-www-form-urlencoded"]),
                                                    body: form(hold + [("csrf", b.csrf)])) { r -> String in
                #expect(r.status == .seeOther)
                return r.headers[.location] ?? ""
            }
            #expect(location.hasPrefix("/holds/"))
            // The call as JSON is `show --json`'s object: the stored file's facts and the holds in full.
            try await client.execute(uri: "/calls/\(id)", method: .get, headers: b.headers([.accept: "application/json"])) { r in
                let o = try JSONSerialization.jsonObject(with: Data(buffer: r.body)) as! [String: Any]
                for key in ["audio_path", "sha256", "format", "sample_rate", "channels", "audio_deleted_at", "on_hold"] { #expect(o[key] != nil, "\(key)") }
                let holds = o["holds"] as? [[String: Any]] ?? []
                #expect(holds.count == 1 && holds[0]["placed_by"] as? String == "dana" && holds[0]["case_ref"] as? String == "CASE-<b>7</b>")
            }
            try await client.execute(uri: "/holds", method: .get, headers: b.headers) { r in
                let html = String(buffer: r.body)
                #expect(html.contains("CASE-&lt;b&gt;7&lt;/b&gt;"))
                #expect(!html.contains("CASE-<b>"))
            }
            let c = try await client.login("cora")
            try await client.execute(uri: "/calls/\(id)", method: .get, headers: c.headers) { r in
                #expect(!String(buffer: r.body).contains("CASE-"))
            }
            try await client.execute(uri: location + "/release", method: .post, headers: b.headers([.contentType: "application/x-www-form-urlencoded", .xCSRFTokenForTests: b.csrf]),
                                     body: form([("note", "closed")])) { #expect($0.status == .seeOther) }
            try await client.execute(uri: location, method: .get, headers: b.headers([.accept: "application/json"])) { r in
                let o = try JSONSerialization.jsonObject(with: Data(buffer: r.body)) as! [String: Any]
                #expect(o["released_by"] as? String == "dana")
            }
        }
        #expect(try f.auditCount(action: "hold.placed") == 1)
        #expect(try f.auditCount(action: "hold.released") == 1)
    }

    /// A hold from the web as the CLI places one: by the caller's number as people type it, the matching calls
    /// shown (by start time and agent) before anything is held; a review date in the past is refused with the
    /// form kept as typed; what was placed is confirmed on the hold's page, which lists its calls.
    @Test func aHoldIsPlacedFromTheWebByCallerAfterSeeingItsCalls() async throws {
        let f = try WebFixture()
        let expected = try f.vault.catalog.db.read { db in
            try Int.fetchOne(db, sql: "SELECT count(*) FROM recordings WHERE tenant = 'acme-energy' AND (caller = '+32470123456' OR callee = '+32470123456')") ?? 0
        }
        #expect(expected > 0)
        try await Application(router: f.router()).test(.router) { client in
            let b = try await client.login("dana")
            try await client.execute(uri: "/holds/new?tenant=acme-energy&caller=%2B32+470+12+34+56&queue=billing", method: .get, headers: b.headers) { r in
                let html = String(buffer: r.body)
                #expect(html.contains(expected == 1 ? "1 call matches" : "\(expected) calls match"), "\(html.count)")
                #expect(html.contains("id=\"match-table\"") && html.contains("a-1042"))
                #expect(html.contains("Place the hold on \(expected) call"))
            }
            #expect(try f.auditCount(action: "hold.placed") == 0, "showing the calls holds nothing")
            let post: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]
            let yesterday = String(Timestamp.utc(f.clock.now().addingTimeInterval(-86_400)).prefix(10))
            let fields = [("csrf", b.csrf), ("via", "selection"), ("tenant", "acme-energy"), ("caller", "+32 470 12 34 56"), ("queue", "billing"),
                          ("kind", "legal"), ("case", "C-77"), ("note", "complaint")]
            try await client.execute(uri: "/holds", method: .post, headers: b.headers(post), body: form(fields + [("review_at", yesterday)])) { r in
                #expect(r.status == .badRequest)
                let html = String(buffer: r.body)
                #expect(html.contains("in the past") && html.contains("value=\"C-77\"") && html.contains("value=\"+32 470 12 34 56\""), "the form keeps what was typed")
                #expect(!html.contains("--review"), "no command-line flag in the user's error")
            }
            #expect(try f.auditCount(action: "hold.placed") == 0)
            let later = String(Timestamp.utc(f.clock.now().addingTimeInterval(20 * 86_400)).prefix(10))
            let location = try await client.execute(uri: "/holds", method: .post, headers: b.headers(post), body: form(fields + [("review_at", later)])) { r -> String in
                #expect(r.status == .seeOther)
                return r.headers[.location] ?? ""
            }
            try await client.execute(uri: location, method: .get, headers: b.headers) { r in
                let html = String(buffer: r.body)
                #expect(html.contains("Placed a legal hold for case C-77 on \(expected == 1 ? "1 call" : "\(expected) calls")"), "\(html.count)")
                #expect(html.contains("id=\"hold-calls\"") && html.contains("a-1042"))
            }
        }
        #expect(try f.auditCount(action: "hold.placed") == 1)
    }

    /// A hold that keeps a call waiting for an erasure says so, and its release asks for the same confirmation
    /// as `hold release --confirm-erasure`: without it nothing is released and nothing erased.
    @Test func releasingAHoldThatErasesAsksForConfirmation() async throws {
        let f = try WebFixture()
        let admin = f.vault
        let held = try admin.catalog.db.read { db in
            try String.fetchOne(db, sql: "SELECT id FROM recordings WHERE caller = '+32470123456' AND tenant = 'acme-energy' ORDER BY id LIMIT 1")
        }
        let id = try #require(held)
        var selection = HoldSelection()
        selection.recordingIDs = [id]
        let hold = try Holds(vault: admin).place(kind: .legal, caseRef: "C-9", note: nil, reviewAt: nil, selection: selection).holdID
        let req = try Requests(vault: admin).open(kind: .erasure, subjects: ["+32470123456"], tenant: "acme-energy", received: f.clock.now(),
                                                  reference: "DSR-W1", note: nil).request.id
        _ = try Requests(vault: admin).erase(id: req, dryRun: false)
        try await Application(router: f.router()).test(.router) { client in
            let b = try await client.login("dana")
            try await client.execute(uri: "/holds/\(hold)", method: .get, headers: b.headers) { r in
                let html = String(buffer: r.body)
                #expect(html.contains("id=\"erasure-pending\"") && html.contains(req), "the hold page names the request")
                #expect(html.contains("name=\"confirm_erasure\""))
            }
            try await client.execute(uri: "/holds/\(hold)/release", method: .post, headers: b.headers([.contentType: "application/x-www-form-urlencoded"]),
                                     body: form([("csrf", b.csrf), ("note", "closed")])) { r in
                #expect(r.status == .badRequest, "\(r.status)")
                #expect(String(buffer: r.body).contains("--confirm-erasure") || String(buffer: r.body).contains("erases 1 call"))
            }
            #expect(try f.recordings().contains(id), "refused: nothing erased")
            try await client.execute(uri: "/holds/\(hold)/release", method: .post, headers: b.headers([.contentType: "application/x-www-form-urlencoded"]),
                                     body: form([("csrf", b.csrf), ("note", "closed"), ("confirm_erasure", "yes")])) { #expect($0.status == .seeOther) }
            #expect(try !f.recordings().contains(id), "confirmed: erased with the release")
        }
    }

    @Test func officerPagesRender() async throws {
        let f = try WebFixture()
        var selection = HoldSelection()
        selection.recordingIDs = [try f.recordings(team: "billing-nl")[0]]
        _ = try Holds(vault: f.vault).place(kind: .legal, caseRef: "REVIEW-ME", note: nil, reviewAt: f.clock.now().addingTimeInterval(3600), selection: selection)
        f.clock.advance(2 * 3600)
        try await Application(router: f.router()).test(.router) { client in
            let b = try await client.login("dana")
            try await client.execute(uri: "/report", method: .get, headers: b.headers) { r in
                #expect(r.status == .ok)
                let html = String(buffer: r.body)
                #expect(html.contains("id=\"holds-due\"") && html.contains("case REVIEW-ME"))
                #expect(html.contains("<svg class=\"chart\" id=\"chart-announcement\""))
                #expect(html.contains("<svg class=\"chart\" id=\"chart-flows\""))
            }
            try await client.execute(uri: "/audit?verify=1", method: .get, headers: b.headers) { r in
                #expect(String(buffer: r.body).contains("The chain verifies"))
            }
            // The quarantine is the admin's.
            try await client.execute(uri: "/quarantine", method: .get, headers: b.headers) { #expect($0.status == .forbidden) }
            let root = try await client.login("root")
            try await client.execute(uri: "/quarantine", method: .get, headers: root.headers) { #expect($0.status == .ok) }
        }
    }

    @Test func aTrustedHeaderCountsOnlyFromATrustedProxy() async throws {
        let f = try WebFixture(extraConfiguration: "[web]\ntrusted_header = \"X-Remote-User\"\ntrusted_proxies = [\"127.0.0.1/32\"]\n")
        // In process there is no peer address: the header is not believed.
        try await Application(router: f.router()).test(.router) { client in
            try await client.execute(uri: "/calls", method: .get, headers: [HTTPField.Name("X-Remote-User")!: "dana"]) { #expect($0.status == .seeOther) }
        }
        // Over loopback (a trusted proxy) it is.
        try await Application(router: f.router(), configuration: .init(address: .hostname("127.0.0.1", port: 0))).test(.live) { client in
            try await client.execute(uri: "/calls", method: .get, headers: [HTTPField.Name("X-Remote-User")!: "dana", .accept: "application/json"]) { r in
                #expect(r.status == .ok)
                #expect(r.headers[.setCookie]?.contains("HttpOnly") == true)
            }
            try await client.execute(uri: "/calls", method: .get, headers: [HTTPField.Name("X-Remote-User")!: "mallory", .accept: "application/json"]) { #expect($0.status == .forbidden) }
        }
        let g = try WebFixture(extraConfiguration: "[web]\ntrusted_header = \"X-Remote-User\"\ntrusted_proxies = [\"10.0.0.0/8\"]\n")
        try await Application(router: g.router(), configuration: .init(address: .hostname("127.0.0.1", port: 0))).test(.live) { client in
            try await client.execute(uri: "/calls", method: .get, headers: [HTTPField.Name("X-Remote-User")!: "dana", .accept: "application/json"]) { #expect($0.status == .unauthorized) }
        }
    }

    @Test func rangeHeaderParsing() {
        let r = { (h: String?) in AudioResponse.range(h, length: 100) }
        #expect(r("bytes=0-") == .part(start: 0, end: 99))
        #expect(r("bytes=10-19") == .part(start: 10, end: 19))
        #expect(r("bytes=90-500") == .part(start: 90, end: 99))
        #expect(r("bytes=-5") == .part(start: 95, end: 99))
        #expect(r("bytes=-500") == .part(start: 0, end: 99))
        #expect(r("bytes=100-") == .unsatisfiable)
        #expect(r("bytes=-0") == .unsatisfiable)
        #expect(r("bytes=5-2") == .whole)
        #expect(r("items=0-1") == .whole)
        #expect(r("bytes=a-b") == .whole)
        // Positions past Int64 saturate: a start beyond any file, an end or a suffix that covers it all.
        #expect(r("bytes=99999999999999999999-") == .unsatisfiable)
        #expect(r("bytes=0-99999999999999999999") == .part(start: 0, end: 99))
        #expect(r("bytes=-99999999999999999999") == .part(start: 0, end: 99))
        #expect(r(nil) == .whole)
    }
}

extension HTTPField.Name {
    static let xCSRFTokenForTests = HTTPField.Name("X-CSRF-Token")!
}
