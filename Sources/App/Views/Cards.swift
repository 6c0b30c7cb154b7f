import Foundation

/// A video box as the reference draws it: thumbnail, channel logo, title, "1.2K views • 3 days ago".
struct VideoCard: Encodable {
    var id: Int
    var title: String
    var watchURL: String
    var thumbnailURL: String?
    var durationText: String
    var channelName: String
    var channelURL: String
    var channelLogoURL: String
    var viewsText: String
    var ageText: String
    /// WebVTT index of the hover storyboard, when the video has one.
    var storyboardURL: String?

    init(_ video: VideoRecord, links: MediaLinks, now: Date = Date()) {
        let id = video.id
        self.id = id
        title = video.title
        watchURL = SiteURL.watch(id)
        thumbnailURL = links.url(key: video.thumbnailKey, of: video, for: nil)
        durationText = Formatting.duration(video.duration)
        channelName = video.channel.name
        channelURL = SiteURL.channel(.value(video.channel.handle)).path
        channelLogoURL = links.logoURL(video.channel.logoKey, site: "")
        viewsText = Formatting.counted(video.views, "view")
        ageText = Formatting.age(of: video.createdAt, now: now)
        storyboardURL = video.hasStoryboard ? "/videos/\(id)/hls/storyboard.vtt" : nil
    }
}

/// A channel box: logo, name, @handle, subscribers, the start of the about text.
struct ChannelCard: Encodable {
    var name: String
    var handle: String
    var url: String
    var logoURL: String
    var subscribersText: String
    var videosText: String
    var about: String

    init(_ channel: Channel, videoCount: Int, links: MediaLinks) {
        name = channel.name
        handle = channel.handle
        url = SiteURL.channel(.value(channel.handle)).path
        logoURL = channel.logoURL(links, site: "")
        subscribersText = Formatting.counted(channel.subscribersCount, "subscriber")
        videosText = Formatting.counted(videoCount, "video")
        about = channel.description.count > 140 ? String(channel.description.prefix(140)) + "…" : channel.description
    }
}

struct ChannelChip: Encodable {
    var name: String
    var url: String
    var logoURL: String
}

/// A live channel in the home page's "Live now" row.
struct LiveCard: Encodable {
    var url: String
    var title: String
    var channelName: String
    var logoURL: String
    var viewersText: String
    var category: String
    var previewURL: String

    init(_ channel: Channel, viewers: Int, links: MediaLinks) {
        url = SiteURL.live(.value(channel.handle)).path
        title = channel.liveHeadline
        channelName = channel.name
        logoURL = channel.logoURL(links, site: "")
        viewersText = Formatting.counted(viewers, "viewer")
        category = channel.category
        previewURL = SiteURL.liveFile(.value(channel.handle), .value("preview.jpg")).path
    }
}
