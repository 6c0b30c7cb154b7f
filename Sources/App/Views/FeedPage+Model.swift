import Foundation

/// `/feed/subscriptions`: the channels followed and their newest videos.
struct FeedPage: Encodable {
    var title = "Subscriptions · Videotube"
    var channels: [ChannelChip]
    var videos: VideoGrid
}
