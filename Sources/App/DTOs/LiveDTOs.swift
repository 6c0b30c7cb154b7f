import Fluent
import Media
import Vapor

/// A live channel in listings.
struct LiveChannelDTO: Content {
    var channel: ChannelDTO
    var title: String
    var category: String
    var language: String
    var tags: [String]
    var started_at: Date
    var viewers: Int
    var live_url: String
    var hls_url: String
    /// A frame of the stream, refreshed about every 10 seconds.
    var preview_url: String

    init(_ channel: Channel, viewers: Int, links: MediaLinks, site: String) throws {
        self.channel = try channel.toDTO(links: links, site: site)
        title = channel.liveHeadline
        category = channel.category
        language = channel.language
        tags = LiveService.tags(channel.liveTags)
        started_at = channel.liveStartedAt ?? Date()
        self.viewers = viewers
        live_url = "\(site)/live/\(channel.handle)"
        hls_url = "\(site)/live/\(channel.handle)/index.m3u8"
        preview_url = "\(site)/live/\(channel.handle)/preview.jpg"
    }
}

/// A channel's stream key and where OBS sends it.
struct StreamKeyDTO: Content {
    var channel_id: Int
    var stream_key: String
    /// OBS "Server" (Settings → Stream → Custom).
    var server: String
    /// The whole publish URL, for ffmpeg and GStreamer.
    var url: String
    var live: Bool

    init(channel: Channel, key: String, req: Request) {
        channel_id = channel.id ?? 0
        stream_key = key
        server = req.rtmpServerURL
        url = "\(server)/\(key)"
        live = req.services.live.isLive(channelID: channel.id ?? 0)
    }
}
