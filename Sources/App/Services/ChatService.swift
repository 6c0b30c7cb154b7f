import Fluent
import Foundation
import SQLKit

/// What a chat socket keeps of its channel while it lives: not the whole model.
struct ChatRoom: Sendable {
    let id: Int
    let ownerID: Int?

    init(_ channel: Channel) throws {
        id = try channel.requireID()
        ownerID = channel.$owner.id
    }
}

/// What a chat socket keeps of its user.
struct ChatPerson: Sendable {
    let id: Int
    let username: String
    let isAdmin: Bool

    init(_ user: User) throws {
        id = try user.requireID()
        username = user.username
        isAdmin = user.isAdmin
    }
}

/// The chat's rules and storage: who may write and moderate, what a line may say, history, moderation and the
/// moderation log. It takes a database and nothing else; the sockets (`ChatHub`) and HTTP call it.
public struct ChatService: Sendable {
    let db: any Database

    /// How many lines a socket gets on connect, and at most on `?since=`.
    static let historyOnConnect = 50
    static let maxCatchUp = 500
    /// The longest time-out a moderator can give (two weeks).
    static let maxTimeout = 14 * 86400
    /// A ban or time-out also removes the user's lines from this far back.
    static let clearWindow: TimeInterval = 3600

    public init(db: any Database) { self.db = db }

    /// A reader's place in a channel's chat.
    struct Standing: Sendable {
        var user: ChatUserDTO
        var isOwner: Bool
        var isModerator: Bool
        var isAdmin: Bool
        var canModerate: Bool { isOwner || isModerator || isAdmin }
    }

    /// The user as chat shows them in `channel`, with their badges.
    func standing(of user: User, in channel: ChatRoom) async throws -> Standing {
        try await standing(of: ChatPerson(user), in: channel)
    }

    func standing(of user: ChatPerson, in channel: ChatRoom) async throws -> Standing {
        let userID = user.id, channelID = channel.id
        let isModerator = try await ChannelModerator.query(on: db).filter(\.$channel.$id == channelID).filter(\.$user.$id == userID).count() > 0
        let isOwner = channel.ownerID == userID
        return Standing(
            user: ChatUserDTO(
                id: userID, username: user.username, display_name: user.username,
                badges: Self.badges(owner: isOwner, moderator: isModerator, admin: user.isAdmin)),
            isOwner: isOwner, isModerator: isModerator, isAdmin: user.isAdmin)
    }

    static func badges(owner: Bool, moderator: Bool, admin: Bool) -> [String] {
        (owner ? ["owner"] : []) + (moderator && !owner ? ["moderator"] : []) + (admin ? ["admin"] : [])
    }

    /// The channel's rules (defaults when it never changed them).
    func settings(channelID: Int) async throws -> ChatSettings {
        try await ChatSettings.find(channelID, on: db) ?? ChatSettings(channelID: channelID)
    }

    /// Why `standing` cannot write in `channel` now (ban, time-out, subscribers-only), or nil when they can.
    /// Moderators are never held back.
    func restriction(for standing: Standing, in channelID: Int, settings: ChatSettings, now: Date = Date()) async throws -> ChatRefusal? {
        guard !standing.canModerate else { return nil }
        if let ban = try await ChatBan.query(on: db).filter(\.$channel.$id == channelID).filter(\.$user.$id == standing.user.id).first() {
            if let until = ban.endsAt {
                if until > now {
                    let wait = Int(until.timeIntervalSince(now).rounded(.up))
                    return ChatRefusal("timed_out", "A moderator timed you out: you can write again in \(Formatting.waitText(seconds: wait)).", retryAfter: wait)
                }
            } else {
                return ChatRefusal("banned", "You are banned from this chat: you can read it but not write in it.")
            }
        }
        if settings.subscribersOnly {
            let subscribed = try await SubscriptionService(db: db).isSubscribed(userID: standing.user.id, channelID: channelID)
            if !subscribed { return ChatRefusal("followers_only", "This chat is for subscribers only: subscribe to the channel to write in it.") }
        }
        return nil
    }

    /// Checks and stores a line by `standing` in `channel`, and returns it as sent to everyone. Throws a
    /// `ChatRefusal` saying why not otherwise; nothing is stored then.
    func send(_ raw: String, by standing: Standing, in channel: ChatRoom, limiter: ChatRateLimiter, now: Date = Date()) async throws -> ChatMessageDTO {
        let channelID = channel.id
        let text = try ChatText.clean(raw)
        let settings = try await settings(channelID: channelID)
        if let refusal = try await restriction(for: standing, in: channelID, settings: settings, now: now) { throw refusal }
        if !standing.canModerate {
            if let word = ChatText.blocked(text, list: ChatText.blockedList(settings.blockedWords)) {
                throw ChatRefusal("blocked_word", "This chat does not allow the word “\(word)”; reword your message.")
            }
            if !settings.linksAllowed, ChatText.hasLink(text) {
                throw ChatRefusal("links_not_allowed", "Links are turned off in this chat; send your message without the link.")
            }
            if settings.slowModeSeconds > 0,
                let last = try await ChatMessage.query(on: db).filter(\.$channel.$id == channelID).filter(\.$user.$id == standing.user.id)
                    .sort(\.$id, .descending).field(\.$sentAt).first()?.sentAt,
                now.timeIntervalSince(last) < Double(settings.slowModeSeconds)
            {
                let wait = max(1, Int((Double(settings.slowModeSeconds) - now.timeIntervalSince(last)).rounded(.up)))
                throw ChatRefusal("slow_mode", "Slow mode is on: one message every \(Formatting.waitText(seconds: settings.slowModeSeconds)). Wait \(wait) s.", retryAfter: wait)
            }
        }
        try limiter.admit("\(channelID):\(standing.user.id)", now: now)
        // The broadcast it belongs to, as the database has it now (the socket's channel may be minutes old).
        let liveSince = try await Channel.query(on: db).filter(\.$id == channelID).field(\.$id).field(\.$liveStartedAt).first()?.liveStartedAt
        let message = ChatMessage(channelID: channelID, userID: standing.user.id, text: text, sentAt: now, broadcastStartedAt: liveSince)
        try await message.create(on: db)
        return ChatMessageDTO(id: try message.requireID(), user: standing.user, text: text, sent_at: Formatting.iso8601(now))
    }

    private struct Row: Decodable {
        var id: Int
        var user_id: Int
        var text: String
        var sent_at: Date
        var username: String
        var role: String
    }

    /// Lines of `channel` that are not deleted: newest first before `before` (history pages), or oldest first
    /// after `after` (a reconnecting socket's catch-up).
    func messages(in channel: ChatRoom, before: Int? = nil, after: Int? = nil, limit: Int) async throws -> [ChatMessageDTO] {
        let channelID = channel.id
        var query = try lines(channelID: channelID)
        if let before { query = query.where(SQLColumn("id", table: "m"), .lessThan, SQLBind(before)) }
        if let after { query = query.where(SQLColumn("id", table: "m"), .greaterThan, SQLBind(after)) }
        let rows = try await query.orderBy(SQLColumn("id", table: "m"), after == nil ? SQLDirection.descending : SQLDirection.ascending)
            .limit(max(1, limit)).all(decoding: Row.self)
        return try await dtos(rows, channel: channel)
    }

    /// A channel's lines that are not deleted, with their writers' names and roles.
    private func lines(channelID: Int) throws -> SQLSelectBuilder {
        try db.sql().select()
            .column(SQLColumn("id", table: "m")).column(SQLColumn("user_id", table: "m")).column(SQLColumn("text", table: "m"))
            .column(SQLColumn("sent_at", table: "m")).column(SQLColumn("username", table: "u")).column(SQLColumn("role", table: "u"))
            .from(SQLAlias(SQLIdentifier(ChatMessage.schema), as: SQLIdentifier("m")))
            .join(SQLAlias(SQLIdentifier(User.schema), as: SQLIdentifier("u")), on: SQLColumn("id", table: "u"), .equal, SQLColumn("user_id", table: "m"))
            .where(SQLColumn("channel_id", table: "m"), .equal, SQLBind(channelID))
            .where(SQLColumn("deleted_at", table: "m"), .is, SQLLiteral.null)
    }

    private func dtos(_ rows: [Row], channel: ChatRoom, startedAt: Date? = nil) async throws -> [ChatMessageDTO] {
        guard !rows.isEmpty else { return [] }
        let moderators = try await moderatorIDs(channelID: channel.id)
        return rows.map { row in
            ChatMessageDTO(
                id: row.id,
                user: ChatUserDTO(
                    id: row.user_id, username: row.username, display_name: row.username,
                    badges: Self.badges(owner: channel.ownerID == row.user_id, moderator: moderators.contains(row.user_id), admin: row.role == Role.admin.rawValue)),
                text: row.text, sent_at: Formatting.iso8601(row.sent_at),
                offset: startedAt.map { max(0, (row.sent_at.timeIntervalSince($0) * 10).rounded() / 10) })
        }
    }

    func moderatorIDs(channelID: Int) async throws -> Set<Int> {
        Set(try await ChannelModerator.query(on: db).filter(\.$channel.$id == channelID).all().map { $0.$user.id })
    }

    // MARK: moderation

    /// Deletes a line; returns its id. Only moderators of its channel.
    func delete(messageID: Int, in channel: ChatRoom, by standing: Standing) async throws -> Int {
        guard standing.canModerate else { throw ChatRefusal("forbidden", "Only the owner, moderators and admins can delete messages.") }
        let channelID = channel.id
        guard let message = try await ChatMessage.query(on: db).filter(\.$id == messageID).filter(\.$channel.$id == channelID).first() else {
            throw ChatRefusal("not_found", "There is no message \(messageID) in this chat.")
        }
        if message.deletedAt == nil {
            message.deletedAt = Date()
            try await message.save(on: db)
            try await log(channelID, by: standing, "delete", target: message.$user.id, messageID: messageID, detail: message.text)
        }
        return messageID
    }

    /// Times a user out for `seconds` (nil: bans them) and removes their recent lines.
    func restrict(userID: Int, seconds: Int?, in channel: ChatRoom, by standing: Standing, now: Date = Date()) async throws {
        let channelID = channel.id
        try await requireModeratable(userID: userID, in: channel, by: standing)
        if let seconds, !(1...Self.maxTimeout).contains(seconds) {
            throw ChatRefusal("bad_frame", "A time-out lasts 1 to \(Self.maxTimeout) seconds (two weeks); ban for longer.")
        }
        try await db.transaction { db in
            try await ChatBan.query(on: db).filter(\.$channel.$id == channelID).filter(\.$user.$id == userID).delete()
            let ban = ChatBan()
            ban.$channel.id = channelID
            ban.$user.id = userID
            ban.createdBy = standing.user.id
            ban.createdAt = now
            ban.endsAt = seconds.map { now.addingTimeInterval(Double($0)) }
            try await ban.create(on: db)
            try await ChatMessage.query(on: db).filter(\.$channel.$id == channelID).filter(\.$user.$id == userID)
                .filter(\.$sentAt >= now.addingTimeInterval(-Self.clearWindow)).filter(\.$deletedAt == nil)
                .set(\.$deletedAt, to: now).update()
        }
        try await log(channelID, by: standing, seconds == nil ? "ban" : "timeout", target: userID, detail: seconds.map { "\(Formatting.waitText(seconds: $0))" } ?? "")
    }

    /// Lifts a ban or time-out.
    func unban(userID: Int, in channel: ChatRoom, by standing: Standing) async throws {
        guard standing.canModerate else { throw ChatRefusal("forbidden", "Only the owner, moderators and admins can unban.") }
        let channelID = channel.id
        try await ChatBan.query(on: db).filter(\.$channel.$id == channelID).filter(\.$user.$id == userID).delete()
        try await log(channelID, by: standing, "unban", target: userID)
    }

    /// Moderators act on ordinary users; the owner and admins on moderators too; nobody on the owner or an admin.
    private func requireModeratable(userID: Int, in channel: ChatRoom, by standing: Standing) async throws {
        guard standing.canModerate else { throw ChatRefusal("forbidden", "Only the owner, moderators and admins can time out or ban.") }
        guard let target = try await User.find(userID, on: db) else { throw ChatRefusal("not_found", "There is no user \(userID).") }
        guard channel.ownerID != userID, !target.isAdmin else {
            throw ChatRefusal("forbidden", "The channel's owner and admins cannot be timed out or banned.")
        }
        if try await moderatorIDs(channelID: channel.id).contains(userID), !(standing.isOwner || standing.isAdmin) {
            throw ChatRefusal("forbidden", "Only the owner can time out or ban a moderator.")
        }
    }

    private func log(_ channelID: Int, by standing: Standing?, _ action: String, target: Int? = nil, messageID: Int? = nil, detail: String = "") async throws {
        try await ChatModerationEntry(channelID: channelID, moderatorID: standing?.user.id, action: action, targetUserID: target, messageID: messageID, detail: detail)
            .create(on: db)
    }

    /// The owner (or an admin) appoints or removes a moderator. True when something changed.
    @discardableResult
    func setModerator(userID: Int, _ on: Bool, in channel: ChatRoom, by standing: Standing) async throws -> Bool {
        guard standing.isOwner || standing.isAdmin else { throw ChatRefusal("forbidden", "Only the channel's owner appoints moderators.") }
        let channelID = channel.id
        guard try await User.find(userID, on: db) != nil else { throw ChatRefusal("not_found", "There is no user \(userID).") }
        let existing = try await ChannelModerator.query(on: db).filter(\.$channel.$id == channelID).filter(\.$user.$id == userID).first()
        switch (on, existing) {
        case (true, nil):
            do {
                try await ChannelModerator(channelID: channelID, userID: userID).create(on: db)
            } catch let error as any DatabaseError where error.isConstraintFailure {
                return false  // appointed twice at once: one row
            }
            try await log(channelID, by: standing, "add_moderator", target: userID)
            return true
        case (false, let row?):
            try await row.delete(on: db)
            try await log(channelID, by: standing, "remove_moderator", target: userID)
            return true
        default:
            return false
        }
    }

    func moderators(of channel: ChatRoom) async throws -> [ChatModeratorDTO] {
        try await ChannelModerator.query(on: db).filter(\.$channel.$id == channel.id).with(\.$user).sort(\.$id).all()
            .map { ChatModeratorDTO(user_id: $0.$user.id, username: $0.user.username, added_at: Formatting.iso8601($0.createdAt)) }
    }

    /// Bans and time-outs still in force.
    func bans(of channel: ChatRoom, now: Date = Date()) async throws -> [ChatBanDTO] {
        try await ChatBan.query(on: db).filter(\.$channel.$id == channel.id).with(\.$user).sort(\.$id, .descending).all()
            .filter { $0.endsAt.map { $0 > now } ?? true }
            .map { ChatBanDTO(user_id: $0.$user.id, username: $0.user.username, until: $0.endsAt.map(Formatting.iso8601)) }
    }

    /// Changes the chat rules (owner and admins; moderators too).
    func update(_ patch: ChatSettingsPatch, in channel: ChatRoom, by standing: Standing) async throws -> ChatSettings {
        guard standing.canModerate else { throw ChatRefusal("forbidden", "Only the owner, moderators and admins change chat settings.") }
        let settings = try await settings(channelID: channel.id)
        if let slow = patch.slow_mode_seconds {
            guard (0...3600).contains(slow) else { throw ChatRefusal("unprocessable", "slow_mode_seconds is 0 (off) to 3600.") }
            settings.slowModeSeconds = slow
        }
        if let only = patch.subscribers_only { settings.subscribersOnly = only }
        if let links = patch.links_allowed { settings.linksAllowed = links }
        if let words = patch.blocked_words {
            // One word or phrase per line, as the studio form's text box has them: an item with line breaks is
            // several; blank lines and surrounding spaces are dropped.
            let cleaned = words.flatMap { $0.split(whereSeparator: \.isNewline) }
                .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            guard cleaned.count <= 500, cleaned.allSatisfy({ $0.count <= 100 }) else {
                throw ChatRefusal("unprocessable", "blocked_words is a list of up to 500 words or phrases of up to 100 characters each.")
            }
            settings.blockedWords = cleaned.joined(separator: "\n")
        }
        try await settings.save(on: db)
        try await log(channel.id, by: standing, "settings", detail: Self.describe(settings))
        return settings
    }

    static func describe(_ s: ChatSettings) -> String {
        "slow mode \(s.slowModeSeconds) s, subscribers only \(s.subscribersOnly ? "on" : "off"), links \(s.linksAllowed ? "allowed" : "off"), \(ChatText.blockedList(s.blockedWords).count) blocked"
    }

    func moderationLog(of channel: ChatRoom, limit: Int = 100) async throws -> [ChatModerationDTO] {
        let entries = try await ChatModerationEntry.query(on: db).filter(\.$channel.$id == channel.id).sort(\.$id, .descending).limit(limit).all()
        let ids = Set(entries.flatMap { [$0.moderatorID, $0.targetUserID].compactMap { $0 } })
        let names = Dictionary(
            try await User.query(on: db).filter(\.$id ~~ Array(ids)).field(\.$id).field(\.$username).all().map { ($0.id ?? 0, $0.username) },
            uniquingKeysWith: { a, _ in a })
        return entries.map {
            ChatModerationDTO(
                id: $0.id ?? 0, action: $0.action, moderator: $0.moderatorID.flatMap { names[$0] }, target: $0.targetUserID.flatMap { names[$0] },
                message_id: $0.messageID, detail: $0.detail, created_at: Formatting.iso8601($0.createdAt))
        }
    }

    // MARK: replays

    /// Remembers that `videoID` recorded the broadcast of `channelID` that started at `startedAt`.
    func recordReplay(videoID: Int, channelID: Int, startedAt: Date) async throws {
        try await ChatReplay(videoID: videoID, channelID: channelID, broadcastStartedAt: startedAt).create(on: db)
    }

    /// The replay video of the channel's latest broadcast, if one was kept.
    func latestReplay(channelID: Int) async throws -> Int? {
        try await ChatReplay.query(on: db).filter(\.$channel.$id == channelID).sort(\.$broadcastStartedAt, .descending).first()?.id
    }

    /// The chat of the broadcast a replay video recorded, oldest first with offsets; nil for other videos.
    func replay(videoID: Int, limit: Int = 20_000) async throws -> ChatReplayDTO? {
        guard let replay = try await ChatReplay.find(videoID, on: db), let found = try await Channel.find(replay.$channel.id, on: db) else { return nil }
        let channel = try ChatRoom(found)
        // The broadcast's start as the messages hold it, within a second or two of the recorder's clock.
        let rows = try await lines(channelID: replay.$channel.id)
            .where(SQLColumn("broadcast_started_at", table: "m"), .greaterThanOrEqual, SQLBind(replay.broadcastStartedAt.addingTimeInterval(-2)))
            .where(SQLColumn("broadcast_started_at", table: "m"), .lessThanOrEqual, SQLBind(replay.broadcastStartedAt.addingTimeInterval(2)))
            .orderBy(SQLColumn("id", table: "m"), SQLDirection.ascending).limit(limit).all(decoding: Row.self)
        return ChatReplayDTO(
            video_id: videoID, channel_id: replay.$channel.id, broadcast_started_at: Formatting.iso8601(replay.broadcastStartedAt),
            data: try await dtos(rows, channel: channel, startedAt: replay.broadcastStartedAt))
    }
}
