@testable import App
import Fluent
import Foundation
import NIOCore
import NIOEmbedded
import NIOWebSocket
import Testing
import VaporTesting

/// The chat's rules, on the service that every socket and HTTP route goes through (SQLite, and PostgreSQL when
/// `DATABASE_URL` is set), plus one real socket.
@Suite("Chat", .serialized)
struct ChatTests {
    /// An owner with a channel, a viewer, and the channel's room.
    private func room(_ app: Application, handle: String = "talk") async throws -> (owner: User, viewer: User, channel: ChatRoom) {
        let owner = try await Accounts.user(app, "owner1")
        let token = try await Accounts.token(app, owner)
        _ = try await api(app, .POST, "/api/v1/channels", token: token, json: ["handle": handle, "name": "Talk"])
        let viewer = try await Accounts.user(app, "viewer1")
        let channel = try #require(try await App.Channel.query(on: app.db).filter(\.$handle == handle).with(\.$owner).first())
        return (owner, viewer, try ChatRoom(channel))
    }

    private func refusal(_ body: () async throws -> Void) async -> ChatRefusal? {
        do {
            try await body()
            return nil
        } catch let refusal as ChatRefusal {
            return refusal
        } catch {
            Issue.record("unexpected error \(error)")
            return nil
        }
    }

    @Test("Text rules: trimmed, at most 500 characters, blocked words whole-word ignoring case and accents, links")
    func textRules() throws {
        #expect(try ChatText.clean("  hi\u{0007}there \n") == "hi there")
        #expect(throws: ChatRefusal.self) { try ChatText.clean("   ") }
        #expect((try? ChatText.clean(String(repeating: "a", count: 500))) != nil)
        #expect(throws: ChatRefusal.self) { try ChatText.clean(String(repeating: "a", count: 501)) }
        #expect(throws: ChatRefusal.self) { try ChatText.clean(String(repeating: "e\u{301}\u{302}\u{303}\u{304}", count: 300)) }  // few characters, many bytes
        let list = ChatText.blockedList("Crème\nbad phrase, spoiler")
        #expect(ChatText.blocked("what a CREME day", list: list) == "creme")
        #expect(ChatText.blocked("crèmes are fine", list: list) == nil)  // whole words only
        #expect(ChatText.blocked("this is a Bad  Phrase!", list: list) == "bad phrase")
        #expect(ChatText.blocked("bad, phrase", list: list) == "bad phrase")
        #expect(ChatText.blocked("no SPOILERS", list: list) == nil)
        #expect(ChatText.hasLink("see https://example.com/x"))
        #expect(ChatText.hasLink("go to www.example.org"))
        #expect(ChatText.hasLink("example.com/watch"))
        #expect(!ChatText.hasLink("version 3.5 e.g. fine... ok"))
    }

    @Test("Rate limit: the sixth line in ten seconds is refused with the wait; later it passes")
    func rateLimit() throws {
        let limiter = ChatRateLimiter(limit: 5, window: 10)
        let start = Date()
        for i in 0..<5 { try limiter.admit("1:2", now: start.addingTimeInterval(Double(i))) }
        #expect(throws: ChatRefusal("rate_limited", "You are sending messages too fast: at most 5 in 10 seconds. Wait 6 s.", retryAfter: 6)) {
            try limiter.admit("1:2", now: start.addingTimeInterval(4))
        }
        try limiter.admit("1:3", now: start.addingTimeInterval(4))  // someone else is not held back
        try limiter.admit("1:2", now: start.addingTimeInterval(10.5))
    }

    @Test("Sending: stored before it is returned; slow mode, blocked words and links hold viewers back, not the owner")
    func sendingRules() async throws {
        try await withApp { app in
            // given
            let (owner, viewer, channel) = try await room(app)
            let chat = ChatService(db: app.db)
            let limiter = ChatRateLimiter()
            let me = try await chat.standing(of: viewer, in: channel)
            let boss = try await chat.standing(of: owner, in: channel)
            #expect(boss.user.badges == ["owner"] && me.user.badges.isEmpty && !me.canModerate && boss.canModerate)
            _ = try await chat.update(.init(slow_mode_seconds: 30, subscribers_only: nil, blocked_words: ["Crème"], links_allowed: false), in: channel, by: boss)

            // when / then
            let now = Date()
            let first = try await chat.send("hello <b>all</b>", by: me, in: channel, limiter: limiter, now: now)
            #expect(try await ChatMessage.find(first.id, on: app.db)?.text == "hello <b>all</b>")
            #expect(await refusal { _ = try await chat.send("again", by: me, in: channel, limiter: limiter, now: now.addingTimeInterval(10)) }?.code == "slow_mode")
            // 20 s left (21 when the stored time rounds up a fraction of a millisecond)
            #expect((20...21).contains(await refusal { _ = try await chat.send("again", by: me, in: channel, limiter: limiter, now: now.addingTimeInterval(10)) }?.retryAfter ?? 0))
            #expect(await refusal { _ = try await chat.send("CREME brulee", by: me, in: channel, limiter: limiter, now: now.addingTimeInterval(40)) }?.code == "blocked_word")
            #expect(await refusal { _ = try await chat.send("see example.com", by: me, in: channel, limiter: limiter, now: now.addingTimeInterval(40)) }?.code == "links_not_allowed")
            _ = try await chat.send("ok now", by: me, in: channel, limiter: limiter, now: now.addingTimeInterval(40))
            // The owner is exempt from slow mode, blocked words and links.
            _ = try await chat.send("crème at example.com", by: boss, in: channel, limiter: limiter, now: now.addingTimeInterval(41))
            _ = try await chat.send("twice", by: boss, in: channel, limiter: limiter, now: now.addingTimeInterval(42))
            #expect(await refusal { _ = try await chat.send(String(repeating: "x", count: 501), by: boss, in: channel, limiter: limiter) }?.code == "too_long")
            #expect(try await ChatMessage.query(on: app.db).count() == 4)
        }
    }

    @Test("Subscribers-only: a viewer must subscribe first; moderators need not")
    func subscribersOnly() async throws {
        try await withApp { app in
            let (owner, viewer, channel) = try await room(app)
            let chat = ChatService(db: app.db)
            let boss = try await chat.standing(of: owner, in: channel)
            _ = try await chat.update(.init(slow_mode_seconds: nil, subscribers_only: true, blocked_words: nil, links_allowed: nil), in: channel, by: boss)
            let me = try await chat.standing(of: viewer, in: channel)
            #expect(await refusal { _ = try await chat.send("hi", by: me, in: channel, limiter: ChatRateLimiter()) }?.code == "followers_only")
            _ = try await SubscriptionService(db: app.db).subscribe(userID: viewer.requireID(), channelID: channel.id)
            _ = try await chat.send("hi", by: me, in: channel, limiter: ChatRateLimiter())
            _ = try await chat.send("welcome", by: boss, in: channel, limiter: ChatRateLimiter())
        }
    }

    @Test("Moderation: the owner appoints moderators; moderators delete, time out and ban viewers but not the owner or each other")
    func moderation() async throws {
        try await withApp { app in
            // given
            let (owner, viewer, channel) = try await room(app)
            let mod = try await Accounts.user(app, "mod1")
            let other = try await Accounts.user(app, "other1")
            let admin = try await Accounts.user(app, "root1", admin: true)
            let chat = ChatService(db: app.db)
            let boss = try await chat.standing(of: owner, in: channel)
            let me = try await chat.standing(of: viewer, in: channel)
            let limiter = ChatRateLimiter()

            // A viewer cannot appoint, delete or ban.
            #expect(await refusal { try await chat.setModerator(userID: mod.requireID(), true, in: channel, by: me) }?.code == "forbidden")
            let line = try await chat.send("spam spam", by: me, in: channel, limiter: limiter)
            #expect(await refusal { _ = try await chat.delete(messageID: line.id, in: channel, by: try await chat.standing(of: other, in: channel)) }?.code == "forbidden")

            // when: the owner appoints a moderator
            #expect(try await chat.setModerator(userID: mod.requireID(), true, in: channel, by: boss))
            #expect(try await !chat.setModerator(userID: mod.requireID(), true, in: channel, by: boss))  // once
            let moderator = try await chat.standing(of: mod, in: channel)
            #expect(moderator.canModerate && moderator.user.badges == ["moderator"])
            #expect(await refusal { try await chat.setModerator(userID: other.requireID(), true, in: channel, by: moderator) }?.code == "forbidden")

            // then: the moderator deletes, times out and bans
            _ = try await chat.delete(messageID: line.id, in: channel, by: moderator)
            #expect(try await chat.messages(in: channel, limit: 50).isEmpty)
            let kept = try await chat.send("sorry", by: me, in: channel, limiter: limiter)
            try await chat.restrict(userID: viewer.requireID(), seconds: 600, in: channel, by: moderator)
            #expect(try await chat.messages(in: channel, limit: 50).allSatisfy { $0.id != kept.id })  // their recent lines go
            let timedOut = await refusal { _ = try await chat.send("hello?", by: me, in: channel, limiter: limiter) }
            #expect(timedOut?.code == "timed_out" && (timedOut?.retryAfter ?? 0) > 590)
            _ = try await chat.send("later", by: me, in: channel, limiter: limiter, now: Date().addingTimeInterval(601))
            try await chat.restrict(userID: viewer.requireID(), seconds: nil, in: channel, by: moderator)
            #expect(await refusal { _ = try await chat.send("hello?", by: me, in: channel, limiter: limiter, now: Date().addingTimeInterval(10_000)) }?.code == "banned")
            #expect(try await chat.bans(of: channel).map(\.username) == ["viewer1"])
            try await chat.unban(userID: viewer.requireID(), in: channel, by: moderator)
            _ = try await chat.send("back", by: me, in: channel, limiter: ChatRateLimiter())

            // Nobody bans the owner or an admin; a moderator cannot ban another moderator, the owner can.
            #expect(await refusal { try await chat.restrict(userID: owner.requireID(), seconds: nil, in: channel, by: moderator) }?.code == "forbidden")
            #expect(await refusal { try await chat.restrict(userID: admin.requireID(), seconds: 60, in: channel, by: boss) }?.code == "forbidden")
            try await chat.setModerator(userID: other.requireID(), true, in: channel, by: boss)
            #expect(await refusal { try await chat.restrict(userID: other.requireID(), seconds: 60, in: channel, by: moderator) }?.code == "forbidden")
            try await chat.restrict(userID: other.requireID(), seconds: 60, in: channel, by: boss)
            // An admin moderates any channel.
            #expect(try await chat.standing(of: admin, in: channel).canModerate)

            // Every action is in the log, newest first.
            let log = try await chat.moderationLog(of: channel).map(\.action)
            #expect(log == ["timeout", "add_moderator", "unban", "ban", "timeout", "delete", "add_moderator"])
        }
    }

    @Test("History pages newest first without deleted lines; since= catches up oldest first")
    func history() async throws {
        try await withApp { app in
            let (owner, _, channel) = try await room(app)
            let chat = ChatService(db: app.db)
            let boss = try await chat.standing(of: owner, in: channel)
            var ids: [Int] = []
            for i in 0..<12 { ids.append(try await chat.send("line \(i)", by: boss, in: channel, limiter: ChatRateLimiter(limit: 100)).id) }
            _ = try await chat.delete(messageID: ids[10], in: channel, by: boss)

            let page = try await api(app, .GET, "/api/v1/channels/@talk/chat/messages?limit=5")
            let texts = (page.json["data"] as? [[String: Any]])?.compactMap { $0["text"] as? String }
            #expect(texts == ["line 11", "line 9", "line 8", "line 7", "line 6"])
            let before = try #require(page.json["next_before"] as? Int)
            let older = try await api(app, .GET, "/api/v1/channels/@talk/chat/messages?limit=5&before=\(before)")
            #expect((older.json["data"] as? [[String: Any]])?.compactMap { $0["text"] as? String } == ["line 5", "line 4", "line 3", "line 2", "line 1"])
            #expect(try await api(app, .GET, "/api/v1/channels/@talk/chat/messages?limit=0").status == .badRequest)
            #expect(try await api(app, .GET, "/api/v1/channels/@nobody/chat/messages").status == .notFound)

            let missed = try await chat.messages(in: channel, after: ids[7], limit: ChatService.maxCatchUp)
            #expect(missed.map(\.text) == ["line 8", "line 9", "line 11"])
        }
    }

    @Test("HTTP: moderators and settings are the owner's; strangers get 403, nobody signed in 401")
    func httpRoutes() async throws {
        try await withApp { app in
            let (owner, viewer, channel) = try await room(app)
            let ownerToken = try await Accounts.token(app, owner)
            let viewerToken = try await Accounts.token(app, viewer)
            let path = "/api/v1/channels/\(channel.id)"
            #expect(try await api(app, .PUT, "\(path)/moderators/\(try viewer.requireID())").status == .unauthorized)
            #expect(try await api(app, .PUT, "\(path)/moderators/\(try viewer.requireID())", token: viewerToken).status == .forbidden)
            let added = try await api(app, .PUT, "\(path)/moderators/\(try viewer.requireID())", token: ownerToken)
            #expect(added.status == .ok && (added.json["data"] as? [[String: Any]])?.first?["username"] as? String == "viewer1")
            // A value out of its rule is 422; an item with line breaks is one word per line, as in the studio form.
            #expect(try await api(app, .PATCH, "\(path)/chat", token: ownerToken, json: ["slow_mode_seconds": 5000]).status == .unprocessableEntity)
            let many = try await api(app, .PATCH, "\(path)/chat", token: ownerToken, json: ["blocked_words": [String(repeating: "w\n", count: 501)]])
            #expect(many.status == .unprocessableEntity)
            let lines = try await api(app, .PATCH, "\(path)/chat", token: ownerToken, json: ["blocked_words": ["spam\n\n  eggs \r\n"]])
            #expect(lines.status == .ok && lines.json["blocked_words"] as? [String] == ["spam", "eggs"])
            let patched = try await api(app, .PATCH, "\(path)/chat", token: ownerToken, json: ["slow_mode_seconds": 15, "blocked_words": ["foo"]])
            #expect(patched.json["slow_mode_seconds"] as? Int == 15)
            // Blocked words are shown to those who moderate only.
            #expect((try await api(app, .GET, "\(path)/chat").json["blocked_words"] as? [String]) == [])
            #expect((try await api(app, .GET, "\(path)/chat", token: viewerToken).json["blocked_words"] as? [String]) == ["foo"])
            #expect(try await api(app, .DELETE, "\(path)/moderators/\(try viewer.requireID())", token: ownerToken).status == .ok)
            #expect(try await api(app, .GET, "\(path)/chat/log", token: viewerToken).status == .forbidden)
            #expect(try await api(app, .GET, "\(path)/chat/log", token: ownerToken).status == .ok)
        }
    }

    /// A server-side WebSocket on a channel without a network.
    private static func embeddedSocket() throws -> (EmbeddedChannel, WebSocket) {
        let connection = EmbeddedChannel()
        try connection.connect(to: try SocketAddress(ipAddress: "127.0.0.1", port: 9)).wait()  // an open connection
        let made = LockedBox<WebSocket?>(nil)
        let upgraded = WebSocket.server(on: connection) { made.set($0) }
        try connection.embeddedEventLoop.run()
        try upgraded.wait()
        return (connection, try #require(made.get()))
    }

    @Test("A reader that stops reading is dropped, not waited for: its connection closes once 256 KB wait unsent")
    func slowReaderIsDropped() async throws {
        // given: a reader whose socket has taken its first frames
        let (connection, socket) = try Self.embeddedSocket()
        let client = ChatClient(socket: socket, connection: connection, channelID: 1, viewerKey: "k")
        client.open(first: [ByteBuffer(string: #"{"type":"hello"}"#)])
        try connection.embeddedEventLoop.run()
        let hello = try #require(try connection.readOutbound(as: WebSocketFrame.self))
        #expect(String(buffer: hello.unmaskedData) == #"{"type":"hello"}"#)

        // when: lines go out while it reads, then its connection stops taking them (unwritable: 256 KB queued)
        client.sendOnLoop(ByteBuffer(string: "line 1"))
        #expect(try connection.readOutbound(as: WebSocketFrame.self) != nil)
        #expect(connection.isActive)
        connection.isWritable = false
        client.sendOnLoop(ByteBuffer(string: "line 2"))
        try connection.embeddedEventLoop.run()

        // then: it is cut off, and nothing more is written for it
        #expect(!connection.isActive)
        client.sendOnLoop(ByteBuffer(string: "line 3"))
        #expect(try connection.readOutbound(as: WebSocketFrame.self) == nil)
    }

    @Test("A reader that never finishes its start is dropped once 256 KB are queued for it")
    func queueBeforeOpenIsBounded() async throws {
        let (connection, socket) = try Self.embeddedSocket()
        let client = ChatClient(socket: socket, connection: connection, channelID: 1, viewerKey: "k")
        let line = ByteBuffer(string: String(repeating: "x", count: 1000))
        for _ in 0..<(ChatClient.maxPending / 1000) { client.sendOnLoop(line) }
        #expect(connection.isActive)
        client.sendOnLoop(line)
        try connection.embeddedEventLoop.run()
        #expect(!connection.isActive)
    }
}

/// A value set on one thread and read on another.
final class LockedBox<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value
    init(_ value: Value) { self.value = value }
    func set(_ new: Value) { lock.withLock { value = new } }
    func get() -> Value { lock.withLock { value } }
}
