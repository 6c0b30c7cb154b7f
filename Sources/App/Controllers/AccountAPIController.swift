import Fluent
import Media
import Vapor

/// `/api/v1` writes and the signed-in user's lists. Each write checks, in order: signed in (401), the thing
/// exists (404), the caller may change it (403); a refused request changes nothing.
struct AccountAPIController {
    // MARK: channels

    /// POST /api/v1/channels
    func createChannel(req: Request) async throws -> Response {
        let user = try req.requireUser()
        let channel = try await req.channels.create(owner: user, try req.content.decode(ChannelService.Settings.self))
        return try await req.created(channel.toDTO(links: req.mediaLinks, site: req.siteBase), location: "/api/v1/channels/\(try channel.requireID())")
    }

    /// PATCH /api/v1/channels/:id
    func updateChannel(req: Request) async throws -> ChannelDTO {
        let channel = try await req.editableChannel(idStatus: .badRequest)
        try await req.channels.apply(try req.content.decode(ChannelService.Settings.self), to: channel)
        return try channel.toDTO(links: req.mediaLinks, site: req.siteBase)
    }

    /// DELETE /api/v1/channels/:id
    func deleteChannel(req: Request) async throws -> HTTPStatus {
        try await req.channels.delete(try await req.editableChannel(idStatus: .badRequest))
        return .noContent
    }

    /// PUT /api/v1/channels/:id/images/:kind — the picture as the raw body (or multipart field `image`).
    func putImage(req: Request) async throws -> ChannelDTO {
        let channel = try await req.editableChannel(idStatus: .badRequest)
        guard let kind = ImageKind(channelPicture: req.parameters.get("kind") ?? "") else {
            throw Abort(.notFound, reason: "Pictures are logo, banner or thumbnail.")
        }
        try await ImageUpload.apply(kind, bytes: try req.uploadedPicture(), to: channel, req: req)
        return try channel.toDTO(links: req.mediaLinks, site: req.siteBase)
    }

    /// PUT /api/v1/videos/:id/thumbnail — the owner's own thumbnail as the raw body (or multipart field `image`),
    /// re-encoded at 1280×720; processing keeps it.
    func putThumbnail(req: Request) async throws -> VideoDTO {
        let video = try await req.editableVideo(idStatus: .badRequest)
        try await ImageUpload.applyThumbnail(bytes: try req.uploadedPicture(), to: video, req: req)
        return try video.toDTO(links: req.mediaLinks, site: req.siteBase, viewer: req.user)
    }

    // MARK: videos

    /// PATCH /api/v1/videos/:id — `title`, `description`, `visibility`.
    func updateVideo(req: Request) async throws -> VideoDTO {
        let video = try await req.editableVideo(idStatus: .badRequest)
        try await req.videos.update(video, try req.content.decode(VideoService.Changes.self))
        return try video.toDTO(links: req.mediaLinks, site: req.siteBase, viewer: req.user)
    }

    /// DELETE /api/v1/videos/:id
    func deleteVideo(req: Request) async throws -> HTTPStatus {
        try await req.videos.delete(try await req.editableVideo(idStatus: .badRequest))
        return .noContent
    }

    /// POST /api/v1/videos/:id/views — the player reports that playback started; counted once per viewer an hour.
    func recordView(req: Request) async throws -> ViewDTO {
        let id = try req.numericID(status: .badRequest, what: "video")
        guard try await req.catalog.watchableVideo(id: id, viewer: req.user) != nil else {
            throw Abort(.notFound, reason: "no video with id \(id)")
        }
        let (counted, views) = try await ViewCounter(db: req.db).record(videoID: id, viewer: req.viewCountKey)
        req.changesOnlyCounters()  // every playback start posts here: shared pages keep their (≤ 5 s old) counts
        return ViewDTO(counted: counted, views: views)
    }

    // MARK: subscriptions

    /// GET /api/v1/channels/:id/subscription
    func subscription(req: Request) async throws -> SubscriptionDTO {
        let user = try req.requireUser()
        let channel = try await req.channelParameter(idStatus: .badRequest)
        let id = try channel.requireID()
        return SubscriptionDTO(
            channel_id: id, subscribed: try await req.subscriptions.isSubscribed(userID: user.requireID(), channelID: id),
            subscribers_count: channel.subscribersCount)
    }

    /// PUT /api/v1/channels/:id/subscription — idempotent.
    func subscribe(req: Request) async throws -> SubscriptionDTO {
        try await changeSubscription(req, subscribe: true)
    }

    /// DELETE /api/v1/channels/:id/subscription — idempotent.
    func unsubscribe(req: Request) async throws -> SubscriptionDTO {
        try await changeSubscription(req, subscribe: false)
    }

    private func changeSubscription(_ req: Request, subscribe: Bool) async throws -> SubscriptionDTO {
        let user = try req.requireUser()
        let id = try await req.channelParameter(idStatus: .badRequest).requireID()
        let userID = try user.requireID()
        if subscribe {
            try await req.subscriptions.subscribe(userID: userID, channelID: id)
        } else {
            try await req.subscriptions.unsubscribe(userID: userID, channelID: id)
        }
        let count = try await req.catalog.channel(id: id)?.subscribersCount ?? 0
        return SubscriptionDTO(channel_id: id, subscribed: subscribe, subscribers_count: count)
    }

    /// GET /api/v1/me/subscriptions
    func mySubscriptions(req: Request) async throws -> ListDTO<ChannelDTO> {
        let user = try req.requireUser()
        let links = req.mediaLinks, site = req.siteBase
        return ListDTO(data: try await req.subscriptions.channels(userID: user.requireID()).map { try $0.toDTO(links: links, site: site) })
    }

    /// GET /api/v1/me/feed — newest videos of the channels I follow.
    func myFeed(req: Request) async throws -> PageDTO<VideoDTO> {
        let user = try req.requireUser()
        let (page, perPage, _) = try APIController.listParameters(req)
        let result = try await req.subscriptions.feed(userID: user.requireID(), page: page, perPage: perPage)
        let links = req.mediaLinks, site = req.siteBase
        return PageDTO(data: result.items.map { VideoDTO($0, links: links, site: site) }, page: page, per_page: perPage, total: result.total)
    }

    /// GET /api/v1/me/videos — every video of my channels, whatever its visibility or state.
    func myVideos(req: Request) async throws -> PageDTO<VideoDTO> {
        let user = try req.requireUser()
        let (page, perPage, _) = try APIController.listParameters(req)
        let (videos, total) = try await req.catalog.videos(ownedBy: user.requireID(), window: PageWindow(page: page, perPage: perPage))
        let links = req.mediaLinks, site = req.siteBase
        return PageDTO(data: try videos.map { try $0.toDTO(links: links, site: site, viewer: user) }, page: page, per_page: perPage, total: total)
    }
}

