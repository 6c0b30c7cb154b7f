import AsyncHTTPClient
import Fluent
import Foundation
import Media
import NIOHTTP1
import Testing
import VaporTesting

@testable import App

/// The security findings' rules, on SQLite and (with `DATABASE_URL`) PostgreSQL: atomic sign-in limits per
/// account, quota held against racing uploads, playlists refused, clamped pages, signed URLs that end with a
/// privacy change, one 404 for hidden and missing, signed visitor ids, safe `next=`, headers, heartbeats.
@Suite("Security: limits, quotas, playlists, signed URLs, headers", .serialized)
struct SecurityTests {
    @Test("30 concurrent wrong passwords: at most 5 are checked, the rest are 429; username and e-mail count as one account")
    func signInLimitIsAtomicAndPerAccount() async throws {
        try await withApp { app in
            // given
            let accounts = Accounts.service(app)
            try await Accounts.user(app, "target")

            // when: 30 guesses at once, each from its own address
            let outcomes = await withTaskGroup(of: String.self) { group in
                for i in 0..<30 {
                    group.addTask {
                        do {
                            _ = try await accounts.authenticate(login: "target", password: "wrong-\(i)", address: "203.0.113.\(i)")
                            return "ok"
                        } catch let failure as AuthFailure {
                            return failure == .wrongCredentials ? "401" : "429"
                        } catch {
                            return "error: \(error)"
                        }
                    }
                }
                return await group.reduce(into: []) { $0.append($1) }
            }

            // then
            #expect(outcomes.filter { $0 == "401" }.count == 5, "\(outcomes)")
            #expect(outcomes.filter { $0 == "429" }.count == 25, "\(outcomes)")
            // and the right password is refused too until the window ends, whatever the spelling
            await #expect(throws: AuthFailure.self) {
                _ = try await accounts.authenticate(login: "TARGET@example.com", password: Accounts.password, address: "198.51.100.1")
            }

            // given another account, guessed through both spellings
            try await Accounts.user(app, "twofaced")
            var answers: [String] = []
            for login in ["twofaced", "twofaced@example.com", "twofaced", "TwoFaced@Example.com", "twofaced", "twofaced@example.com"] {
                do {
                    _ = try await accounts.authenticate(login: login, password: "nope", address: "198.51.100.2")
                } catch let failure as AuthFailure {
                    answers.append(failure == .wrongCredentials ? "401" : "429")
                }
            }
            #expect(answers == ["401", "401", "401", "401", "401", "429"])
        }
    }

    @Test("A successful sign-in clears its account's count and does not count against its address")
    func successResetsTheAccount() async throws {
        try await withApp { app in
            let accounts = Accounts.service(app)
            try await Accounts.user(app, "forgetful")
            for _ in 0..<4 {
                await #expect(throws: AuthFailure.wrongCredentials) {
                    _ = try await accounts.authenticate(login: "forgetful", password: "nope", address: "192.0.2.9")
                }
            }
            _ = try await accounts.authenticate(login: "forgetful", password: Accounts.password, address: "192.0.2.9")
            for _ in 0..<5 {
                await #expect(throws: AuthFailure.wrongCredentials) {
                    _ = try await accounts.authenticate(login: "forgetful", password: "nope", address: "192.0.2.9")
                }
            }
        }
    }

    @Test("A disabled account gets the same answer with the right and a wrong password")
    func disabledAccountTellsNothingAboutThePassword() async throws {
        try await withApp { app in
            let user = try await Accounts.user(app, "banned")
            user.disabled = true
            try await user.save(on: app.db)
            let accounts = Accounts.service(app)
            await #expect(throws: AuthFailure.disabled) {
                _ = try await accounts.authenticate(login: "banned", password: Accounts.password, address: nil)
            }
            await #expect(throws: AuthFailure.disabled) {
                _ = try await accounts.authenticate(login: "banned", password: "not the password", address: nil)
            }
        }
    }

    @Test("Five concurrent uploads that each fit but not together: at most one is stored, and renditions count")
    func quotaIsHeldBeforeTheBody() async throws {
        try await withApp(settings: { $0.userQuotaBytes = 5_000_000 }) { app in
            // given
            let user = try await Accounts.user(app, "hoarder")
            let uploads = UploadService(db: app.db, storage: app.videotube.storage, maxUploadBytes: 1 << 30, userQuotaBytes: 5_000_000)

            // when: five holds of 3 MB at once
            let held = await withTaskGroup(of: QuotaReservation?.self) { group in
                for _ in 0..<5 {
                    group.addTask { try? await uploads.reserve(user: user, length: 3_000_000).hold }
                }
                return await group.reduce(into: [QuotaReservation]()) { if let hold = $1 { $0.append(hold) } }
            }

            // then
            #expect(held.count <= 1)
            #expect(try await uploads.usedBytes(user: user) <= 5_000_000)
            for hold in held { await uploads.release(hold) }
            #expect(try await uploads.usedBytes(user: user) == 0)

            // and a stored video counts what it stores in all, not only its file
            let token = try await Accounts.token(app, user)
            _ = try await api(app, .POST, "/api/v1/channels", token: token, json: ["handle": "hoard", "name": "Hoard"])
            let (_, videoID) = try await Accounts.channelWithVideo(app, owner: user, handle: "hoard")
            let video = try #require(try await Video.find(videoID, on: app.db))
            video.storedBytes = 4_900_000
            try await video.save(on: app.db)
            await #expect(throws: (any Error).self) { _ = try await uploads.reserve(user: user, length: 200_000) }
        }
    }

    @Test("An upload that is really a playlist or a concat list is refused as such, and nothing is kept")
    func playlistUploadsAreRefused() async throws {
        try await withApp { app in
            // given
            let user = try await Accounts.user(app, "sneak")
            let token = try await Accounts.token(app, user)
            _ = try await api(app, .POST, "/api/v1/channels", token: token, json: ["handle": "sneak", "name": "Sneak"])
            let (_, victim) = try await Accounts.channelWithVideo(app, owner: try await Accounts.user(app, "victim"), handle: "victim")
            let key = try #require(try await Video.find(victim, on: app.db)).mediaKey

            for body in [
                "#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:2,\n../../\(key)\n#EXT-X-ENDLIST\n",
                "ffconcat version 1.0\nfile ../../\(key)\n",
            ] {
                // when
                let res = try await api(
                    app, .POST, "/api/v1/videos?channel=sneak&filename=clip.mp4", token: token,
                    headers: ["Content-Type": "video/mp4"], body: ByteBuffer(string: body))

                // then
                #expect(res.status == .unprocessableEntity)
                let message = ((res.json["error"] as? [String: Any])?["message"] as? String) ?? ""
                #expect(message.contains("playlist or list of other files"), "\(message)")
            }
            #expect(try await Video.query(on: app.db).count() == 1)
            let uploads = app.videotube.config.mediaDirectory + "/uploads"
            let left = (FileManager.default.enumerator(atPath: uploads)?.allObjects as? [String] ?? []).filter { $0.hasSuffix(".part") }
            #expect(left.isEmpty)
        }
    }

    @Test("Page numbers are clamped before any arithmetic")
    func pageWindowsNeverOverflow() {
        let huge = PageWindow(page: .max, perPage: 100)
        #expect(huge.page == PageWindow.maxPage)
        #expect(huge.rows.lowerBound == (PageWindow.maxPage - 1) * 100)
        #expect(huge.next(total: .max) == nil)
        #expect(PageWindow(page: .min, perPage: 50).page == 1)
        #expect(PageWindow(page: nil, perPage: .max).perPage == 1000)
        #expect(PageWindow(page: 2, perPage: 50).next(total: 101) == 3)
        #expect(PageWindow(page: 3, perPage: 50).next(total: 101) == nil)
    }

    @Test("The admin's video and watch-log pages answer page=Int.max instead of trapping")
    func adminPagesWithHugePageNumbers() async throws {
        try await withApp { app in
            try await Accounts.user(app, "root", admin: true)
            let browser = Browser(app)
            try await browser.signIn("root")
            #expect(try await browser.get("/admin/videos?page=9223372036854775807").status == .ok)
            #expect(try await browser.get("/admin/watch-log?page=9223372036854775807").status == .ok)
            #expect(try await browser.get("/admin/videos?page=-9223372036854775808").status == .ok)
        }
    }

    @Test("A stranger gets the same 404 for someone's private video as for a missing one; a public one is 403")
    func hiddenAndMissingLookAlike() async throws {
        try await withApp { app in
            let owner = try await Accounts.user(app, "hider")
            let (_, hidden) = try await Accounts.channelWithVideo(app, owner: owner, handle: "hider", visibility: .private)
            let (_, shown) = try await Accounts.channelWithVideo(app, owner: owner, handle: "hider")
            let stranger = try await Accounts.token(app, try await Accounts.user(app, "prober"))
            for (method, suffix) in [(HTTPMethod.PATCH, ""), (.GET, "/processing"), (.DELETE, "")] {
                let a = try await api(app, method, "/api/v1/videos/\(hidden)\(suffix)", token: stranger, json: ["title": "x"])
                let b = try await api(app, method, "/api/v1/videos/424242\(suffix)", token: stranger, json: ["title": "x"])
                #expect(a.status == .notFound && b.status == .notFound)
                let message = { (json: [String: Any]) in ((json["error"] as? [String: Any])?["message"] as? String) ?? "" }
                #expect(
                    message(a.json).replacingOccurrences(of: "\(hidden)", with: "N")
                        == message(b.json).replacingOccurrences(of: "424242", with: "N"))
            }
            #expect(try await api(app, .PATCH, "/api/v1/videos/\(shown)", token: stranger, json: ["title": "x"]).status == .forbidden)
        }
    }

    @Test(
        "A URL handed out while public stops playing when the video turns private or is taken down; owners of a taken-down video get none")
    func signedURLsFollowPrivacy() async throws {
        try await withApp { app in
            // given
            let owner = try await Accounts.user(app, "keeper")
            let token = try await Accounts.token(app, owner)
            let (_, id) = try await Accounts.channelWithVideo(app, owner: owner, handle: "keeper")
            let first = try await api(app, .GET, "/api/v1/videos/\(id)", token: token)
            let publicURL = try #require(first.json["stream_url"] as? String)
            #expect(try await mediaStatus(publicURL) == 200)

            // when: made private
            _ = try await api(app, .PATCH, "/api/v1/videos/\(id)", token: token, json: ["visibility": "private"])

            // then
            #expect(try await mediaStatus(publicURL) == 403)
            let privateURL = try #require(try await api(app, .GET, "/api/v1/videos/\(id)", token: token).json["stream_url"] as? String)
            #expect(try await mediaStatus(privateURL) == 200)

            // when: taken down
            let video = try #require(try await Video.query(on: app.db).filter(\.$id == id).with(\.$channel).first())
            try await AdminService(db: app.db, storage: app.videotube.storage, revisions: app.videotube.mediaRevisions)
                .takeDown(video, reason: "Spam")

            // then
            let mine = try await api(app, .GET, "/api/v1/videos/\(id)", token: token)
            #expect(mine.json["stream_url"] == nil && mine.json["thumbnail_url"] == nil)
            #expect(mine.json["takedown_reason"] as? String == "Spam")
            #expect(try await mediaStatus(privateURL) == 403)

            // and another node learns of it from the database
            let elsewhere = MediaRevisions()
            #expect(elsewhere.isCurrent(MediaGrant(key: video.mediaKey, expires: .max, videoID: id, revision: 1)))
            try await elsewhere.refresh(from: app.db)
            #expect(!elsewhere.isCurrent(MediaGrant(key: video.mediaKey, expires: .max, videoID: id, revision: 1)))
            #expect(elsewhere.isCurrent(MediaGrant(key: video.mediaKey, expires: .max, videoID: id, revision: video.accessRevision)))
        }
    }

    func mediaStatus(_ url: String) async throws -> UInt {
        var request = HTTPClientRequest(url: url)
        request.method = .HEAD
        return try await LiveServer.client.execute(request, timeout: .seconds(30)).status.code
    }

    @Test("Visitor cookies count only when this server signed them")
    func visitorIdsAreSigned() {
        let secret = Array("test-secret-test-secret-test-secret!".utf8)
        let cookie = VisitorCookie.sign("abcdefghijklmnopqrstuvwxyz012345", secret: secret)
        #expect(VisitorCookie.verify(cookie, secret: secret) == "abcdefghijklmnopqrstuvwxyz012345")
        #expect(VisitorCookie.verify("abcdefghijklmnopqrstuvwxyz012345", secret: secret) == nil)
        #expect(VisitorCookie.verify("abcdefghijklmnopqrstuvwxyz012346" + cookie.drop(while: { $0 != "." }), secret: secret) == nil)
        #expect(VisitorCookie.verify(cookie, secret: Array("another-secret-another-secret-xx".utf8)) == nil)
    }

    @Test("A form to an unknown route or with a made-up visitor cookie is answered without reading its body")
    func formsAreReadOnlyForRealRoutes() async throws {
        try await withApp { app in
            let big = ByteBuffer(repeating: UInt8(ascii: "x"), count: 2 << 20)
            let headers: HTTPHeaders = [
                "Content-Type": "application/x-www-form-urlencoded", "Cookie": "vt_visitor=made-up-visitor-cookie-value-123",
            ]
            #expect(try await LiveServer.send(app, .POST, "/nowhere/at/all", headers: headers, body: big).status == .notFound)
            #expect(try await LiveServer.send(app, .POST, "/login", headers: headers, body: ByteBuffer(string: "a=b")).status == .forbidden)
            // A real visitor's text form may have 64 KiB.
            let browser = Browser(app)
            try await browser.get("/login")
            #expect(
                try await browser.send(.POST, "/login", headers: ["Content-Type": "application/x-www-form-urlencoded"], body: big).status
                    == .payloadTooLarge)
        }
    }

    @Test("Throwaway visitor cookies from one address count one view an hour")
    func viewsCountPerAddressForAnonymousViewers() async throws {
        try await withApp { app in
            let id = try await Fixtures.importVideo(app)
            for _ in 0..<4 {
                let browser = Browser(app)
                try await browser.get("/watch?v=\(id)")
                _ = try await browser.send(.POST, "/api/v1/videos/\(id)/views", headers: ["X-CSRF-Token": browser.csrf], body: nil)
            }
            #expect(try #require(try await Video.find(id, on: app.db)).views == 1)
        }
    }

    @Test("next= keeps sign-ins on this site, however the other site is spelled")
    func nextStaysOnSite() {
        for bad in [
            "//evil.example", "/\t/evil.example", "/\\evil.example", "/\n/evil.example", "https://evil.example",
            " /evil.example", "/\u{0B}/evil.example", "/\u{3000}/evil.example", "\\\\evil.example", "/ /evil.example",
        ] {
            #expect(AuthController.safeNext(bad) == nil, "\(bad.debugDescription)")
        }
        for good in ["/", "/studio", "/watch?v=3", "/@alice?notice=x", "/%09/evil.example"] {
            #expect(AuthController.safeNext(good) == good)
        }
    }

    @Test("Error pages and API errors carry the security headers; pages carry a CSP without inline script")
    func headersOnEveryResponse() async throws {
        try await withApp { app in
            for path in ["/", "/nowhere", "/watch?v=99", "/api/v1/videos/99"] {
                let res = try await LiveServer.send(app, .GET, path, headers: [:], body: nil)
                #expect(res.headers.first(name: "X-Content-Type-Options") == "nosniff", "\(path)")
                #expect(res.headers.first(name: .cacheControl) == "private, no-cache", "\(path)")
                if path != "/api/v1/videos/99" {
                    #expect(res.headers.first(name: "X-Frame-Options") == "DENY", "\(path)")
                    let csp = res.headers.first(name: "Content-Security-Policy") ?? ""
                    #expect(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"), "\(path)")
                    #expect(!res.body.contains(" onerror=") && !res.body.contains(" onclick="), "\(path)")
                }
            }
        }
    }

    @Test("With VIDEOTUBE_PUBLIC_URL, a forged Host header reaches no URL")
    func publicURLBeatsTheHostHeader() async throws {
        try await withApp(settings: { $0.publicURL = "https://video.example.com" }) { app in
            let id = try await Fixtures.importVideo(app)
            let res = try await api(app, .GET, "/api/v1/videos/\(id)", headers: ["Host": "evil.example"])
            #expect((res.json["watch_url"] as? String)?.hasPrefix("https://video.example.com/") == true)
            #expect((res.json["stream_url"] as? String)?.hasPrefix("https://video.example.com:") == true)
        }
    }

    @Test("Behind a trusted proxy the forwarded address is limited; from anyone else the header is ignored")
    func trustedProxiesDecideTheAddress() async throws {
        try await withApp(settings: { $0.trustedProxies = TrustedProxies(list: "127.0.0.1")! }) { app in
            for i in 0..<20 {
                let res = try await api(
                    app, .POST, "/api/v1/auth/token", json: ["username": "ghost\(i)", "password": "x"],
                    headers: ["X-Forwarded-For": "192.0.2.66"])
                #expect(res.status == .unauthorized)
            }
            let limited = try await api(
                app, .POST, "/api/v1/auth/token", json: ["username": "ghost", "password": "x"], headers: ["X-Forwarded-For": "192.0.2.66"])
            #expect(limited.status == .tooManyRequests)
            let other = try await api(
                app, .POST, "/api/v1/auth/token", json: ["username": "ghost", "password": "x"], headers: ["X-Forwarded-For": "192.0.2.67"])
            #expect(other.status == .unauthorized)
        }
    }

    @Test("A live flag whose heartbeat stopped goes down at the next sweep, even right after a restart")
    func heartbeatClearsStaleLiveFlags() async throws {
        try await withApp { app in
            // given: started 5 s ago (a crash and a quick restart), last heartbeat 20 s ago; and one beating now
            let owner = try await Accounts.user(app, "nora")
            let token = try await Accounts.token(app, owner)
            for handle in ["crashed", "beating"] {
                _ = try await api(app, .POST, "/api/v1/channels", token: token, json: ["handle": handle, "name": handle])
            }
            try await App.Channel.query(on: app.db).set(\.$liveStartedAt, to: Date().addingTimeInterval(-5))
                .set(\.$liveSeenAt, to: Date().addingTimeInterval(-20)).update()
            let beating = try #require(try await App.Channel.query(on: app.db).filter(\.$handle == "beating").first())
            let live = LiveService(db: app.db, registry: app.videotube.live)
            try await live.beat(channelID: beating.requireID())

            // when
            let cleared = try await live.clearStale(liveRoot: app.videotube.config.liveDirectory)

            // then
            #expect(cleared == 1)
            #expect(try await live.liveChannels().map(\.handle) == ["beating"])
        }
    }
}
