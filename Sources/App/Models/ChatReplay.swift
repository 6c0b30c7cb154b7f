import Fluent
import Foundation

/// Which broadcast a replay video recorded, so its watch page can play that broadcast's chat in step.
public final class ChatReplay: Model, @unchecked Sendable {
    public static let schema = "chat_replays"

    // managed
    @ID(custom: "video_id", generatedBy: .user) public var id: Int?

    // references
    @Parent(key: "channel_id") public var channel: Channel

    // data
    @Field(key: "broadcast_started_at") public var broadcastStartedAt: Date

    public init() {}

    public init(videoID: Int, channelID: Int, broadcastStartedAt: Date) {
        self.id = videoID
        self.$channel.id = channelID
        self.broadcastStartedAt = broadcastStartedAt
    }
}
