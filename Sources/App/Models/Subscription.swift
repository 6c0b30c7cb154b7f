import Fluent
import Foundation
import Vapor

/// A user following a channel; the pair is unique, so a double click or a race makes one row.
public final class Subscription: Model, @unchecked Sendable {
    public static let schema = "subscriptions"

    // managed
    @ID(custom: "id", generatedBy: .database) public var id: Int?
    @Field(key: "created_at") public var createdAt: Date

    // references
    @Parent(key: "user_id") public var user: User
    @Parent(key: "channel_id") public var channel: Channel

    public init() {}

    public init(userID: Int, channelID: Int, at: Date = Date()) {
        self.$user.id = userID
        self.$channel.id = channelID
        self.createdAt = at
    }
}
