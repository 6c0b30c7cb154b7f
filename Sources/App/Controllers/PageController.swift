import Fluent
import Vapor

/// The site's server-rendered pages.
struct PageController {
    /// GET /
    func home(req: Request) async throws -> Response {
        let (page, perPage, sort) = try APIController.listParameters(req)
        return try await req.shared("home|\(sort.rawValue)|\(page)|\(perPage)") { try await home(req, page: page, perPage: perPage, sort: sort) }
    }

    private func home(_ req: Request, page: Int, perPage: Int, sort: VideoSort) async throws -> Response {
        let result = try await req.catalog.listedVideos(sort: sort, page: page, perPage: perPage)
        let links = req.mediaLinks
        let more = page * perPage < result.total ? page + 1 : nil
        let viewers = req.services.viewers
        // Who is live and which categories have channels are the same for every reader (going live or changing
        // category is a catalog change); viewer counts come from memory on each request.
        let shared = req.services.sharedReads
        let live = try await shared.value("home.live", on: req.db) { try await req.live.liveChannels() }
            .map { ($0, viewers.count($0.id ?? 0)) }.sorted { $0.1 > $1.1 }
            .map { channel, count in LiveCard(channel, viewers: count, links: links) }
        let counts = try await shared.value("home.categories", on: req.db) { try await req.catalog.channelCountsByCategory() }
        var model = HomePage(sort: sort.rawValue, videos: try await req.videoGrid(result.items), nextPage: more, live: live)
        model.categories = ChannelOptions.categories.filter { counts[$0] != nil }.map(CategoryChip.init)
        return try await req.render("home", model).encodeResponse(for: req)
    }

    /// GET /channels
    func channels(req: Request) async throws -> Response {
        try await req.shared("channels") {
            let links = req.mediaLinks
            let counts = try await req.catalog.videoCounts(listedOnly: true)
            let cards = try await req.catalog.channels().map { ChannelCard($0, videoCount: counts[$0.id ?? 0] ?? 0, links: links) }
            return try await req.render("channels", ChannelsPage(channels: cards)).encodeResponse(for: req)
        }
    }

    /// GET /@handle?tab=videos|live|about&page= — the channel's uploads, its live stream and replays, or its about
    /// page.
    func channel(req: Request) async throws -> Response {
        let raw = req.parameters.get("handle") ?? ""
        let tab = ChannelPage.Tab(rawValue: req.query[String.self, at: "tab"] ?? "") ?? .videos
        let page = min(max(req.query[Int.self, at: "page"] ?? 1, 1), PageWindow.maxPage)
        return try await req.shared("channel|\(tab.rawValue)|\(page)|" + raw) { try await channel(req, raw: raw, tab: tab, page: page) }
    }

    private func channel(_ req: Request, raw: String, tab: ChannelPage.Tab, page: Int) async throws -> Response {
        guard raw.hasPrefix("@"), let channel = try await req.catalog.channel(handle: String(raw.dropFirst())) else {
            throw Abort(.notFound)
        }
        let id = try channel.requireID()
        let all = try await req.catalog.listedVideos(channelID: id, page: 1, perPage: 1)
        let shown: Paged<VideoRecord>? =
            switch tab {
            case .videos: try await req.catalog.listedVideos(channelIDs: [id], replays: false, page: page, perPage: 30)
            case .live: try await req.catalog.listedVideos(channelIDs: [id], replays: true, page: page, perPage: 30)
            case .about: nil
            }
        let subscribe = try await req.subscribeBox(channel, back: SiteURL.channel(.value(channel.handle)).path)
        var model = try ChannelPage(
            channel, tab: tab, videos: shown, grid: try await req.videoGrid(shown?.items ?? []), videoCount: all.total, links: req.mediaLinks, subscribe: subscribe)
        if tab == .about { model.totalViewsText = Formatting.counted(try await req.catalog.viewsByChannel(id)[id] ?? 0, "view") }
        return try await req.render("channel", model).encodeResponse(for: req)
    }

    /// GET /watch?v=ID
    func watch(req: Request) async throws -> Response {
        let raw = req.query[String.self, at: "v"] ?? ""
        guard let id = Int(raw), id > 0 else { throw Self.unavailable }
        return try await req.shared("watch|\(id)") { try await watch(req, id: id) }
    }

    static let unavailable = Abort(
        .notFound, reason: "This video isn't available: it may have been removed, made private, or the link is wrong.")

    private func watch(_ req: Request, id: Int) async throws -> Response {
        // The row is the same for every reader, so it is read through `SharedReads` like the listings (never
        // changed here: pages only read it); whether this reader may watch it is decided per request. A missing
        // video is an error, which is not stored: made-up ids take no room.
        let shared = req.services.sharedReads
        let video = try await shared.value("watch.video|\(id)", on: req.db) {
            guard let found = try await req.catalog.video(id: id) else { throw Self.unavailable }
            return found
        }
        guard Policy.canWatch(video, by: req.user) else { throw Self.unavailable }
        let links = req.mediaLinks
        let channel = video.channel
        // Up next: the same channel's newest, then videos sharing its tags, then the most watched of the rest.
        let sameChannel = try await req.catalog.listedVideos(channelID: channel.id, page: 1, perPage: 7).items.filter { $0.id != id }.prefix(6)
        let sameTags = try await req.catalog.listedVideos(sharingTags: video.tags, with: id, limit: 12)
        let popular = try await req.catalog.listedVideos(sort: .views, page: 1, perPage: 20).items
        var seen = Set([id])
        let others = (Array(sameChannel) + sameTags + popular).filter { seen.insert($0.id).inserted }.prefix(12)
        var page = WatchPage(
            video, viewer: req.user, links: links, upNext: try await req.videoGrid(others),
            subscribe: try await req.subscribeBox(channel, back: SiteURL.watch(id)))
        page.replayChat = try await shared.value("watch.replayChat|\(id)", on: req.db) { try await ChatReplay.find(id, on: req.db) != nil }
        page.crossOrigin = req.services.storage.isRemote
        page.rating = try await req.ratingBox(videoID: id)
        return try await req.render("watch", page).encodeResponse(for: req)
    }
}
