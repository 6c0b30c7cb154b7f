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
    /// The description as text and links (http and https addresses become links; nothing else is markup).
    var descriptionParts: [TextPart]
    var channelName: String
    /// A demo channel's video (its counts are made up).
    var isDemo: Bool
    var channelURL: String
    var channelLogoURL: String
    var subscribersText: String
    var resolutionText: String
    var upNext: VideoGrid
    var subscribe: SubscribeBox
    var editURL: String?
    var visibility: String
    /// The HLS master playlist, once the first rendition is published; the player prefers it.
    var hlsURL: String?
    /// Media comes from an object store by redirect: the player fetches in CORS mode, which native HLS needs to
    /// take a playlist from this site and segments from the bucket.
    var crossOrigin = false
    /// Quality choices, highest first (`720p`, `480p` …), each a rendition playlist.
    var qualities: [Quality]
    var storyboardURL: String?
    /// For the replay of a live broadcast: its chat plays beside the video, in step with it.
    var replayChat = false
    /// Likes and dislikes, set by the handler.
    var rating: RatingBox?
    /// Its tags, each a link to its page.
    var tags: [TagLink]
    /// Where the comments come from (the page's script reads and posts them).
    var commentsAPI: String

    struct Quality: Encodable {
        var name: String
        var url: String
    }

    /// `video` with its channel loaded, as `viewer` sees it.
    init(_ video: Video, viewer: User?, links: MediaLinks, upNext: VideoGrid, subscribe: SubscribeBox) {
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
        descriptionParts = TextPart.linkified(video.description)
        channelName = channel.name
        isDemo = channel.isDemo == true
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
        tags = video.tags.map(TagLink.init)
        commentsAPI = "/api/v1/videos/\(id)/comments"
    }
}

/// A tag as a link to `/tags/{tag}`.
struct TagLink: Encodable {
    var name: String
    var url: String

    init(_ tag: String) {
        name = tag
        url = SiteURL.tag(.value(tag)).path
    }
}

/// A run of user text, or a web address in it that pages show as a link (`rel="nofollow ugc noopener"`).
struct TextPart: Encodable, Equatable {
    var text: String
    var url: String?

    /// Splits `text` at `http://` and `https://` addresses; trailing punctuation stays text ("see https://x.org.").
    static func linkified(_ text: String) -> [TextPart] {
        var parts: [TextPart] = []
        var plain = ""
        var rest = Substring(text)
        while let start = rest.range(of: "http", options: .caseInsensitive) {
            let candidate = rest[start.lowerBound...]
            let end = candidate.firstIndex(where: { $0.isWhitespace || $0 == "<" || $0 == ">" || $0 == "\"" }) ?? candidate.endIndex
            var address = candidate[..<end]
            while let last = address.last, ".,;:!?)]'".contains(last) { address = address.dropLast() }
            let lower = address.lowercased()
            if (lower.hasPrefix("http://") || lower.hasPrefix("https://")), let url = URLComponents(string: String(address)),
                url.host?.isEmpty == false
            {
                plain += rest[..<start.lowerBound]
                if !plain.isEmpty { parts.append(TextPart(text: plain)) }
                plain = ""
                parts.append(TextPart(text: String(address), url: String(address)))
                rest = rest[address.endIndex...]
            } else {
                plain += rest[..<start.upperBound]
                rest = rest[start.upperBound...]
            }
        }
        plain += rest
        if !plain.isEmpty { parts.append(TextPart(text: plain)) }
        return parts
    }
}
