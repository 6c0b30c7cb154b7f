import Foundation

/// `/studio`: my channels and my videos.
struct StudioPage: Encodable {
    struct ChannelRow: Encodable {
        var id: Int
        var name: String
        var handle: String
        var url: String
        var logoURL: String
        var subscribersText: String
        var settingsURL: String
        var chatURL: String
        /// While the channel is live: its live page, shown with a LIVE badge.
        var liveURL: String?
    }
    struct VideoRow: Encodable {
        var id: Int
        var title: String
        var channelHandle: String
        var thumbnailURL: String?
        var visibility: String
        var status: String
        var problem: String?
        var viewsText: String
        var dateText: String
        var editURL: String
        var watchURL: String
    }
    var title = "Studio · Videotube"
    var channels: [ChannelRow]
    var videos: [VideoRow]

    /// `videos` with their channels loaded; `viewer` is the studio's owner (or an admin).
    init(channels: [Channel], videos: [Video], viewer: User, links: MediaLinks) throws {
        self.channels = try channels.map {
            let id = try $0.requireID()
            return ChannelRow(
                id: id, name: $0.name, handle: $0.handle, url: SiteURL.channel(.value($0.handle)).path,
                logoURL: $0.logoURL(links, site: ""),
                subscribersText: Formatting.counted($0.subscribersCount, "subscriber"), settingsURL: SiteURL.studioChannel(.value(id)).path,
                chatURL: SiteURL.studioChannelChat(.value(id)).path,
                liveURL: $0.liveStartedAt == nil ? nil : SiteURL.live(.value($0.handle)).path)
        }
        self.videos = try videos.map {
            let id = try $0.requireID()
            return VideoRow(
                id: id, title: $0.title, channelHandle: $0.channel.handle,
                thumbnailURL: links.url(key: $0.thumbnailKey, of: $0, for: viewer),
                visibility: $0.visibility.rawValue, status: $0.takedownReason == nil ? $0.status.rawValue : "taken down",
                problem: $0.takedownReason ?? $0.failureReason, viewsText: Formatting.counted($0.views, "view"),
                dateText: Formatting.day($0.createdAt), editURL: SiteURL.studioVideo(.value(id)).path, watchURL: SiteURL.watch(id))
        }
    }
}
