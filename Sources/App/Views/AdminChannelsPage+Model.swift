import Foundation

/// `/admin/channels`: every channel with its owner, subscribers and videos.
struct AdminChannelsPage: Encodable {
    struct Row: Encodable {
        var id: Int
        var name: String
        var handle: String
        var url: String
        var owner: String
        var subscribersText: String
        var videosText: String
        var editURL: String
        var deleteURL: String
    }
    var title = "Channels · Admin · Videotube"
    var channels: [Row]

    /// `channels` with their owners loaded; `videoCounts` by channel id.
    init(channels: [Channel], videoCounts: [Int: Int]) throws {
        self.channels = try channels.map { channel in
            let id = try channel.requireID()
            return Row(
                id: id, name: channel.name, handle: channel.handle, url: SiteURL.channel(.value(channel.handle)).path,
                owner: channel.loadedOwner?.username ?? "—", subscribersText: Formatting.counted(channel.subscribersCount, "subscriber"),
                videosText: Formatting.counted(videoCounts[id] ?? 0, "video"), editURL: SiteURL.studioChannel(.value(id)).path,
                deleteURL: SiteURL.studioChannelDelete(.value(id)).path)
        }
    }
}
