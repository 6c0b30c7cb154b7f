import Foundation
import Vapor

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

/// A grid of video boxes, as HTML made by `Request.videoGrid`; templates test `videos.count` and insert
/// `#unsafeHTML(videos.html)`.
struct VideoGrid: Encodable {
    var count: Int
    /// `videobox.leaf` rendered for each video, so every piece of text in it was escaped there.
    var html: String

    static let empty = VideoGrid(count: 0, html: "")
}

extension Request {
    /// The boxes of `videos`. A box is the same on every page and for every reader (its links are made for no
    /// viewer), so each is rendered once and kept in `SharedReads` (key: video and media origin) while the
    /// catalog is unchanged and at most `SharedReads.lifetime`: a signed-in page, rendered for its reader, does
    /// not render two dozen boxes again each time.
    func videoGrid(_ videos: some Collection<VideoRecord>) async throws -> VideoGrid {
        guard !videos.isEmpty else { return .empty }
        let records = Array(videos)
        let links = mediaLinks
        let keys = records.map { "\($0.id)|" + links.base }
        let pieces = try await services.sharedReads.fragments(keys, on: db) { missing in
            let now = Date()
            var made: [String] = []
            made.reserveCapacity(missing.count)
            for i in missing {
                let box: View = try await self.view.render("videobox", ["video": VideoCard(records[i], links: links, now: now)])
                made.append(String(buffer: box.data))
            }
            return made
        }
        return VideoGrid(count: records.count, html: pieces.joined(separator: "\n"))
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
