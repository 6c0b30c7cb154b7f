import Foundation
import Media

/// `/studio/channels/new` and `/studio/channels/{id}`: the channel's settings, pictures and live streaming.
struct ChannelSettingsPage: Encodable {
    struct Option: Encodable {
        var value: String
        var selected: Bool
    }
    struct Picture: Encodable {
        var kind: String
        var label: String
        var hint: String
        var url: String?
        var action: String
    }
    var title: String
    var isNew: Bool
    var action: String
    var id: Int?
    var handle: String
    var name: String
    var description: String
    var linksText: String
    var languages: [Option]
    var categories: [Option]
    var pictures: [Picture]
    var channelURL: String?
    var deleteURL: String?
    /// The chat's settings, moderators and moderation log.
    var chatURL: String?
    /// OBS settings for an existing channel: server, key, whether it is live now; the live forms' actions.
    var rtmpServer: String?
    var streamKey: String?
    var isLive = false
    var liveTitle = ""
    var liveTags = ""
    var nextStream = ""
    var saveReplays = true
    var liveAction: String?
    var streamKeyAction: String?
    var errors: [String] = []

    /// The form for a new channel (`channel` nil) or an existing one, with its pictures.
    init(_ channel: Channel?, links: MediaLinks) {
        let id = channel?.id
        title = channel.map { "\($0.name) settings · Videotube" } ?? "New channel · Videotube"
        isNew = channel == nil
        action = id.map { SiteURL.studioChannel(.value($0)).path } ?? SiteURL.studioChannels.path
        self.id = id
        handle = channel?.handle ?? ""
        name = channel?.name ?? ""
        description = channel?.description ?? ""
        linksText = channel?.linksText ?? ""
        languages = ChannelOptions.languages.map { .init(value: $0, selected: $0 == channel?.language) }
        categories = ChannelOptions.categories.map { .init(value: $0, selected: $0 == channel?.category) }
        pictures =
            channel.map { channel in
                ImageKind.channelPictures.map { kind in
                    let (w, h) = kind.size
                    return Picture(
                        kind: kind.rawValue, label: kind.label.capitalizedFirst, hint: "JPEG, PNG, WebP or GIF; cropped to \(w)×\(h).",
                        url: channel.imageKey(kind).map { links.url(key: $0) },
                        action: SiteURL.studioChannelImage(.value(channel.id ?? 0), .value(kind.rawValue)).path)
                }
            } ?? []
        channelURL = channel.map { SiteURL.channel(.value($0.handle)).path }
        deleteURL = id.map { SiteURL.studioChannelDelete(.value($0)).path }
        chatURL = id.map { SiteURL.studioChannelChat(.value($0)).path }
    }

    /// Adds the live-streaming section: where OBS sends the stream, with which key, and the broadcast's settings.
    mutating func addLive(_ channel: Channel, server: String, key: String, isLive: Bool) {
        guard let id = channel.id else { return }
        rtmpServer = server
        streamKey = key
        self.isLive = isLive
        liveTitle = channel.liveTitle ?? ""
        liveTags = channel.liveTags ?? ""
        nextStream = channel.nextStreamText ?? ""
        saveReplays = channel.saveReplays != false
        liveAction = SiteURL.studioChannelLive(.value(id)).path
        streamKeyAction = SiteURL.studioChannelStreamKey(.value(id)).path
    }
}
