import Fluent
import Foundation

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
