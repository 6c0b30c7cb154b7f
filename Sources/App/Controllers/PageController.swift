import Fluent
import Vapor

/// The site's server-rendered pages.
struct PageController {
    /// GET /
    func home(req: Request) async throws -> View {
        let (page, perPage, sort) = try APIController.listParameters(req)
        let result = try await req.catalog.listedVideos(sort: sort, page: page, perPage: perPage)
        let links = req.mediaLinks
        let more = page * perPage < result.total ? page + 1 : nil
        let viewers = req.services.viewers
        let live = try await req.live.liveChannels()
            .map { ($0, viewers.count($0.id ?? 0)) }.sorted { $0.1 > $1.1 }
            .map { channel, count in
                LiveCard(
                    url: "/live/\(channel.handle)", title: channel.liveTitle.flatMap { $0.isEmpty ? nil : $0 } ?? "\(channel.name) is live",
                    channelName: channel.name, logoURL: channel.logoURL(links, site: ""),
                    viewersText: Formatting.counted(count, "viewer"), category: channel.category,
                    previewURL: "/live/\(channel.handle)/preview.jpg")
            }
        return try await req.render(
            "home",
            HomePage(sort: sort.rawValue, videos: try result.items.map { try VideoCard($0, links: links) }, nextPage: more, live: live))
    }

    /// GET /channels
    func channels(req: Request) async throws -> View {
        let links = req.mediaLinks
        var cards: [ChannelCard] = []
        for channel in try await req.catalog.channels() {
            let count = try await req.catalog.listedVideoCount(channelID: try channel.requireID())
            cards.append(ChannelCard(channel, videoCount: count, links: links))
        }
        return try await req.render("channels", ChannelsPage(channels: cards))
    }

    /// GET /@handle
    func channel(req: Request) async throws -> View {
        let raw = req.parameters.get("handle") ?? ""
        guard raw.hasPrefix("@"), let channel = try await req.catalog.channel(handle: String(raw.dropFirst())) else {
            throw Abort(.notFound)
        }
        let links = req.mediaLinks
        let videos = try await req.catalog.listedVideos(channelID: try channel.requireID(), page: 1, perPage: 100)
        let page = ChannelPage(
            title: "\(channel.name) · Videotube", name: channel.name, handle: channel.handle,
            logoURL: channel.logoURL(links, site: ""), about: channel.description,
            joinedText: "Joined \(Formatting.day(channel.createdAt))",
            subscribersText: Formatting.counted(channel.subscribersCount, "subscriber"),
            videoCountText: Formatting.counted(videos.total, "video"),
            videos: try videos.items.map { try VideoCard($0, links: links) },
            bannerURL: channel.bannerKey.map { links.url(key: $0) }, language: channel.language, category: channel.category,
            links: channel.links, subscribe: try await subscribeBox(channel, req: req, back: "/@\(channel.handle)"),
            live: channel.liveStartedAt == nil
                ? nil
                : LiveBanner(
                    url: "/live/\(channel.handle)", playlistURL: "/live/\(channel.handle)/index.m3u8",
                    title: channel.liveTitle.flatMap { $0.isEmpty ? nil : $0 } ?? "\(channel.name) is live"))
        return try await req.render("channel", page)
    }

    /// GET /watch?v=ID
    func watch(req: Request) async throws -> View {
        let raw = req.query[String.self, at: "v"] ?? ""
        guard let id = Int(raw), id > 0, let video = try await req.catalog.watchableVideo(id: id, viewer: req.user) else {
            throw Abort(.notFound, reason: "This video isn't available: it may have been removed, made private, or the link is wrong.")
        }
        let links = req.mediaLinks
        let channel = video.channel
        let others = try await req.catalog.listedVideos(page: 1, perPage: 13).items.filter { $0.id != id }.prefix(12)
        let page = WatchPage(
            title: "\(video.title) · Videotube", videoID: id, videoTitle: video.title,
            streamURL: links.url(key: video.mediaKey, of: video, for: req.user) ?? "", posterURL: links.url(key: video.thumbnailKey, of: video, for: req.user),
            mimeType: video.mimeType, downloadURL: "/videos/\(id)/download",
            viewsText: Formatting.counted(video.views, "view"),
            dateText: Formatting.day(video.createdAt), ageText: Formatting.age(of: video.createdAt),
            description: video.description, channelName: channel.name, channelURL: "/@\(channel.handle)",
            channelLogoURL: channel.logoURL(links, site: ""),
            subscribersText: Formatting.counted(channel.subscribersCount, "subscriber"),
            resolutionText: "\(video.width)×\(video.height)", upNext: try others.map { try VideoCard($0, links: links) },
            subscribe: try await subscribeBox(channel, req: req, back: "/watch?v=\(id)"),
            editURL: Policy.canEdit(channel, by: req.user) ? "/studio/videos/\(id)" : nil,
            visibility: video.visibility == .public ? "" : video.visibility.rawValue.capitalizedFirst,
            hlsURL: video.renditions.isEmpty ? nil : "/videos/\(id)/hls/master.m3u8",
            qualities: video.renditions.reversed().map { .init(name: $0, url: "/videos/\(id)/hls/\($0).m3u8") },
            storyboardURL: video.hasStoryboard == true ? "/videos/\(id)/hls/storyboard.vtt" : nil)
        return try await req.render("watch", page)
    }

    private func subscribeBox(_ channel: Channel, req: Request, back: String) async throws -> SubscribeBox {
        let id = try channel.requireID()
        var subscribed = false
        if let user = req.user { subscribed = try await req.subscriptions.isSubscribed(userID: user.requireID(), channelID: id) }
        return SubscribeBox(
            channelID: id, signedIn: req.user != nil, subscribed: subscribed, canEdit: Policy.canEdit(channel, by: req.user),
            settingsURL: "/studio/channels/\(id)",
            loginURL: AuthController.loginURL(next: back))
    }
}
