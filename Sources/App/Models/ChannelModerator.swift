import Fluent
import Foundation

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
