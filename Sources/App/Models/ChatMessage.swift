import Fluent
import Foundation

/// One line of a channel's chat. It is stored before anyone is sent it, so an acknowledged line survives a
/// restart; a moderator's delete sets `deletedAt` (the line stays for the moderation log).
public final class ChatMessage: Model, @unchecked Sendable {
    public static let schema = "chat_messages"

    // managed
    @ID(custom: "id", generatedBy: .database) public var id: Int?
    @Field(key: "sent_at") public var sentAt: Date
    @OptionalField(key: "deleted_at") public var deletedAt: Date?

    // references
    @Parent(key: "channel_id") public var channel: Channel
    @Parent(key: "user_id") public var user: User

    // data
    @Field(key: "text") public var text: String
    /// The broadcast this line was written during (the channel's `live_started_at` then); nil while offline.
    @OptionalField(key: "broadcast_started_at") public var broadcastStartedAt: Date?

    public init() {}

    public init(channelID: Int, userID: Int, text: String, sentAt: Date, broadcastStartedAt: Date?) {
        self.$channel.id = channelID
        self.$user.id = userID
        self.text = text
        self.sentAt = sentAt
        self.broadcastStartedAt = broadcastStartedAt
    }
}
