@testable import App
import Fluent
import Foundation
import SQLKit
import Testing
import VaporTesting

/// Pages and JSON that every signed-out visitor gets alike come from memory, and never outlive a change.
@Suite("Shared reads: signed-out pages from memory, stale never")
struct SharedReadsTests {
    @Test("An edit, a privacy change or a new video on this node shows on the very next signed-out page")
    func localWritesShowAtOnce() async throws {
        try await withApp { app in
            let alice = try await Accounts.user(app, "alice")
            let token = try await Accounts.token(app, alice)
            let (_, id) = try await Accounts.channelWithVideo(app, owner: alice, handle: "alice")
            let visitor = Browser(app)
            #expect(try await visitor.get("/").body.contains("Clip of alice"))
            #expect(try await visitor.get("/all_videos").body.contains("Clip of alice"))
            #expect(app.videotube.sharedReads.storedCount >= 2)

            #expect(try await api(app, .PATCH, "/api/v1/videos/\(id)", token: token, json: ["title": "Renamed"]).status == .ok)
            #expect(try await visitor.get("/").body.contains("Renamed"))
            #expect(try await visitor.get("/all_videos").body.contains("Renamed"))

            #expect(try await api(app, .PATCH, "/api/v1/videos/\(id)", token: token, json: ["visibility": "private"]).status == .ok)
            #expect(!(try await visitor.get("/").body.contains("Renamed")))
            #expect(try await visitor.get("/watch?v=\(id)").status == .notFound)
            #expect(!(try await visitor.get("/api/v1/videos?per_page=24").body.contains("Renamed")))
        }
    }

    @Test("A change written by another node or process shows within the version check; a view count does not flush")
    func otherNodesWritesShowWithinTheInterval() async throws {
        try await withApp { app in
            let id = try await Fixtures.importVideo(app, title: "Before")
            let visitor = Browser(app)
            #expect(try await visitor.get("/watch?v=\(id)").body.contains("Before"))
            let sql = try app.db.sql()
            let before = try await SharedReads.readVersion(app.db)
            // Another node counts a view: no new version.
            try await sql.raw("UPDATE videos SET views = views + 1 WHERE id = \(bind: id)").run()
            #expect(try await SharedReads.readVersion(app.db) == before)
            // Another node (or `videotube import` on the same file) renames the video, past this node's app code.
            try await sql.raw("UPDATE videos SET title = 'After' WHERE id = \(bind: id)").run()
            #expect(try await SharedReads.readVersion(app.db) != before)
            try await Task.sleep(nanoseconds: UInt64(SharedReads.versionCheckInterval * 1e9) + 100_000_000)
            _ = try await visitor.get("/")  // the first request after the interval reads the version
            #expect(try await visitor.get("/watch?v=\(id)").body.contains("After"))
            // A channel going live elsewhere is a catalog change too; its heartbeat is not.
            let version = try await SharedReads.readVersion(app.db)
            try await sql.raw("UPDATE channels SET live_seen_at = \(bind: Date())").run()
            #expect(try await SharedReads.readVersion(app.db) == version)
            try await sql.raw("UPDATE channels SET live_started_at = \(bind: Date())").run()
            #expect(try await SharedReads.readVersion(app.db) != version)
        }
    }

    @Test("Signed-in users, notices and form pages are rendered for their reader; shared pages carry no token or cookie")
    func personalPagesAreNeverShared() async throws {
        try await withApp { app in
            _ = try await Fixtures.importVideo(app, title: "Everyone's clip")
            try await Accounts.user(app, "bob")
            let visitor = Browser(app)
            let shared = try await visitor.get("/")
            #expect(shared.body.contains("<meta name=\"csrf-token\" content=\"\">"))
            #expect(shared.headers[.setCookie].isEmpty && visitor.cookies.isEmpty)
            #expect(shared.headers.first(name: .cacheControl) == "private, no-cache")

            let bob = Browser(app)
            try await bob.signIn("bob")
            let own = try await bob.get("/")
            #expect(own.body.contains("nav-user") && own.body.contains("bob") && !bob.csrf.isEmpty)
            #expect(!(try await visitor.get("/").body.contains("nav-user")))

            #expect(try await visitor.get("/?notice=saved").body.contains("Changes saved."))
            #expect(!(try await visitor.get("/").body.contains("Changes saved.")))
            // The sign-in page gives a visitor id and a token bound to it.
            let login = try await visitor.get("/login")
            #expect(visitor.cookies["vt_visitor"] != nil && !visitor.csrf.isEmpty && login.status == .ok)
        }
    }

    @Test("Made-up parameters and hosts cannot grow the cache past its capacity; errors are not stored")
    func theCacheIsBounded() async throws {
        try await withApp { app in
            _ = try await Fixtures.importVideo(app)
            let tester = try app.testing()
            for page in 1...(SharedReads.capacity + 40) {
                try await tester.test(.GET, "/?page=\(page)") { res async in #expect(res.status == .ok) }
            }
            #expect(app.videotube.sharedReads.storedCount <= SharedReads.capacity)
            app.videotube.sharedReads.invalidate()
            for host in ["a.example", "b.example", "bad host!"] {
                try await tester.test(.GET, "/watch?v=99999", headers: ["Host": host]) { res async in #expect(res.status == .notFound) }
            }
            #expect(app.videotube.sharedReads.storedCount == 0)
        }
    }

    @Test("Signed-in pages share the listing query and the video boxes, and see an edit at once; a counted view flushes nothing")
    func listingsAreSharedWithSignedInReaders() async throws {
        try await withApp { app in
            // given a video, a signed-in reader and a signed-out one
            let alice = try await Accounts.user(app, "alice")
            let token = try await Accounts.token(app, alice)
            let (_, id) = try await Accounts.channelWithVideo(app, owner: alice, handle: "alice")
            try await Accounts.user(app, "bob")
            let bob = Browser(app)
            try await bob.signIn("bob")
            let visitor = Browser(app)
            let bobsHome = try await bob.get("/").body
            let visitorsHome = try await visitor.get("/").body
            #expect(bobsHome.contains("Clip of alice"))
            // the grid of boxes is the same for both (rendered once), while the page around it is bob's
            #expect(Self.grid(bobsHome) != nil && Self.grid(bobsHome) == Self.grid(visitorsHome))
            #expect(bobsHome != visitorsHome)
            let stored = app.videotube.sharedReads.storedCount
            #expect(stored >= 3)  // the visitor's page, the listing, alice's box
            // when a view is counted, the shared entries stay
            #expect(try await api(app, .POST, "/api/v1/videos/\(id)/views").status == .ok)
            #expect(app.videotube.sharedReads.storedCount == stored)
            // and when the owner renames the video, both readers see the new title on their next page
            #expect(try await api(app, .PATCH, "/api/v1/videos/\(id)", token: token, json: ["title": "Renamed"]).status == .ok)
            #expect(try await bob.get("/").body.contains("Renamed"))
            #expect(try await visitor.get("/").body.contains("Renamed"))
            // a title is escaped in the box, wherever the box is shown
            #expect(try await api(app, .PATCH, "/api/v1/videos/\(id)", token: token, json: ["title": "<b>Bold</b>"]).status == .ok)
            for path in ["/", "/@alice", "/search?q=bold"] {
                let page = try await bob.get(path).body
                #expect(page.contains("&lt;b&gt;Bold&lt;/b&gt;") && !page.contains("<b>Bold"), "\(path)")
            }
        }
    }

    @Test("A private video's row is shared, the right to watch it is not: its owner sees it, a stranger right after gets 404")
    func privateVideosStayPrivate() async throws {
        try await withApp { app in
            let alice = try await Accounts.user(app, "alice")
            try await Accounts.user(app, "bob")
            let (_, id) = try await Accounts.channelWithVideo(app, owner: alice, handle: "alice", visibility: .private)
            let owner = Browser(app)
            try await owner.signIn("alice")
            #expect(try await owner.get("/watch?v=\(id)").status == .ok)
            let stranger = Browser(app)
            try await stranger.signIn("bob")
            #expect(try await stranger.get("/watch?v=\(id)").status == .notFound)
            #expect(try await Browser(app).get("/watch?v=\(id)").status == .notFound)
            #expect(try await owner.get("/watch?v=\(id)").status == .ok)
        }
    }

    /// The home page's grid of video boxes.
    static func grid(_ page: String) -> Substring? {
        guard let start = page.range(of: "<section class=\"video-grid\">"), let end = page.range(of: "</section>", range: start.upperBound..<page.endIndex)
        else { return nil }
        return page[start.lowerBound..<end.upperBound]
    }
}
