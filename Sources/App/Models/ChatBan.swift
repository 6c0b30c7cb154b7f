import Fluent
import Foundation

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
