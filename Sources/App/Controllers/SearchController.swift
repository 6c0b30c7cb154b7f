import Fluent
import Vapor

/// Search: the results page, the API and the search box's suggestions (`SearchService` does the finding).
struct SearchController {
    /// The query text: at most this many characters are read.
    static let maxQuery = 200

    private static func query(_ req: Request) -> String {
        String((req.query[String.self, at: "q"] ?? "").trimmingCharacters(in: .whitespacesAndNewlines).prefix(maxQuery))
    }

    private static func kind(_ req: Request) throws -> SearchService.Kind? {
        guard let raw = req.query[String.self, at: "type"], !raw.isEmpty, raw != "all" else { return nil }
        guard let kind = SearchService.Kind(rawValue: raw) else {
            throw Abort(.badRequest, reason: "type must be video, channel or live (or left out for all), got '\(raw.prefix(40))'")
        }
        return kind
    }

    /// GET /api/v1/search?q=&type=video|channel|live&page=&per_page= — one kind, paged; without `type` the first page
    /// of each.
    func api(req: Request) async throws -> Response {
        let q = Self.query(req)
        let (page, perPage, _) = try APIController.listParameters(req)
        let links = req.mediaLinks, site = req.siteBase, search = req.search
        let viewers = req.services.viewers
        func videos(_ page: Int, _ perPage: Int) async throws -> PageDTO<VideoDTO> {
            let found = try await search.videos(q, page: page, perPage: perPage)
            return PageDTO(
                data: try await req.withRatings(found.items.map { VideoDTO($0, links: links, site: site) }), page: page, per_page: perPage,
                total: found.total)
        }
        func channels(_ page: Int, _ perPage: Int) async throws -> PageDTO<ChannelDTO> {
            let found = try await search.channels(q, page: page, perPage: perPage)
            return PageDTO(data: try found.items.map { try $0.toDTO(links: links, site: site) }, page: page, per_page: perPage, total: found.total)
        }
        func live(_ page: Int, _ perPage: Int) async throws -> PageDTO<LiveChannelDTO> {
            let found = try await search.channels(q, live: true, page: page, perPage: perPage)
            let data = try found.items.map { try LiveChannelDTO($0, viewers: viewers.count($0.requireID()), links: links, site: site) }
            return PageDTO(data: data, page: page, per_page: perPage, total: found.total)
        }
        switch try Self.kind(req) {
        case .video: return try await videos(page, perPage).encodeResponse(for: req)
        case .channel: return try await channels(page, perPage).encodeResponse(for: req)
        case .live: return try await live(page, perPage).encodeResponse(for: req)
        case nil:
            let all = SearchDTO(query: q, videos: try await videos(1, 20), channels: try await channels(1, 6), live: try await live(1, 6))
            return try await all.encodeResponse(for: req)
        }
    }

    /// GET /api/v1/search/suggest?q= — up to 3 channels (live ones lead to their stream) and 5 videos.
    func suggest(req: Request) async throws -> SuggestionsDTO {
        let q = Self.query(req)
        let channels = try await req.search.channels(q, perPage: 3).items
        let videos = try await req.search.videos(q, perPage: 5).items
        let suggestions =
            channels.map { channel in
                channel.liveStartedAt != nil
                    ? SuggestionsDTO.Suggestion(type: "live", text: channel.name, url: SiteURL.live(.value(channel.handle)).path)
                    : SuggestionsDTO.Suggestion(type: "channel", text: channel.name, url: SiteURL.channel(.value(channel.handle)).path)
            } + videos.map { SuggestionsDTO.Suggestion(type: "video", text: $0.title, url: SiteURL.watch($0.id)) }
        return SuggestionsDTO(query: q, suggestions: suggestions)
    }

    /// GET /search?q=&type=all|video|channel|live&page= — results with a tab per kind.
    func page(req: Request) async throws -> View {
        let q = Self.query(req)
        let kind = try Self.kind(req)
        let page = min(max(req.query[Int.self, at: "page"] ?? 1, 1), PageWindow.maxPage)
        let links = req.mediaLinks, viewers = req.services.viewers
        var model = SearchPage(query: q, kind: kind)
        guard !SearchService.words(q).isEmpty else { return try await req.render("search", model) }
        if kind == nil || kind == .live {
            let found = try await req.search.channels(q, live: true, page: kind == nil ? 1 : page, perPage: kind == nil ? 4 : 24)
            model.live = try found.items.map { LiveCard($0, viewers: viewers.count(try $0.requireID()), links: links) }
            model.liveTotal = found.total
            if kind == .live { model.setNext(page: page, perPage: 24, total: found.total) }
        }
        if kind == nil || kind == .channel {
            let found = try await req.search.channels(q, page: kind == nil ? 1 : page, perPage: kind == nil ? 4 : 24)
            let counts = try await req.catalog.videoCounts(listedOnly: true)
            model.channels = found.items.map { ChannelCard($0, videoCount: counts[$0.id ?? 0] ?? 0, links: links) }
            model.channelTotal = found.total
            if kind == .channel { model.setNext(page: page, perPage: 24, total: found.total) }
        }
        if kind == nil || kind == .video {
            let found = try await req.search.videos(q, page: page, perPage: 24)
            model.videos = try await req.videoGrid(found.items)
            model.videoTotal = found.total
            model.setNext(page: page, perPage: 24, total: found.total)
        }
        return try await req.render("search", model)
    }
}
