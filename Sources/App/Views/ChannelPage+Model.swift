import Foundation

/// `/@handle`: the channel header (logo, name, @handle, about, joined, subscribers) and its videos.
struct ChannelPage: Encodable {
    var title: String
    var name: String
    var handle: String
    /// A demo channel (its counts are made up).
    var isDemo: Bool
    var logoURL: String
    var about: String
    var joinedText: String
    var subscribersText: String
    var videoCountText: String
    var videos: [VideoCard]
    var bannerURL: String?
    var language: String
    var category: String
    /// The category's page, when the channel has one.
    var categoryURL: String?
    var links: [String]
    var subscribe: SubscribeBox
    /// While the channel is live: its stream, shown above the videos.
    var live: LiveBanner?
    /// The live chat, beside the stream while the channel is live.
    var chat: ChatPanel?
    /// For its owner: the upload page with this channel chosen.
    var uploadURL: String

    /// `videos`: the channel's listed videos (one page of them and how many in all).
    init(_ channel: Channel, videos: Paged<VideoRecord>, links: MediaLinks, subscribe: SubscribeBox) throws {
        title = "\(channel.name) · Videotube"
        name = channel.name
        handle = channel.handle
        isDemo = channel.isDemo == true
        logoURL = channel.logoURL(links, site: "")
        about = channel.description
        joinedText = "Joined \(Formatting.day(channel.createdAt))"
        subscribersText = Formatting.counted(channel.subscribersCount, "subscriber")
        videoCountText = Formatting.counted(videos.total, "video")
        self.videos = videos.items.map { VideoCard($0, links: links) }
        bannerURL = channel.bannerKey.map { links.url(key: $0) }
        language = channel.language
        category = channel.category
        categoryURL = channel.category.isEmpty ? nil : CategoryChip(channel.category).url
        self.links = channel.links
        self.subscribe = subscribe
        live =
            channel.liveStartedAt == nil
            ? nil
            : LiveBanner(
                url: SiteURL.live(.value(channel.handle)).path,
                playlistURL: SiteURL.liveFile(.value(channel.handle), .value("index.m3u8")).path, title: channel.liveHeadline)
        chat = live == nil ? nil : ChatPanel(channel)
        uploadURL = SiteURL.studioUpload.path + "?channel=" + channel.handle
    }
}
