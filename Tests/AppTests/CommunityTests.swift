import App
import Fluent
import SQLKit
import Foundation
import Testing
import VaporTesting

/// Comments, tags and reports on the database the tests run on (SQLite, or PostgreSQL with DATABASE_URL).
@Suite("Comments, tags and reports", .serialized)
struct CommunityTests {
    /// An account made `days` ago (comments of accounts younger than a day are held).
    private func user(_ app: Application, _ name: String, admin: Bool = false, days: Double = 2) async throws -> (User, String) {
        let user = try await Accounts.user(app, name, admin: admin)
        user.createdAt = Date().addingTimeInterval(-days * 86400)
        try await user.save(on: app.db)
        return (user, try await Accounts.token(app, user))
    }

    private func comment(_ app: Application, _ video: Int, _ token: String, _ body: String, parent: Int? = nil) async throws
        -> (status: HTTPStatus, json: [String: Any], headers: HTTPHeaders)
    {
        var json: [String: Any] = ["body": body]
        if let parent { json["parent_id"] = parent }
        return try await api(app, .POST, "/api/v1/videos/\(video)/comments", token: token, json: json)
    }

    private func listing(_ app: Application, _ video: Int, token: String? = nil, sort: String = "top") async throws -> [String: Any] {
        try await api(app, .GET, "/api/v1/videos/\(video)/comments?sort=\(sort)", token: token).json
    }

    private func bodies(_ listing: [String: Any]) -> [String] {
        (listing["data"] as? [[String: Any]] ?? []).map { $0["body"] as? String ?? "" }
    }

    @Test("Who may edit, delete, pin and approve; replies nest one level; sorts; a new account's comment is held")
    func commentRules() async throws {
        try await withApp { app in
            let (owner, ownerToken) = try await user(app, "owner")
            let (_, bob) = try await user(app, "bob")
            let (_, carol) = try await user(app, "carol")
            let (_, admin) = try await user(app, "root", admin: true)
            let (_, newbie) = try await user(app, "newbie", days: 0.1)
            let (_, video) = try await Accounts.channelWithVideo(app, owner: owner, handle: "owned")

            // bob comments; carol replies; a reply to the reply answers the top-level comment
            let first = try await comment(app, video, bob, "  First!  ")
            #expect(first.status == .created && first.json["body"] as? String == "First!" && first.json["held"] as? Bool == false)
            let firstID = try #require(first.json["id"] as? Int)
            let reply = try await comment(app, video, carol, "Welcome", parent: firstID)
            let replyID = try #require(reply.json["id"] as? Int)
            let nested = try await comment(app, video, bob, "Thanks", parent: replyID)
            #expect(nested.json["parent_id"] as? Int == firstID)
            let second = try await comment(app, video, carol, "Second")
            let secondID = try #require(second.json["id"] as? Int)

            // newest puts "Second" first; top puts the one with replies first
            #expect(bodies(try await listing(app, video, sort: "newest")) == ["Second", "First!"])
            let top = try await listing(app, video)
            #expect(bodies(top) == ["First!", "Second"])
            #expect(top["comment_count"] as? Int == 4 && top["total"] as? Int == 2)
            let replies = ((top["data"] as? [[String: Any]])?.first?["replies"] as? [[String: Any]])?.map { $0["body"] as? String }
            #expect(replies == ["Welcome", "Thanks"])

            // only the author edits; the edit shows
            #expect(try await api(app, .PATCH, "/api/v1/comments/\(firstID)", token: carol, json: ["body": "hijacked"]).status == .forbidden)
            #expect(try await api(app, .PATCH, "/api/v1/comments/\(firstID)", token: ownerToken, json: ["body": "hijacked"]).status == .forbidden)
            let edited = try await api(app, .PATCH, "/api/v1/comments/\(firstID)", token: bob, json: ["body": "First, edited"])
            #expect(edited.status == .ok && edited.json["edited"] as? Bool == true)

            // a stranger cannot delete, pin or approve; the owner pins one at a time; pinned comes first
            #expect(try await api(app, .DELETE, "/api/v1/comments/\(secondID)", token: bob).status == .forbidden)
            #expect(try await api(app, .PATCH, "/api/v1/comments/\(secondID)", token: bob, json: ["pinned": true]).status == .forbidden)
            #expect(try await api(app, .PATCH, "/api/v1/comments/\(replyID)", token: ownerToken, json: ["pinned": true]).status == .unprocessableEntity)
            #expect(try await api(app, .PATCH, "/api/v1/comments/\(firstID)", token: ownerToken, json: ["pinned": true]).status == .ok)
            #expect(try await api(app, .PATCH, "/api/v1/comments/\(secondID)", token: admin, json: ["pinned": true]).status == .ok)
            #expect(try await Comment.query(on: app.db).filter(\.$pinned == true).all().map(\.id) == [secondID])
            #expect(bodies(try await listing(app, video, sort: "top")).first == "Second")

            // a new account's comment is held: only its author and the moderators see it, until approved
            let held = try await comment(app, video, newbie, "Buy at https://spam.example")
            #expect(held.status == .created && held.json["held"] as? Bool == true && held.json["links"] as? Bool == false)
            let heldID = try #require(held.json["id"] as? Int)
            #expect(!bodies(try await listing(app, video)).contains("Buy at https://spam.example"))
            #expect(!bodies(try await listing(app, video, token: carol)).contains("Buy at https://spam.example"))
            #expect(bodies(try await listing(app, video, token: newbie)).contains("Buy at https://spam.example"))
            #expect(bodies(try await listing(app, video, token: ownerToken)).contains("Buy at https://spam.example"))
            #expect(try await api(app, .POST, "/api/v1/comments/\(heldID)/approve", token: carol).status == .notFound)  // unseen
            #expect(try await api(app, .POST, "/api/v1/comments/\(heldID)/approve", token: newbie).status == .forbidden)
            let approved = try await api(app, .POST, "/api/v1/comments/\(heldID)/approve", token: ownerToken)
            #expect(approved.status == .ok && approved.json["held"] as? Bool == false && approved.json["links"] as? Bool == true)
            #expect(bodies(try await listing(app, video)).contains("Buy at https://spam.example"))

            // the author deletes their own; the owner deletes anyone's, with its replies
            #expect(try await api(app, .DELETE, "/api/v1/comments/\(heldID)", token: newbie).status == .noContent)
            #expect(try await api(app, .DELETE, "/api/v1/comments/\(firstID)", token: ownerToken).status == .noContent)
            #expect(try await Comment.query(on: app.db).count() == 1)

            // bad input: empty, too long, unknown parent, wrong ids, signed out
            #expect(try await comment(app, video, bob, "   ").status == .unprocessableEntity)
            #expect(try await comment(app, video, bob, String(repeating: "x", count: 2001)).status == .unprocessableEntity)
            #expect(try await comment(app, video, bob, "hi", parent: 999_999).status == .unprocessableEntity)
            #expect(try await api(app, .POST, "/api/v1/videos/\(video)/comments", json: ["body": "anon"]).status == .unauthorized)
            #expect(try await api(app, .GET, "/api/v1/videos/999999/comments").status == .notFound)
            #expect(try await api(app, .GET, "/api/v1/videos/\(video)/comments?sort=best").status == .badRequest)
            #expect(try await api(app, .PATCH, "/api/v1/comments/abc", token: bob, json: ["body": "x"]).status == .badRequest)
            #expect(try await api(app, .DELETE, "/api/v1/comments/999999", token: bob).status == .notFound)
        }
    }

    @Test("The owner holds all new comments or turns them off; a private video's comments are as missing as it")
    func policies() async throws {
        try await withApp { app in
            let (owner, ownerToken) = try await user(app, "owner")
            let (_, bob) = try await user(app, "bob")
            let (_, video) = try await Accounts.channelWithVideo(app, owner: owner, handle: "owned")
            #expect(try await api(app, .PATCH, "/api/v1/videos/\(video)", token: ownerToken, json: ["comments": "maybe"]).status == .unprocessableEntity)
            #expect(try await api(app, .PATCH, "/api/v1/videos/\(video)", token: bob, json: ["comments": "off"]).status == .forbidden)
            #expect(try await api(app, .PATCH, "/api/v1/videos/\(video)", token: ownerToken, json: ["comments": "hold"]).status == .ok)
            #expect(try await comment(app, video, bob, "held?").json["held"] as? Bool == true)
            #expect(try await comment(app, video, ownerToken, "mine").json["held"] as? Bool == false)
            #expect(try await listing(app, video)["policy"] as? String == "hold")
            #expect(try await api(app, .PATCH, "/api/v1/videos/\(video)", token: ownerToken, json: ["comments": "off"]).status == .ok)
            let refused = try await comment(app, video, bob, "hello?")
            #expect(refused.status == .forbidden)
            #expect(try await listing(app, video, token: bob)["can_comment"] as? Bool == false)
            let (_, hidden) = try await Accounts.channelWithVideo(app, owner: owner, handle: "owned2", visibility: .private)
            #expect(try await api(app, .GET, "/api/v1/videos/\(hidden)/comments", token: bob).status == .notFound)
            #expect(try await comment(app, hidden, bob, "peek").status == .notFound)
        }
    }

    @Test("Five comments a minute, then 429 with Retry-After; the channel's owner is not limited on their video")
    func rateLimit() async throws {
        try await withApp { app in
            let (owner, ownerToken) = try await user(app, "owner")
            let (_, bob) = try await user(app, "bob")
            let (_, video) = try await Accounts.channelWithVideo(app, owner: owner, handle: "owned")
            for i in 0..<5 { #expect(try await comment(app, video, bob, "comment \(i)").status == .created) }
            let limited = try await comment(app, video, bob, "one more")
            #expect(limited.status == .tooManyRequests)
            let retry = Int(limited.headers.first(name: "Retry-After") ?? "") ?? 0
            #expect(retry >= 1 && retry <= 60)
            for i in 0..<7 { #expect(try await comment(app, video, ownerToken, "owner \(i)").status == .created) }
        }
    }

    @Test("Tags: normalized, listed by tag, found by search, the index follows edits and deletes")
    func tags() async throws {
        try await withApp { app in
            let (owner, token) = try await user(app, "owner")
            let (_, video) = try await Accounts.channelWithVideo(app, owner: owner, handle: "owned")
            let set = try await api(app, .PATCH, "/api/v1/videos/\(video)", token: token, json: ["tags": ["Speed  Run", "#Mario", "mario", "a\"b\\c/d"]])
            #expect(set.status == .ok && set.json["tags"] as? [String] == ["speed run", "mario", "abcd"])
            #expect(try await api(app, .PATCH, "/api/v1/videos/\(video)", token: token, json: ["tags": (0..<11).map { "t\($0)" }]).status == .unprocessableEntity)
            #expect(try await api(app, .PATCH, "/api/v1/videos/\(video)", token: token, json: ["tags": [String(repeating: "x", count: 31)]]).status == .unprocessableEntity)
            func tagged(_ tag: String) async throws -> [Int] {
                let list = try await api(app, .GET, "/api/v1/videos?tag=\(tag)").json["data"] as? [[String: Any]] ?? []
                return list.compactMap { $0["id"] as? Int }
            }
            #expect(try await tagged("MARIO") == [video])
            #expect(try await tagged("speed%20run") == [video])
            #expect(try await SearchService(db: app.db).videos("mari").items.map(\.id) == [video])
            // a form's comma-separated string replaces them
            #expect(try await api(app, .PATCH, "/api/v1/videos/\(video)", token: token, json: ["tags": "zelda, speed run"]).status == .ok)
            #expect(try await tagged("mario").isEmpty)
            #expect(try await tagged("zelda") == [video])
            #expect(try await SearchService(db: app.db).videos("mario").items.isEmpty)
            #expect(try await SearchService(db: app.db).videos("zeld").items.map(\.id) == [video])
            // the tag page lists it; a private video is never listed
            let page = try await Browser(app).get("/tags/zelda")
            #expect(page.status == .ok && page.body.contains("Clip of owned"))
            #expect(try await api(app, .PATCH, "/api/v1/videos/\(video)", token: token, json: ["visibility": "private"]).status == .ok)
            #expect(try await tagged("zelda").isEmpty)
            #expect(try await SearchService(db: app.db).videos("zelda").items.isEmpty)
            #expect(try await Browser(app).get("/tags/a,b").status == .badRequest)
            // deleting the video deletes its tag rows
            #expect(try await api(app, .DELETE, "/api/v1/videos/\(video)", token: token).status == .noContent)
            #expect(try await (app.db as! any SQLDatabase).raw("SELECT COUNT(*) AS count FROM video_tags").first()?.decode(column: "count", as: Int.self) == 0)
        }
    }

    @Test("Reports: filed once per reporter and target, refused for bad input, closed together by an admin's action")
    func reports() async throws {
        try await withApp { app in
            let (owner, _) = try await user(app, "owner")
            let (_, bob) = try await user(app, "bob")
            let (_, carol) = try await user(app, "carol")
            let (admin, adminToken) = try await user(app, "root", admin: true)
            let (channel, video) = try await Accounts.channelWithVideo(app, owner: owner, handle: "owned")
            let made = try await comment(app, video, carol, "rude words")
            let commentID = try #require(made.json["id"] as? Int)
            func report(_ token: String?, _ type: String, _ id: Int, _ reason: String = "spam") async throws -> HTTPStatus {
                try await api(app, .POST, "/api/v1/reports", token: token, json: ["type": type, "id": id, "reason": reason]).status
            }
            #expect(try await report(bob, "video", video) == .created)
            #expect(try await report(bob, "video", video, "misleading") == .created)  // the same report, updated
            #expect(try await report(carol, "video", video) == .created)
            #expect(try await report(bob, "comment", commentID, "harassment") == .created)
            #expect(try await report(bob, "channel", channel) == .created)
            #expect(try await report(nil, "video", video) == .unauthorized)
            #expect(try await report(bob, "video", 999_999) == .notFound)
            #expect(try await report(bob, "user", 1) == .unprocessableEntity)
            #expect(try await report(bob, "video", video, "boring") == .unprocessableEntity)
            #expect(try await Report.query(on: app.db).count() == 4)
            #expect(try await ReportService(db: app.db).openCount() == 4)

            // the queue shows one row per target; only admins see it
            let queue = try await api(app, .GET, "/admin/reports", token: bob)
            #expect(queue.status == .forbidden)
            let reports = try await Report.query(on: app.db).all()
            let videoReport = try #require(reports.first { $0.targetType == .video })
            let commentReport = try #require(reports.first { $0.targetType == .comment })
            // deleting the comment closes its report; taking the video down closes both of its reports
            var status = try await api(app, .POST, "/admin/reports/\(try commentReport.requireID())/delete-comment", token: adminToken).status
            #expect(status == .seeOther || status == .found)
            #expect(try await Comment.find(commentID, on: app.db) == nil)
            status = try await api(app, .POST, "/admin/reports/\(try videoReport.requireID())/take-down", token: adminToken).status
            #expect(status == .seeOther || status == .found)
            #expect(try await Video.find(video, on: app.db)?.takedownReason != nil)
            #expect(try await ReportService(db: app.db).openCount() == 1)
            let closed = try await Report.query(on: app.db).filter(\.$targetType == .video).all()
            #expect(closed.allSatisfy { $0.status == .resolved && $0.resolvedBy == admin.id && $0.resolution == "video taken down" })
            // a comment action on a channel report is refused; dismissing closes it
            let channelReport = try #require(reports.first { $0.targetType == .channel })
            #expect(try await api(app, .POST, "/admin/reports/\(try channelReport.requireID())/delete-comment", token: adminToken).status == .badRequest)
            _ = try await api(app, .POST, "/admin/reports/\(try channelReport.requireID())/dismiss", token: adminToken)
            #expect(try await ReportService(db: app.db).openCount() == 0)
            #expect(try await Report.find(try channelReport.requireID(), on: app.db)?.status == .dismissed)
        }
    }
}
