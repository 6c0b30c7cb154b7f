import Fluent
import Vapor

/// Comments over the API (the watch page's script uses it too): read, write, reply, edit, delete, pin, approve.
struct CommentController {
    /// GET /api/v1/videos/:id/comments?sort=top|newest&page=&per_page= — top-level comments with their replies.
    func list(req: Request) async throws -> CommentPageDTO {
        let video = try await watchable(req)
        let raw = req.query[String.self, at: "sort"] ?? "top"
        guard let sort = CommentService.Sort(rawValue: raw) else {
            throw Abort(.badRequest, reason: "sort must be 'top' or 'newest', got '\(raw.prefix(40))'")
        }
        let (page, perPage) = try APIController.pageParameters(req, perPage: 20)
        let viewer = req.user
        let moderator = Policy.canEdit(video.channel, by: viewer)
        let comments = req.comments
        let videoID = try video.requireID()
        let policy = try await comments.policy(videoID: videoID)
        let listing = try await comments.list(
            videoID: videoID, viewerID: viewer?.id, moderator: moderator, sort: sort, window: PageWindow(page: page, perPage: perPage))
        let heldForReview = viewer.map { CommentService.holds(policy, by: $0, moderator: moderator) } ?? false
        return CommentPageDTO(
            data: listing.comments.map { CommentDTO($0.comment, viewerID: viewer?.id, moderator: moderator, replies: $0.replies) },
            page: page, per_page: perPage, total: listing.total, comment_count: listing.count, sort: sort.rawValue,
            policy: policy.rawValue, can_comment: viewer != nil && (policy != .off || moderator), can_moderate: moderator,
            held_for_review: heldForReview)
    }

    /// POST /api/v1/videos/:id/comments `{"body": "…", "parent_id": 12}` — 201 with the comment (`held` when it
    /// waits for approval).
    func create(req: Request) async throws -> Response {
        let user = try req.requireUser()
        let video = try await watchable(req)
        struct Body: Content {
            var body: String?
            var parent_id: Int?
        }
        guard let body = try? req.content.decode(Body.self) else {
            throw Abort(.badRequest, reason: "Send JSON like {\"body\": \"Nice video\"}, with \"parent_id\" to reply.")
        }
        let moderator = Policy.canEdit(video.channel, by: user)
        let comment = try await req.comments.create(
            videoID: try video.requireID(), user: user, moderator: moderator, parentID: body.parent_id, body: body.body ?? "")
        return try await dto(comment, req: req, moderator: moderator).encodeResponse(status: .created, for: req)
    }

    /// PATCH /api/v1/comments/:id `{"body": "…"}` (its author) and/or `{"pinned": true}` (a moderator).
    func update(req: Request) async throws -> CommentDTO {
        let user = try req.requireUser()
        let (comment, moderator) = try await commentParameter(req, user: user)
        struct Body: Content {
            var body: String?
            var pinned: Bool?
        }
        guard let body = try? req.content.decode(Body.self), body.body != nil || body.pinned != nil else {
            throw Abort(.unprocessableEntity, reason: "Send {\"body\": \"new text\"} to edit, or {\"pinned\": true} to pin.")
        }
        if let text = body.body { try await req.comments.edit(comment, by: user, moderator: moderator, body: text) }
        if let pinned = body.pinned { try await req.comments.pin(comment, pinned, moderator: moderator) }
        return try await dto(comment, req: req, moderator: moderator)
    }

    /// DELETE /api/v1/comments/:id — its author, the channel's owner or an admin; its replies go with it.
    func delete(req: Request) async throws -> HTTPStatus {
        let user = try req.requireUser()
        let (comment, moderator) = try await commentParameter(req, user: user)
        try await req.comments.delete(comment, by: user, moderator: moderator)
        return .noContent
    }

    /// POST /api/v1/comments/:id/approve — a held comment shows to everyone, its links as links.
    func approve(req: Request) async throws -> CommentDTO {
        let user = try req.requireUser()
        let (comment, moderator) = try await commentParameter(req, user: user)
        try await req.comments.approve(comment, moderator: moderator)
        return try await dto(comment, req: req, moderator: moderator)
    }

    // MARK: helpers

    /// The video of the path, if the caller may watch it (404 otherwise, as for the video itself).
    private func watchable(_ req: Request) async throws -> Video {
        let id = try req.numericID(status: .badRequest, what: "video")
        guard let video = try await req.catalog.watchableVideo(id: id, viewer: req.user) else {
            throw Abort(.notFound, reason: "no video with id \(id)")
        }
        return video
    }

    /// The comment of the path and whether `user` moderates its video; 404 when they may not see it.
    private func commentParameter(_ req: Request, user: User) async throws -> (Comment, moderator: Bool) {
        let id = try req.numericID(status: .badRequest, what: "comment")
        guard let comment = try await Comment.find(id, on: req.db),
            let video = try await req.catalog.watchableVideo(id: comment.$video.id, viewer: user)
        else { throw CommentFailure.notFound }
        let moderator = Policy.canEdit(video.channel, by: user)
        guard CommentService.isVisible(comment, to: user, moderator: moderator) else { throw CommentFailure.notFound }
        return (comment, moderator)
    }

    private func dto(_ comment: Comment, req: Request, moderator: Bool) async throws -> CommentDTO {
        guard let entry = try await req.comments.entry(id: try comment.requireID()) else { throw CommentFailure.notFound }
        return CommentDTO(entry, viewerID: req.user?.id, moderator: moderator)
    }
}
