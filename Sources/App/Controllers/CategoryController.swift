import Fluent
import Vapor

/// Categories and tags: the categories' list (with how many channels each has and how many are live), a page per
/// category and per tag with its live channels first (most watched first) and then its videos, and the API's list.
struct CategoryController {
    private func summaries(_ req: Request) async throws -> [CategoryDTO] {
        let counts = try await req.catalog.channelCountsByCategory()
        var live: [String: Int] = [:]
        for channel in try await req.live.liveChannels() where !channel.category.isEmpty { live[channel.category, default: 0] += 1 }
        return ChannelOptions.categories.map { name in
            let slug = ChannelOptions.slug(of: name)
            return CategoryDTO(
                name: name, slug: slug, channels: counts[name] ?? 0, live: live[name] ?? 0, url: SiteURL.category(.value(slug)).path)
        }
    }

    /// GET /api/v1/categories — every category, with channel and live counts (the reference's `getCategories`).
    func list(req: Request) async throws -> ListDTO<CategoryDTO> {
        ListDTO(data: try await summaries(req))
    }

    /// GET /categories
    func index(req: Request) async throws -> View {
        try await req.render("categories", CategoriesPage(categories: try await summaries(req)))
    }

    /// GET /categories/:slug?page= — live channels of the category by viewers, then its channels' newest videos.
    func show(req: Request) async throws -> View {
        guard let name = ChannelOptions.category(slug: req.parameters.get("slug") ?? "") else {
            throw Abort(.notFound, reason: "There is no such category; the list is at /categories.")
        }
        let page = min(max(req.query[Int.self, at: "page"] ?? 1, 1), PageWindow.maxPage)
        let links = req.mediaLinks, viewers = req.services.viewers
        let live = try await req.live.liveChannels(category: name)
            .map { ($0, viewers.count($0.id ?? 0)) }.sorted { ($0.1, $1.0.id ?? 0) > ($1.1, $0.0.id ?? 0) }
            .map { LiveCard($0.0, viewers: $0.1, links: links) }
        let channelIDs = try await req.catalog.channels(category: name).compactMap(\.id)
        let videos = try await req.catalog.listedVideos(channelIDs: channelIDs, page: page, perPage: 24)
        let next = PageWindow(page: page, perPage: 24).next(total: videos.total)
        return try await req.render(
            "category",
            CategoryPage(
                name: name, allURL: SiteURL.categories.path, allName: "Categories", live: live, videos: try await req.videoGrid(videos.items),
                nextPageURL: next.map { SiteURL.category(.value(ChannelOptions.slug(of: name))).path + "?page=\($0)" }))
    }

    /// GET /tags/:tag?page= — live channels whose stream has the tag, by viewers, then the videos with it, newest
    /// first. A tag is compared as stored (lowercase, spaces collapsed): `/tags/Speed%20Run` finds `speed run`.
    func tag(req: Request) async throws -> View {
        let tag = try VideoLimits.tag(req.parameters.get("tag") ?? "")
        let page = min(max(req.query[Int.self, at: "page"] ?? 1, 1), PageWindow.maxPage)
        let links = req.mediaLinks, viewers = req.services.viewers
        let live = try await req.live.liveChannels(tag: tag)
            .map { ($0, viewers.count($0.id ?? 0)) }.sorted { ($0.1, $1.0.id ?? 0) > ($1.1, $0.0.id ?? 0) }
            .map { LiveCard($0.0, viewers: $0.1, links: links) }
        let videos = try await req.catalog.listedVideos(channelIDs: nil, tag: tag, page: page, perPage: 24)
        let next = PageWindow(page: page, perPage: 24).next(total: videos.total)
        return try await req.render(
            "category",
            CategoryPage(
                name: "#" + tag, allURL: SiteURL.search.path + "?q=" + (tag.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""),
                allName: "Search for “\(tag)”", live: live, videos: try await req.videoGrid(videos.items),
                nextPageURL: next.map { SiteURL.tag(.value(tag)).path + "?page=\($0)" }))
    }
}
