import Vapor

/// `PUT /api/v1/videos/{id}/rating`: the counts after the vote and the caller's rating.
struct RatingDTO: Content {
    var video_id: Int
    var likes: Int
    var dislikes: Int
    var my_rating: String
}

/// One entry of `GET /api/v1/categories`.
struct CategoryDTO: Content {
    var name: String
    var slug: String
    var channels: Int
    var live: Int
    var url: String
}

/// One comment (`GET /api/v1/videos/{id}/comments`, and what a write answers).
struct CommentDTO: Content {
    struct Author: Content {
        var id: Int
        var username: String
    }
    var id: Int
    var video_id: Int
    /// The top-level comment this one replies to.
    var parent_id: Int?
    var author: Author
    /// Plain text: show it as text. Web addresses in it may be links only when `links` is true.
    var body: String
    var created_at: Date
    var edited_at: Date?
    var edited: Bool
    var pinned: Bool
    /// Waiting for approval: only its author and the video's moderators see it.
    var held: Bool
    /// A moderator approved it (or wrote it): its web addresses may be shown as links.
    var links: Bool
    var reply_count: Int
    /// Its replies, oldest first (top-level comments only).
    var replies: [CommentDTO]?
    /// What the caller may do with it.
    var can_edit: Bool
    var can_delete: Bool

    init(_ e: CommentService.Entry, viewerID: Int?, moderator: Bool, replies: [CommentService.Entry]? = nil) {
        id = e.id
        video_id = e.video_id
        parent_id = e.parent_id
        author = Author(id: e.user_id, username: e.username)
        body = e.body
        created_at = e.created_at
        edited_at = e.edited_at
        edited = e.edited_at != nil
        pinned = e.pinned
        held = e.held
        links = e.approved
        reply_count = replies?.count ?? e.reply_count
        self.replies = replies?.map { CommentDTO($0, viewerID: viewerID, moderator: moderator) }
        can_edit = viewerID != nil && viewerID == e.user_id
        can_delete = moderator || can_edit
    }
}

/// `GET /api/v1/videos/{id}/comments`: a page of top-level comments with their replies, and what the caller may do.
struct CommentPageDTO: Content {
    var data: [CommentDTO]
    var page: Int
    var per_page: Int
    /// Top-level comments the caller sees.
    var total: Int
    /// Comments and replies the caller sees.
    var comment_count: Int
    var sort: String
    /// `on`, `hold` (new comments wait for approval) or `off`.
    var policy: String
    /// Whether the caller may write one now (signed in, and comments are not off for them).
    var can_comment: Bool
    /// The caller owns the video's channel or is an admin: they may delete, pin and approve.
    var can_moderate: Bool
    /// Whether the caller's new comments wait for approval.
    var held_for_review: Bool
}

/// `POST /api/v1/reports`.
struct ReportDTO: Content {
    var id: Int
    var type: String
    var target_id: Int
    var reason: String
    var status: String
}
