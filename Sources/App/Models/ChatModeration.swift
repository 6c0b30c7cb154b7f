import Fluent
import Foundation

/// A channel's chat rules, set by its owner. A channel without a row has the defaults.
public final class ChatSettings: Model, @unchecked Sendable {
    public static let schema = "chat_settings"

    // managed
    @ID(custom: "channel_id", generatedBy: .user) public var id: Int?

    // data
    /// Seconds one user waits between two lines (0: off). Owner, moderators and admins are exempt.
    @Field(key: "slow_mode_seconds") public var slowModeSeconds: Int
    @Field(key: "subscribers_only") public var subscribersOnly: Bool
    /// One word or phrase per line; matched as whole words, ignoring case and accents.
    @Field(key: "blocked_words") public var blockedWords: String
    @Field(key: "links_allowed") public var linksAllowed: Bool

    public init() {}

    public init(channelID: Int) {
        self.id = channelID
        self.slowModeSeconds = 0
        self.subscribersOnly = false
        self.blockedWords = ""
        self.linksAllowed = true
    }
}

/// A user the channel's owner trusts to moderate its chat.
public final class ChannelModerator: Model, @unchecked Sendable {
    public static let schema = "channel_moderators"

    // managed
    @ID(custom: "id", generatedBy: .database) public var id: Int?
    @Field(key: "created_at") public var createdAt: Date

    // references
    @Parent(key: "channel_id") public var channel: Channel
    @Parent(key: "user_id") public var user: User

    public init() {}

    public init(channelID: Int, userID: Int, at: Date = Date()) {
        self.$channel.id = channelID
        self.$user.id = userID
        self.createdAt = at
    }
}

/// A user who may read a channel's chat but not write in it: for good (`until` nil) or until a time.
public final class ChatBan: Model, @unchecked Sendable {
    public static let schema = "chat_bans"

    // managed
    @ID(custom: "id", generatedBy: .database) public var id: Int?
    @Field(key: "created_at") public var createdAt: Date

    // references
    @Parent(key: "channel_id") public var channel: Channel
    @Parent(key: "user_id") public var user: User
    @OptionalField(key: "created_by") public var createdBy: Int?

    // data
    @OptionalField(key: "ends_at") public var endsAt: Date?

    public init() {}
}

/// One moderation action, for the owner's moderation log.
public final class ChatModerationEntry: Model, @unchecked Sendable {
    public static let schema = "chat_moderation_log"

    // managed
    @ID(custom: "id", generatedBy: .database) public var id: Int?
    @Field(key: "created_at") public var createdAt: Date

    // references
    @Parent(key: "channel_id") public var channel: Channel
    /// Who acted (nil: the system, or a deleted account).
    @OptionalField(key: "moderator_id") public var moderatorID: Int?
    @OptionalField(key: "target_user_id") public var targetUserID: Int?
    @OptionalField(key: "message_id") public var messageID: Int?

    // data
    /// `delete`, `timeout`, `ban`, `unban`, `add_moderator`, `remove_moderator`, `settings`.
    @Field(key: "action") public var action: String
    /// What a reader of the log needs: the deleted line's text, the time-out's length, the changed settings.
    @Field(key: "detail") public var detail: String

    public init() {}

    public init(channelID: Int, moderatorID: Int?, action: String, targetUserID: Int? = nil, messageID: Int? = nil, detail: String = "", at: Date = Date()) {
        self.$channel.id = channelID
        self.moderatorID = moderatorID
        self.action = action
        self.targetUserID = targetUserID
        self.messageID = messageID
        self.detail = detail
        self.createdAt = at
    }
}
