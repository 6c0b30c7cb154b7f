import Foundation

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
    /// The category's page, when the channel has one.
    var categoryURL: String?
    var language: String
    /// The stream's tags, each a link to its page.
    var tags: [TagLink]
    var startedAt: String?
    var startedText: String?
    /// "Today's stream: 8 pm UTC" — what the owner wrote for when they are offline.
    var nextStream: String?
    var viewers: Int
    var playlistURL: String
    /// The low-latency chunked stream and the LL-HLS playlist (our own player reads one of them).
    var streamURL: String
    var lowLatencyURL: String
    /// The operator's choice of player (`VIDEOTUBE_LIVE_PLAYER`); set by the handler.
    var player = "stream"
    var chat: ChatPanel
    var subscribe: SubscribeBox
    /// The channel's latest broadcast, once its replay plays: offline, the page links to it.
    var replayURL: String?
    var replayTitle: String?

    /// The live page of `channel` (with `viewers` watching now).
    init(_ channel: Channel, viewers: Int, links: MediaLinks, subscribe: SubscribeBox, latestReplay: Video?) {
        title = "\(channel.streamTitle ?? channel.name) · Live · Videotube"
        handle = channel.handle
        channelName = channel.name
        channelURL = SiteURL.channel(.value(channel.handle)).path
        logoURL = channel.logoURL(links, site: "")
        isLive = channel.liveStartedAt != nil
        // Offline, the page does not claim the channel "is live": the owner's stream title, else the channel's name.
        streamTitle = isLive ? channel.liveHeadline : (channel.streamTitle ?? channel.name)
        category = channel.category
        categoryURL = channel.category.isEmpty ? nil : CategoryChip(channel.category).url
        language = channel.language
        tags = LiveService.tags(channel.liveTags).map(TagLink.init)
        startedAt = channel.liveStartedAt.map(Formatting.iso8601)
        startedText = channel.liveStartedAt.map { "Started \(Formatting.age(of: $0))" }
        nextStream = channel.nextStreamText.flatMap { $0.isEmpty ? nil : $0 }
        self.viewers = viewers
        playlistURL = SiteURL.liveFile(.value(channel.handle), .value("index.m3u8")).path
        streamURL = SiteURL.liveStream(.value(channel.handle)).path
        lowLatencyURL = SiteURL.liveLowLatencyPlaylist(.value(channel.handle)).path
        chat = ChatPanel(channel)
        self.subscribe = subscribe
        replayURL = latestReplay?.id.map(SiteURL.watch)
        replayTitle = latestReplay?.title
    }
}
