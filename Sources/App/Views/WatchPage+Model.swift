import Foundation

/// `/watch?v=ID`: the player, the video's facts, its channel box, and more videos beside it.
struct WatchPage: Encodable {
    var title: String
    var videoID: Int
    var videoTitle: String
    var streamURL: String
    var posterURL: String?
    var mimeType: String
    var downloadURL: String
    var viewsText: String
    var dateText: String
    var ageText: String
    var description: String
    var channelName: String
    var channelURL: String
    var channelLogoURL: String
    var subscribersText: String
    var resolutionText: String
    var upNext: [VideoCard]
    var subscribe: SubscribeBox
    var editURL: String?
    var visibility: String
    /// The HLS master playlist, once the first rendition is published; the player prefers it.
    var hlsURL: String?
    /// Quality choices, highest first (`720p`, `480p` …), each a rendition playlist.
    var qualities: [Quality]
    var storyboardURL: String?
    /// For the replay of a live broadcast: its chat plays beside the video, in step with it.
    var replayChat = false

    struct Quality: Encodable {
        var name: String
        var url: String
    }

    /// `video` with its channel loaded, as `viewer` sees it.
    init(_ video: Video, viewer: User?, links: MediaLinks, upNext: [VideoCard], subscribe: SubscribeBox) {
        let id = video.id ?? 0
        let channel = video.channel
        title = "\(video.title) · Videotube"
        videoID = id
        videoTitle = video.title
        streamURL = links.url(key: video.mediaKey, of: video, for: viewer) ?? ""
        posterURL = links.url(key: video.thumbnailKey, of: video, for: viewer)
        mimeType = video.mimeType
        downloadURL = "/videos/\(id)/download"
        viewsText = Formatting.counted(video.views, "view")
        dateText = Formatting.day(video.createdAt)
        ageText = Formatting.age(of: video.createdAt)
        description = video.description
        channelName = channel.name
        channelURL = SiteURL.channel(.value(channel.handle)).path
        channelLogoURL = channel.logoURL(links, site: "")
        subscribersText = Formatting.counted(channel.subscribersCount, "subscriber")
        resolutionText = "\(video.width)×\(video.height)"
        self.upNext = upNext
        self.subscribe = subscribe
        editURL = Policy.canEdit(channel, by: viewer) ? SiteURL.studioVideo(.value(id)).path : nil
        visibility = video.visibility == .public ? "" : video.visibility.rawValue.capitalizedFirst
        hlsURL = video.renditions.isEmpty ? nil : "/videos/\(id)/hls/master.m3u8"
        qualities = video.renditions.reversed().map { Quality(name: $0, url: "/videos/\(id)/hls/\($0).m3u8") }
        storyboardURL = video.hasStoryboard == true ? "/videos/\(id)/hls/storyboard.vtt" : nil
    }
}
