/// `/live/{handle}`: the live player, or the channel's offline state.
struct LivePage: Encodable {
    var title: String
    var handle: String
    var channelName: String
    var channelURL: String
    var logoURL: String
    var isLive: Bool
    var streamTitle: String
    var category: String
    var language: String
    var tags: [String]
    var startedAt: String?
    var startedText: String?
    /// "Today's stream: 8 pm UTC" — what the owner wrote for when they are offline.
    var nextStream: String?
    var viewers: Int
    var playlistURL: String
}
