import Fluent
import Foundation
import SQLKit
import Vapor

/// Why a comment was refused, worded for the person who wrote it.
public enum CommentFailure: Error, Equatable {
    case notFound
    case turnedOff
    case invalid(String)
    /// Well-formed, but it names something it cannot be applied to (a reply to a comment on another video).
    case unprocessable(String)
    case forbidden(String)
    case rateLimited(retryAfter: Int)
}

extension CommentFailure: AbortError {
    public var status: HTTPResponseStatus {
        switch self {
        case .notFound: .notFound
        case .turnedOff, .forbidden: .forbidden
        case .invalid: .badRequest
        case .unprocessable: .unprocessableEntity
        case .rateLimited: .tooManyRequests
        }
    }

    public var reason: String {
        switch self {
        case .notFound: "There is no such comment (it may have been deleted)."
        case .turnedOff: "Comments are turned off for this video."
        case .invalid(let why), .unprocessable(let why), .forbidden(let why): why
        case .rateLimited(let seconds):
            "You are commenting too fast. Wait \(Formatting.waitText(seconds: seconds)) and try again."
        }
    }

    public var headers: HTTPHeaders {
        if case .rateLimited(let seconds) = self { return ["Retry-After": "\(seconds)"] }
        return [:]
    }
}

/// Comments on videos: one level of replies; authors edit and delete their own; the channel's owner and admins
/// (its moderators here) delete any, pin one, approve held ones and set the video's policy. A comment is held for
/// approval when the video holds all, or when its author's account is younger than `newAccountAge`; held comments
/// are seen only by their author and the moderators. Links in a comment are links only once a moderator approved
/// it (or wrote it); an author's edit takes that back.
public struct CommentService: Sendable {
    public let db: any Database

    public init(db: any Database) { self.db = db }

    /// Accounts younger than this have their comments held.
    public static let newAccountAge: TimeInterval = 24 * 3600
    /// How many comments one user may write per window (moderators on their own videos are not limited).
    public static let rateLimits: [(seconds: Int, count: Int)] = [(60, 5), (3600, 50)]

    /// Whether a new comment by `user` waits for approval under `policy`.
    public static func holds(_ policy: CommentPolicy, by user: User, moderator: Bool, now: Date = Date()) -> Bool {
        !moderator && (policy == .hold || now.timeIntervalSince(user.createdAt) < newAccountAge)
    }

    /// Whether `user` may see `comment` (held ones: only their author and the video's moderators).
    public static func isVisible(_ comment: Comment, to user: User?, moderator: Bool) -> Bool {
        !comment.held || moderator || (user?.id != nil && comment.$user.id == user?.id)
    }

    /// How comments are ordered: pinned first, then most replies (newest among equals), or newest.
    public enum Sort: String, Sendable {
        case top, newest
    }

    /// One comment as the API shows it.
    public struct Entry: Sendable, Decodable {
        public var id: Int
        public var video_id: Int
        public var parent_id: Int?
        public var user_id: Int
        public var username: String
        public var body: String
        public var held: Bool
        public var approved: Bool
        public var pinned: Bool
        public var created_at: Date
        public var edited_at: Date?
        public var reply_count: Int
    }

    /// A page of top-level comments with their replies (oldest first).
    public struct Listing: Sendable {
        public var comments: [(comment: Entry, replies: [Entry])]
        /// Top-level comments the viewer sees.
        public var total: Int
        /// Comments and replies the viewer sees.
        public var count: Int
    }

    // MARK: policy

    /// The video's comment policy.
    public func policy(videoID: Int) async throws -> CommentPolicy {
        struct Row: Decodable { var comments: String }
        let row = try await db.sql().select().column("comments").from(Video.schema).where("id", .equal, videoID).first(decoding: Row.self)
        return row.flatMap { CommentPolicy(rawValue: $0.comments) } ?? .on
    }

    public func setPolicy(videoID: Int, _ policy: CommentPolicy) async throws {
        try await db.sql().update(Video.schema).set("comments", to: policy.rawValue).where("id", .equal, videoID).run()
    }

    // MARK: reading

    /// The part of a `WHERE` that leaves out what `viewer` may not see: held comments (but their own, or all for a
    /// moderator) and disabled users' comments.
    /// `table` is the comments table's name in the query (joined to `users` on its author).
    private func visible(to viewerID: Int?, moderator: Bool, table: String = "comments") -> SQLQueryString {
        var condition: SQLQueryString = "users.disabled = \(bind: false)"
        if !moderator {
            condition = condition + " AND (\(unsafeRaw: table).held = \(bind: false)"
                + (viewerID.map { " OR \(unsafeRaw: table).user_id = \(bind: $0)" } ?? "") + ")"
        }
        return condition
    }

    private static let columns: SQLQueryString = """
        SELECT comments.id, comments.video_id, comments.parent_id, comments.user_id, users.username, comments.body, comments.held,
          comments.approved, comments.pinned, comments.created_at, comments.edited_at
        """

    /// Top-level comments of a video that `viewerID` sees, a page of them, each with its visible replies.
    public func list(videoID: Int, viewerID: Int?, moderator: Bool, sort: Sort, window: PageWindow) async throws -> Listing {
        let sql = try db.sql()
        let shown = visible(to: viewerID, moderator: moderator)
        let replies: SQLQueryString =
            "(SELECT COUNT(*) FROM comments r JOIN users ON users.id = r.user_id WHERE r.parent_id = comments.id AND "
            + visible(to: viewerID, moderator: moderator, table: "r") + ")"
        let order: SQLQueryString =
            sort == .top
            ? "comments.pinned DESC, reply_count DESC, comments.created_at DESC, comments.id DESC"
            : "comments.pinned DESC, comments.created_at DESC, comments.id DESC"
        let top = try await sql.raw(
            Self.columns + ", " + replies + " AS reply_count FROM comments JOIN users ON users.id = comments.user_id"
                + " WHERE comments.video_id = \(bind: videoID) AND comments.parent_id IS NULL AND " + shown + " ORDER BY " + order
                + " LIMIT \(unsafeRaw: String(window.perPage)) OFFSET \(unsafeRaw: String(window.offset))"
        ).all(decoding: Entry.self)
        var byParent: [Int: [Entry]] = [:]
        if !top.isEmpty {
            let rows = try await sql.raw(
                Self.columns + ", 0 AS reply_count FROM comments JOIN users ON users.id = comments.user_id"
                    + " WHERE comments.parent_id IN (\(binds: top.map(\.id))) AND " + shown + " ORDER BY comments.created_at, comments.id"
            ).all(decoding: Entry.self)
            for row in rows { byParent[row.parent_id ?? 0, default: []].append(row) }
        }
        struct Counts: Decodable {
            var comment_count: Int
            var top_level: Int?
        }
        let counts = try await sql.raw(
            "SELECT COUNT(*) AS comment_count, CAST(SUM(CASE WHEN comments.parent_id IS NULL THEN 1 ELSE 0 END) AS BIGINT) AS top_level"
                + " FROM comments JOIN users ON users.id = comments.user_id WHERE comments.video_id = \(bind: videoID) AND " + shown
        ).first(decoding: Counts.self)
        return Listing(
            comments: top.map { ($0, byParent[$0.id] ?? []) }, total: counts?.top_level ?? 0, count: counts?.comment_count ?? 0)
    }

    /// One comment as the API shows it (whoever may see it).
    public func entry(id: Int) async throws -> Entry? {
        try await db.sql().raw(
            Self.columns + ", 0 AS reply_count FROM comments JOIN users ON users.id = comments.user_id WHERE comments.id = \(bind: id)"
        ).first(decoding: Entry.self)
    }

    // MARK: writing

    /// The text as stored: trimmed, 1 to `Comment.maxLength` characters, no control characters but line breaks.
    public static func text(_ raw: String) throws -> String {
        let text = String(
            String.UnicodeScalarView(
                raw.unicodeScalars.filter { $0 == "\n" || !CharacterSet.controlCharacters.contains($0) })
        ).trimmingCharacters(in: .whitespacesAndNewlines)
        guard !text.isEmpty else { throw ValidationFailure("A comment cannot be empty.", field: "body") }
        guard text.count <= Comment.maxLength else {
            throw ValidationFailure("A comment has at most \(Comment.maxLength) characters; this one has \(text.count).", field: "body")
        }
        return text
    }

    /// Writes `user`'s comment (or reply to `parentID`; a reply to a reply answers its top-level comment) on a
    /// video they may watch. `moderator`: the user owns the video's channel or is an admin.
    public func create(
        videoID: Int, user: User, moderator: Bool, parentID: Int?, body: String, now: Date = Date()
    ) async throws -> Comment {
        let userID = try user.requireID()
        let policy = try await policy(videoID: videoID)
        if policy == .off && !moderator { throw CommentFailure.turnedOff }
        let text = try Self.text(body)
        var parent: Int?
        if let parentID {
            guard let answered = try await Comment.find(parentID, on: db), answered.$video.id == videoID,
                !answered.held || moderator || answered.$user.id == userID
            else { throw CommentFailure.unprocessable("The comment you are replying to is not on this video any more.") }
            parent = answered.$parent.id ?? parentID
        }
        if !moderator { try await checkRate(userID: userID, now: now) }
        let held = Self.holds(policy, by: user, moderator: moderator, now: now)
        let comment = Comment(videoID: videoID, userID: userID, parentID: parent, body: text, held: held, approved: moderator, createdAt: now)
        try await comment.create(on: db)
        return comment
    }

    /// Throws `rateLimited` when the user has written the most comments a window allows.
    private func checkRate(userID: Int, now: Date) async throws {
        struct Row: Decodable {
            var count: Int
            var oldest: Date?
        }
        for limit in Self.rateLimits {
            let since = now.addingTimeInterval(-TimeInterval(limit.seconds))
            let row = try await db.sql().raw(
                "SELECT COUNT(*) AS count, MIN(created_at) AS oldest FROM comments WHERE user_id = \(bind: userID) AND created_at > \(bind: since)"
            ).first(decoding: Row.self)
            if let row, row.count >= limit.count {
                let free = (row.oldest ?? now).addingTimeInterval(TimeInterval(limit.seconds)).timeIntervalSince(now)
                throw CommentFailure.rateLimited(retryAfter: max(1, Int(free.rounded(.up))))
            }
        }
    }

    /// The author changes the text; it shows as edited, and its links are text again until a moderator approves
    /// it (unless the author is a moderator).
    public func edit(_ comment: Comment, by user: User, moderator: Bool, body: String, now: Date = Date()) async throws {
        guard comment.$user.id == user.id else { throw CommentFailure.forbidden("Only its author can edit a comment.") }
        let text = try Self.text(body)
        guard text != comment.body else { return }
        comment.body = text
        comment.editedAt = now
        comment.approved = moderator
        try await comment.save(on: db)
    }

    /// Deletes the comment and its replies. Its author or a moderator.
    public func delete(_ comment: Comment, by user: User, moderator: Bool) async throws {
        guard moderator || comment.$user.id == user.id else {
            throw CommentFailure.forbidden("Only its author, the channel's owner or an admin can delete a comment.")
        }
        try await delete(comment)
    }

    /// Deletes the comment and its replies (an admin resolving a report).
    public func delete(_ comment: Comment) async throws {
        let id = try comment.requireID()
        try await db.sql().delete(from: Comment.schema).where("parent_id", .equal, id).run()
        try await db.sql().delete(from: Comment.schema).where("id", .equal, id).run()
    }

    /// Pins a top-level, visible comment (unpinning the video's other one) or unpins it. Moderators only.
    public func pin(_ comment: Comment, _ pinned: Bool, moderator: Bool) async throws {
        guard moderator else { throw CommentFailure.forbidden("Only the channel's owner or an admin can pin a comment.") }
        guard comment.$parent.id == nil else { throw ValidationFailure("Only a top-level comment can be pinned, not a reply.", field: "pinned") }
        guard !comment.held || !pinned else { throw CommentFailure.invalid("Approve a held comment before pinning it.") }
        let id = try comment.requireID()
        let videoID = comment.$video.id
        try await db.transaction { db in
            let sql = try db.sql()
            if pinned {
                try await sql.update(Comment.schema).set("pinned", to: false).where("video_id", .equal, videoID).where("pinned", .equal, true)
                    .run()
            }
            try await sql.update(Comment.schema).set("pinned", to: pinned).where("id", .equal, id).run()
        }
        comment.pinned = pinned
    }

    /// Shows a held comment to everyone and makes its links links. Moderators only.
    public func approve(_ comment: Comment, moderator: Bool) async throws {
        guard moderator else { throw CommentFailure.forbidden("Only the channel's owner or an admin can approve a comment.") }
        comment.held = false
        comment.approved = true
        try await comment.save(on: db)
    }
}
