import Foundation

/// `/@handle`: the channel header (logo, name, @handle, subscribers) and a tab: its uploads, its live stream and
/// replays, or about (bio, links, joined, total views).
struct ChannelPage: Encodable {
    enum Tab: String, Encodable, CaseIterable {
        case videos, live, about
    }

    struct TabLink: Encodable {
        var name: String
        var url: String
        var current: Bool
    }

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
    var tab: Tab
    var tabs: [TabLink]
    var videos: VideoGrid
    var nextPageURL: String?
    /// The about tab's sum of its listed videos' views; set by the handler.
    var totalViewsText = ""
    var channelID: Int
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

    /// `videos`: the tab's page of listed videos (none on the about tab) and `grid` their boxes; `videoCount` all
    /// its listed videos.
    init(
        _ channel: Channel, tab: Tab, videos: Paged<VideoRecord>?, grid: VideoGrid, videoCount: Int, links: MediaLinks, subscribe: SubscribeBox
    ) throws {
        title = "\(channel.name) · Videotube"
        name = channel.name
        handle = channel.handle
        isDemo = channel.isDemo == true
        logoURL = channel.logoURL(links, site: "")
        about = channel.description
        joinedText = "Joined \(Formatting.day(channel.createdAt))"
        subscribersText = Formatting.counted(channel.subscribersCount, "subscriber")
        videoCountText = Formatting.counted(videoCount, "video")
        self.tab = tab
        let base = SiteURL.channel(.value(channel.handle)).path
        tabs = Tab.allCases.map { t in
            TabLink(name: t.rawValue.capitalizedFirst, url: t == .videos ? base : base + "?tab=" + t.rawValue, current: t == tab)
        }
        self.videos = grid
        if let videos, let next = PageWindow(page: videos.page, perPage: videos.perPage).next(total: videos.total) {
            nextPageURL = base + "?tab=\(tab.rawValue)&page=\(next)"
        }
        channelID = try channel.requireID()
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
