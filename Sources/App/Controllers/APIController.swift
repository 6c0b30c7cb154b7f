import Fluent
import Vapor

/// `/api/v1`: channels and videos as JSON.
struct APIController {
    /// Reads and checks `page`, `per_page` (1–100) and `sort` (newest or views).
    static func listParameters(_ req: Request) throws -> (page: Int, perPage: Int, sort: VideoSort) {
        let (page, perPage) = try pageParameters(req, perPage: 24)
        let raw = req.query[String.self, at: "sort"]
        guard let sort = VideoSort(rawValue: raw ?? "newest") else {
            throw Abort(.badRequest, reason: "sort must be 'newest' or 'views', got '\((raw ?? "").prefix(40))'")
        }
        return (page, perPage, sort)
    }

    /// `page` (from 1) and `per_page` (1 to 100, `perPage` when absent) of a listing's query; 400 otherwise.
    static func pageParameters(_ req: Request, perPage defaultPerPage: Int) throws -> (page: Int, perPage: Int) {
        let page = try req.wholeNumberQuery("page", minimum: .min) ?? 1
        let perPage = try req.wholeNumberQuery("per_page", minimum: .min) ?? defaultPerPage
        guard page >= 1, page <= PageWindow.maxPage else { throw Abort(.badRequest, reason: "page must be from 1 to \(PageWindow.maxPage)") }
        guard (1...100).contains(perPage) else { throw Abort(.badRequest, reason: "per_page must be from 1 to 100") }
        return (page, perPage)
    }

    /// GET /api/v1/videos
    /// `?tag=` lists only videos with that tag.
    func videos(req: Request) async throws -> Response {
        let (page, perPage, sort) = try Self.listParameters(req)
        let tag: String?
        do {
            tag = try req.query[String.self, at: "tag"].flatMap { $0.isEmpty ? nil : $0 }.map(VideoLimits.tag)
        } catch let failure as ValidationFailure {
            throw Abort(.badRequest, reason: failure.description)  // a malformed query, not a rule about a body
        }
        return try await req.shared("api.videos|\(sort.rawValue)|\(page)|\(perPage)|" + (tag ?? "")) {
            let result = try await req.catalog.listedVideos(channelIDs: nil, tag: tag, sort: sort, page: page, perPage: perPage)
            let links = req.mediaLinks, site = req.siteBase
            return PageDTO(
                data: try await req.withRatings(result.items.map { VideoDTO($0, links: links, site: site) }), page: page, per_page: perPage,
                total: result.total)
        }
    }

    /// GET /api/v1/videos/:id
    func video(req: Request) async throws -> VideoDTO {
        let id = try req.numericID(status: .badRequest, what: "video")
        var found = try await req.catalog.watchableVideo(id: id, viewer: req.user)
        // Its owner (or an admin) sees it in every state: processing, failed, not yet playable.
        if found == nil, let any = try await req.catalog.anyVideo(id: id), Policy.canEdit(any.channel, by: req.user) { found = any }
        guard let video = found else { throw Abort(.notFound, reason: "no video with id \(id)") }
        return try await req.withRating(try video.toDTO(links: req.mediaLinks, site: req.siteBase, viewer: req.user))
    }

    /// How `GET /api/v1/channels` orders channels.
    enum ChannelSort: String {
        case subscribers, rating, views
    }

    /// GET /api/v1/channels?sort=subscribers|rating|views — every channel with its rating (likes minus dislikes over
    /// its listed videos) and views; most subscribers first unless asked otherwise.
    func channels(req: Request) async throws -> Response {
        let raw = req.query[String.self, at: "sort"] ?? "subscribers"
        guard let sort = ChannelSort(rawValue: raw) else {
            throw Abort(.badRequest, reason: "sort must be 'subscribers', 'rating' or 'views', got '\(raw.prefix(40))'")
        }
        return try await req.shared("api.channels|\(sort.rawValue)") {
            let links = req.mediaLinks, site = req.siteBase
            let ratings = try await req.ratings.channelRatings()
            let views = try await req.catalog.viewsByChannel()
            var items = try await req.catalog.channels().map { channel in
                var dto = try channel.toDTO(links: links, site: site)
                dto.rating = ratings[dto.id] ?? 0
                dto.views = views[dto.id] ?? 0
                return dto
            }
            switch sort {
            case .subscribers: break
            case .rating: items.sort { ($0.rating ?? 0, $1.id) > ($1.rating ?? 0, $0.id) }
            case .views: items.sort { ($0.views ?? 0, $1.id) > ($1.views ?? 0, $0.id) }
            }
            return ListDTO(data: items)
        }
    }

    /// GET /api/v1/channels/:id — a numeric id or `@handle`.
    func channel(req: Request) async throws -> ChannelDTO {
        try await req.channelParameter(idStatus: .badRequest).toDTO(links: req.mediaLinks, site: req.siteBase)
    }

    /// GET /api/v1/channels/:id/videos
    func channelVideos(req: Request) async throws -> PageDTO<VideoDTO> {
        let channel = try await req.channelParameter(idStatus: .badRequest)
        let (page, perPage, sort) = try Self.listParameters(req)
        let result = try await req.catalog.listedVideos(channelID: try channel.requireID(), sort: sort, page: page, perPage: perPage)
        let links = req.mediaLinks, site = req.siteBase
        return PageDTO(
            data: try await req.withRatings(result.items.map { VideoDTO($0, links: links, site: site) }), page: page, per_page: perPage,
            total: result.total)
    }
}
