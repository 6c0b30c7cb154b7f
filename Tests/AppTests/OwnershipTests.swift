@testable import App
import Fluent
import Foundation
import Media
import Testing
import VaporTesting

@Suite("Ownership, visibility, subscriptions, views, admin", .serialized)
struct OwnershipTests {
    /// Every API write route: anonymous → 401, someone else → 403, and nothing changed; the owner and an admin succeed.
    @Test("Every API write route refuses strangers") func everyAPIWriteRouteRefusesStrangers() async throws {
        try await withApp { app in
            // given alice's channel and video, bob (a stranger) and root (an admin)
            let alice = try await Accounts.user(app, "alice")
            let bob = try await Accounts.user(app, "bob")
            let root = try await Accounts.user(app, "root", admin: true)
            let (channelID, videoID) = try await Accounts.channelWithVideo(app, owner: alice, handle: "alices")
            let (aliceToken, bobToken, rootToken) = (try await Accounts.token(app, alice), try await Accounts.token(app, bob), try await Accounts.token(app, root))
            let png = try await Self.png()
            let writes: [(HTTPMethod, String, [String: Any]?, ByteBuffer?)] = [
                (.PATCH, "/api/v1/videos/\(videoID)", ["title": "Hijacked"], nil),
                (.PATCH, "/api/v1/channels/\(channelID)", ["name": "Hijacked"], nil),
                (.PUT, "/api/v1/channels/\(channelID)/images/logo", nil, png),
                (.DELETE, "/api/v1/videos/\(videoID)", nil, nil),
                (.DELETE, "/api/v1/channels/\(channelID)", nil, nil),
            ]
            for (method, path, json, body) in writes {
                let headers: HTTPHeaders = body == nil ? [:] : ["Content-Type": "image/png"]
                // when anonymous
                let anonymous = try await api(app, method, path, json: json, headers: headers, body: body)
                #expect(anonymous.status == .unauthorized, "\(method) \(path) anonymous")
                // when someone else
                let stranger = try await api(app, method, path, token: bobToken, json: json, headers: headers, body: body)
                #expect(stranger.status == .forbidden, "\(method) \(path) stranger")
                #expect(String(describing: stranger.json).contains("Only the owner of @alices"))
            }
            // then nothing changed
            let video = try #require(try await Video.find(videoID, on: app.db))
            let channel = try #require(try await App.Channel.find(channelID, on: app.db))
            #expect(video.title == "Clip of alices" && channel.name == "alices" && channel.logoKey == nil)
            // and the owner and an admin may
            #expect(try await api(app, .PATCH, "/api/v1/videos/\(videoID)", token: aliceToken, json: ["title": "Mine", "visibility": "unlisted"]).status == .ok)
            #expect(try await api(app, .PATCH, "/api/v1/channels/\(channelID)", token: rootToken, json: ["name": "Moderated"]).status == .ok)
            let logo = try await api(app, .PUT, "/api/v1/channels/\(channelID)/images/logo", token: aliceToken, headers: ["Content-Type": "image/png"], body: png)
            #expect(logo.status == .ok && (logo.json["logo_url"] as? String ?? "").contains("/m/img/"))
            #expect(try await api(app, .DELETE, "/api/v1/videos/\(videoID)", token: aliceToken).status == .noContent)
            #expect(try await Video.find(videoID, on: app.db) == nil)
            #expect(!FileManager.default.fileExists(atPath: try app.videotube.storage.localPath(for: video.mediaKey)))
            #expect(try await api(app, .DELETE, "/api/v1/channels/\(channelID)", token: rootToken).status == .noContent)
        }
    }

    /// The studio's forms: someone else's channel or video is 403 and unchanged.
    @Test("Studio pages refuse strangers") func studioPagesRefuseStrangers() async throws {
        try await withApp { app in
            let alice = try await Accounts.user(app, "alice")
            try await Accounts.user(app, "bob")
            let (channelID, videoID) = try await Accounts.channelWithVideo(app, owner: alice, handle: "alices")
            let bob = Browser(app)
            try await bob.signIn("bob")
            for path in ["/studio/channels/\(channelID)", "/studio/videos/\(videoID)", "/studio/channels/\(channelID)/delete", "/studio/videos/\(videoID)/delete"] {
                #expect(try await bob.get(path).status == .forbidden, "GET \(path)")
            }
            let posts: [(String, [String: String])] = [
                ("/studio/channels/\(channelID)", ["name": "Bob's now", "handle": "alices"]),
                ("/studio/videos/\(videoID)", ["title": "Bob's now"]),
                ("/studio/videos/\(videoID)/delete", [:]),
                ("/studio/channels/\(channelID)/delete", [:]),
            ]
            for (path, fields) in posts {
                try await bob.get("/studio")
                let page = try await bob.post(path, fields)
                #expect(page.status == .forbidden, "POST \(path)")
                #expect(page.body.contains("Only the owner of @alices"))
            }
            #expect(try await Video.find(videoID, on: app.db)?.title == "Clip of alices")
            #expect(try await App.Channel.find(channelID, on: app.db)?.name == "alices")
            // alice can edit through the same forms
            let owner = Browser(app)
            try await owner.signIn("alice")
            try await owner.get("/studio/videos/\(videoID)")
            let saved = try await owner.post("/studio/videos/\(videoID)", ["title": "Renamed", "description": "New words", "visibility": "private"])
            #expect(saved.status == .seeOther)
            let video = try #require(try await Video.find(videoID, on: app.db))
            #expect(video.title == "Renamed" && video.visibility == .private)
        }
    }

    @Test("Channels are created with unique handles and checked settings") func channelsAreCreatedWithUniqueHandlesAndCheckedSettings() async throws {
        try await withApp { app in
            let alice = try await Accounts.user(app, "alice")
            let bob = try await Accounts.user(app, "bob")
            let (aliceToken, bobToken) = (try await Accounts.token(app, alice), try await Accounts.token(app, bob))
            let created = try await api(app, .POST, "/api/v1/channels", token: aliceToken, json: [
                "handle": "@Alice.Cooks", "name": "Alice Cooks", "description": "Soup.", "language": "English",
                "category": "Food & Drink", "links": ["https://example.com/alice"],
            ])
            #expect(created.status == .created)
            #expect(created.json["handle"] as? String == "alice.cooks" && created.json["owner_id"] as? Int == alice.id)
            #expect(created.json["links"] as? [String] == ["https://example.com/alice"])
            // a duplicate handle, differently cased, is refused with a message
            let duplicate = try await api(app, .POST, "/api/v1/channels", token: bobToken, json: ["handle": "ALICE.COOKS"])
            #expect(duplicate.status == .unprocessableEntity && String(describing: duplicate.json).contains("is taken"))
            // bad settings say what is wrong, all at once
            let bad = try await api(app, .POST, "/api/v1/channels", token: bobToken, json: [
                "handle": "x", "language": "Klingon", "links": ["javascript:alert(1)"],
            ])
            let message = (bad.json["error"] as? [String: Any])?["message"] as? String ?? ""
            #expect(bad.status == .unprocessableEntity && message.contains("3 to 25") && message.contains("language") && message.contains("not a web link"))
            // the API names the fields at fault beside the message
            #expect((bad.json["error"] as? [String: Any])?["fields"] as? [String] == ["handle", "language", "links"])
            #expect(try await App.Channel.query(on: app.db).count() == 1)

            // a field of the wrong type is what the schema forbids: 422 naming it; a body that is no JSON is 400
            let wrongType = try await api(app, .POST, "/api/v1/channels", token: bobToken, json: ["handle": 5])
            #expect(wrongType.status == .unprocessableEntity)
            #expect((wrongType.json["error"] as? [String: Any])?["fields"] as? [String] == ["handle"])
            let notJSON = try await api(
                app, .POST, "/api/v1/channels", token: bobToken, headers: ["Content-Type": "application/json"], body: ByteBuffer(string: "{nope"))
            #expect(notJSON.status == .badRequest)
            // a NUL in text is refused before it reaches the database (PostgreSQL text cannot hold one)
            #expect(try await api(app, .POST, "/api/v1/channels", token: bobToken, json: ["handle": "nul\u{0}l"]).status == .badRequest)
            #expect(try await api(app, .GET, "/api/v1/channels/@a%00b", token: bobToken).status == .badRequest)
            #expect(NulByteMiddleware.hasJSONNul(Array(#"{"a": "\\u0000"}"#.utf8)) == false)
            #expect(NulByteMiddleware.hasJSONNul(Array(#"{"a": "\\\u0000"}"#.utf8)) == true)
        }
    }

    @Test("Private videos are only for their owner and unlisted only by link") func privateVideosAreOnlyForTheirOwnerAndUnlistedOnlyByLink() async throws {
        try await withApp { app in
            let alice = try await Accounts.user(app, "alice")
            let bob = try await Accounts.user(app, "bob")
            let (_, privateID) = try await Accounts.channelWithVideo(app, owner: alice, handle: "alices", visibility: .private)
            let (_, unlistedID) = try await Accounts.channelWithVideo(app, owner: alice, handle: "alices", visibility: .unlisted)
            let bobToken = try await Accounts.token(app, bob)
            let aliceToken = try await Accounts.token(app, alice)
            // a stranger gets 404 everywhere, as if it did not exist
            #expect(try await api(app, .GET, "/api/v1/videos/\(privateID)", token: bobToken).status == .notFound)
            #expect(try await api(app, .GET, "/api/v1/videos/\(privateID)").status == .notFound)
            #expect(try await api(app, .GET, "/videos/\(privateID)/stream", token: bobToken).status == .notFound)
            let stranger = Browser(app)
            #expect(try await stranger.get("/watch?v=\(privateID)").status == .notFound)
            // the owner can watch it, on the page and the byte route
            let owner = try await api(app, .GET, "/api/v1/videos/\(privateID)", token: aliceToken)
            #expect(owner.status == .ok && owner.json["visibility"] as? String == "private")
            #expect(try await api(app, .GET, "/videos/\(privateID)/stream", token: aliceToken, headers: ["Range": "bytes=0-9"]).status == .partialContent)
            let browser = Browser(app)
            try await browser.signIn("alice")
            let page = try await browser.get("/watch?v=\(privateID)")
            #expect(page.status == .ok && page.body.contains("Edit video"))
            // unlisted: playable by link, absent from every listing
            #expect(try await api(app, .GET, "/api/v1/videos/\(unlistedID)").status == .ok)
            let listing = try await api(app, .GET, "/api/v1/videos")
            #expect(listing.json["total"] as? Int == 0)
            let mine = try await api(app, .GET, "/api/v1/me/videos", token: aliceToken)
            #expect(mine.json["total"] as? Int == 2)
        }
    }

    @Test("Subscriptions are idempotent and counts stay exact under concurrency") func subscriptionsAreIdempotentAndCountsStayExactUnderConcurrency() async throws {
        try await withApp { app in
            let alice = try await Accounts.user(app, "alice")
            let (channelID, videoID) = try await Accounts.channelWithVideo(app, owner: alice, handle: "alices")
            var tokens: [String] = []
            for i in 0..<8 { tokens.append(try await Accounts.token(app, try await Accounts.user(app, "fan\(i)"))) }
            // when every fan subscribes three times at once
            try await withThrowingTaskGroup(of: Void.self) { group in
                for token in tokens {
                    for _ in 0..<3 {
                        group.addTask {
                            let r = try await api(app, .PUT, "/api/v1/channels/\(channelID)/subscription", token: token)
                            #expect(r.status == .ok && r.json["subscribed"] as? Bool == true)
                        }
                    }
                }
                try await group.waitForAll()
            }
            // then the count is exactly the number of fans
            #expect(try await App.Channel.find(channelID, on: app.db)?.subscribersCount == 8)
            #expect(try await Subscription.query(on: app.db).count() == 8)
            // "am I subscribed", my list and my feed
            let state = try await api(app, .GET, "/api/v1/channels/\(channelID)/subscription", token: tokens[0])
            #expect(state.json["subscribed"] as? Bool == true && state.json["subscribers_count"] as? Int == 8)
            let list = try await api(app, .GET, "/api/v1/me/subscriptions", token: tokens[0])
            #expect((list.json["data"] as? [[String: Any]])?.first?["handle"] as? String == "alices")
            let feed = try await api(app, .GET, "/api/v1/me/feed", token: tokens[0])
            #expect((feed.json["data"] as? [[String: Any]])?.first?["id"] as? Int == videoID)
            // unsubscribing twice at once takes one off
            let first = tokens[0]
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<2 {
                    group.addTask { _ = try await api(app, .DELETE, "/api/v1/channels/\(channelID)/subscription", token: first) }
                }
                try await group.waitForAll()
            }
            #expect(try await App.Channel.find(channelID, on: app.db)?.subscribersCount == 7)
            #expect(try await api(app, .PUT, "/api/v1/channels/\(channelID)/subscription").status == .unauthorized)
        }
    }

    @Test("A view counts once per viewer an hour") func aViewCountsOncePerViewerAnHour() async throws {
        try await withApp { app in
            let alice = try await Accounts.user(app, "alice")
            let (_, videoID) = try await Accounts.channelWithVideo(app, owner: alice, handle: "alices")
            let token = try await Accounts.token(app, alice)
            // range requests do not count
            #expect(try await api(app, .GET, "/videos/\(videoID)/stream", headers: ["Range": "bytes=0-99"]).status == .partialContent)
            #expect(try await Video.find(videoID, on: app.db)?.views == 0)
            // the first report of a viewer counts, the next ones in the hour do not
            let first = try await api(app, .POST, "/api/v1/videos/\(videoID)/views", token: token)
            #expect(first.json["counted"] as? Bool == true && first.json["views"] as? Int == 1)
            let again = try await api(app, .POST, "/api/v1/videos/\(videoID)/views", token: token)
            #expect(again.json["counted"] as? Bool == false && again.json["views"] as? Int == 1)
            // an anonymous browser is another viewer
            let browser = Browser(app)
            try await browser.get("/watch?v=\(videoID)")
            let anonymous = try await browser.send(.POST, "/api/v1/videos/\(videoID)/views", headers: ["X-CSRF-Token": browser.csrf], body: nil)
            #expect(anonymous.status == .ok && anonymous.body.contains("\"views\":2"))
            // the next hour counts again
            let counter = ViewCounter(db: app.db)
            let later = try await counter.record(videoID: videoID, viewer: "user:\(alice.id!)", now: Date().addingTimeInterval(3600))
            #expect(later.counted && later.views == 3)
            #expect(try await api(app, .POST, "/api/v1/videos/999999/views").status == .notFound)
        }
    }

    @Test("Admin disables users takes down videos and reads the watch log") func adminDisablesUsersTakesDownVideosAndReadsTheWatchLog() async throws {
        try await withApp { app in
            try await Accounts.user(app, "root", admin: true)
            let alice = try await Accounts.user(app, "alice")
            let (channelID, videoID) = try await Accounts.channelWithVideo(app, owner: alice, handle: "alices")
            let aliceToken = try await Accounts.token(app, alice)
            // a user is not an admin
            let user = Browser(app)
            try await user.signIn("alice")
            #expect(try await user.get("/admin").status == .forbidden)
            #expect(try await user.get("/admin/watch-log").status == .forbidden)
            // the admin sees totals and the users
            let admin = Browser(app)
            try await admin.signIn("root")
            let home = try await admin.get("/admin")
            #expect(home.status == .ok && home.body.contains("Watch sessions"), "\(home.body.prefix(2000))")
            try await admin.get("/admin/users")
            // disabling alice ends her session and token, and she cannot sign in again
            #expect(try await admin.post("/admin/users/\(alice.id!)/disable").status == .seeOther)
            #expect(try await user.get("/studio").status == .seeOther)
            #expect(try await api(app, .GET, "/api/v1/me", token: aliceToken).status == .unauthorized)
            let again = Browser(app)
            try await again.get("/login")
            let refused = try await again.post("/login", ["username": "alice", "password": Accounts.password])
            #expect(refused.status == .forbidden && refused.body.contains("disabled by an administrator"))
            // an admin cannot lock themself out
            try await admin.get("/admin/users")
            #expect(try await admin.post("/admin/users/\(try #require(admin.userID(app)))/disable").status == .forbidden)
            _ = try await api(app, .GET, "/videos/\(videoID)/download", headers: ["Range": "bytes=0-1"])
            await app.videotube.watchLog?.flush()
            // a takedown asks first, then hides the video from everyone but admins
            #expect(try await admin.get("/admin/videos/\(videoID)/takedown").body.contains("Take down"))
            #expect(try await admin.post("/admin/videos/\(videoID)/takedown", ["reason": "Spam"]).status == .seeOther)
            #expect(try await api(app, .GET, "/api/v1/videos/\(videoID)").status == .notFound)
            #expect(try await admin.get("/watch?v=\(videoID)").status == .ok)
            // the watch log lists playback with filters
            let log = try await admin.get("/admin/watch-log?video=\(videoID)&source=download")
            #expect(log.status == .ok && log.body.contains("download") && log.body.contains("1 session ·"))
            #expect(try await admin.get("/admin/watch-log?source=stream").body.contains("0 sessions"))
            #expect(try await admin.get("/admin/watch-log?from=2000-01-01&to=2000-01-02").body.contains("0 sessions"))
            let today = String(Formatting.iso8601(Date()).prefix(10))
            #expect(try await admin.get("/admin/watch-log?from=\(today)&to=\(today)").body.contains("1 session ·"))
            // deleting a user asks first, then removes their channels and files
            #expect(try await admin.get("/admin/users/\(alice.id!)/delete").body.contains("Delete the user alice?"))
            #expect(try await admin.post("/admin/users/\(alice.id!)/delete").status == .seeOther)
            #expect(try await App.Channel.find(channelID, on: app.db) == nil)
            #expect(try await User.find(alice.id, on: app.db) == nil)
        }
    }

    @Test("Hostile text is escaped everywhere") func hostileTextIsEscapedEverywhere() async throws {
        try await withApp { app in
            let alice = try await Accounts.user(app, "alice")
            let token = try await Accounts.token(app, alice)
            let (channelID, videoID) = try await Accounts.channelWithVideo(app, owner: alice, handle: "alices")
            let hostile = "<script>alert(1)</script>\"'><img src=x onerror=alert(2)>"
            #expect(try await api(app, .PATCH, "/api/v1/videos/\(videoID)", token: token, json: ["title": hostile, "description": hostile]).status == .ok)
            #expect(try await api(app, .PATCH, "/api/v1/channels/\(channelID)", token: token, json: ["name": hostile, "description": hostile]).status == .ok)
            let browser = Browser(app)
            try await browser.signIn("alice")
            for path in ["/", "/watch?v=\(videoID)", "/@alices", "/channels", "/studio", "/studio/videos/\(videoID)", "/studio/channels/\(channelID)"] {
                let page = try await browser.get(path)
                #expect(page.status == .ok, "\(path)")
                #expect(!page.body.contains("<script>alert"), "\(path) has a raw script tag")
                #expect(!page.body.contains("<img src=x"), "\(path) has a raw img tag")
                #expect(!page.body.contains("\"'>"), "\(path) lets a quote close an attribute")
                #expect(page.body.contains("&lt;script&gt;"), "\(path) shows the text escaped")
            }
        }
    }

    @Test("Channel pictures are validated and reencoded") func channelPicturesAreValidatedAndReencoded() async throws {
        try await withApp { app in
            let alice = try await Accounts.user(app, "alice")
            let (channelID, _) = try await Accounts.channelWithVideo(app, owner: alice, handle: "alices")
            let browser = Browser(app)
            try await browser.signIn("alice")
            try await browser.get("/studio/channels/\(channelID)")
            // an SVG with a script is refused and nothing changes
            let svg = "<svg xmlns='http://www.w3.org/2000/svg' width='10' height='10'><script>alert(1)</script></svg>"
            let refused = try await browser.send(
                .POST, "/studio/channels/\(channelID)/images/logo", headers: ["Content-Type": "multipart/form-data; boundary=XYZ"],
                body: Self.multipart(csrf: browser.csrf, filename: "logo.svg", type: "image/svg+xml", data: Data(svg.utf8)))
            #expect(refused.status == .unprocessableEntity && refused.body.contains("not a picture we accept"))
            #expect(try await App.Channel.find(channelID, on: app.db)?.logoKey == nil)
            // a PNG becomes a 256×256 JPEG in storage
            let png = try await Self.png()
            let saved = try await browser.send(
                .POST, "/studio/channels/\(channelID)/images/banner", headers: ["Content-Type": "multipart/form-data; boundary=XYZ"],
                body: Self.multipart(csrf: browser.csrf, filename: "b.png", type: "image/png", data: Data(buffer: png)))
            #expect(saved.status == .seeOther)
            let key = try #require(try await App.Channel.find(channelID, on: app.db)?.bannerKey)
            #expect(key.hasSuffix(".jpg"))
            let probe = try await ProcessRunner.run("ffprobe", ["-v", "error", "-show_entries", "stream=codec_name,width,height", "-of", "csv=p=0", try app.videotube.storage.localPath(for: key)])
            #expect(String(decoding: probe.stdout, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) == "mjpeg,2048,512")
            #expect(try await browser.get("/@alices").body.contains("channel-banner"))
        }
    }

    static func png() async throws -> ByteBuffer {
        let path = NSTemporaryDirectory() + "videotube-test-\(UUID().uuidString).png"
        try await ProcessRunner.check("ffmpeg", ["-v", "error", "-f", "lavfi", "-i", "testsrc2=s=400x300", "-frames:v", "1", "-y", path])
        defer { try? FileManager.default.removeItem(atPath: path) }
        return ByteBuffer(data: try Data(contentsOf: URL(fileURLWithPath: path)))
    }

    static func multipart(csrf: String, filename: String, type: String, data: Data) -> ByteBuffer {
        var body = Data()
        body.append(Data("--XYZ\r\nContent-Disposition: form-data; name=\"_csrf\"\r\n\r\n\(csrf)\r\n".utf8))
        body.append(Data("--XYZ\r\nContent-Disposition: form-data; name=\"image\"; filename=\"\(filename)\"\r\nContent-Type: \(type)\r\n\r\n".utf8))
        body.append(data)
        body.append(Data("\r\n--XYZ--\r\n".utf8))
        return ByteBuffer(data: body)
    }
}

extension Browser {
    /// The id of the user this browser is signed in as (read from the database by username on the page).
    func userID(_ app: Application) async throws -> Int? {
        let page = try await get("/")
        guard let range = page.body.range(of: "<span class=\"nav-user\" title=\"Signed in\">") else { return nil }
        let name = String(page.body[range.upperBound...].prefix(while: { $0 != "<" }))
        return try await User.query(on: app.db).filter(\.$username == name).first()?.id
    }
}
