import Fluent
import Foundation

/// Who may comment on a video: everyone signed in, everyone but each new comment waits for approval, or nobody.
public enum CommentPolicy: String, Codable, Sendable, CaseIterable {
    case on, hold, off

    var label: String {
        switch self {
        case .on: "On"
        case .hold: "Hold every new comment for my approval"
        case .off: "Off"
        }
    }
}

/// A comment on a video, or a reply to one (replies go one level deep).
public final class Comment: Model, @unchecked Sendable {
    public static let schema = "comments"

    /// At most this many characters.
    public static let maxLength = 2000

    // managed
    @ID(custom: "id", generatedBy: .database) public var id: Int?
    @Field(key: "created_at") public var createdAt: Date
    /// When its author last changed it (pages show "edited").
    @OptionalField(key: "edited_at") public var editedAt: Date?

    // references
    @Parent(key: "video_id") public var video: Video
    @Parent(key: "user_id") public var user: User
    /// The comment this one answers; nil for a top-level comment.
    @OptionalParent(key: "parent_id") public var parent: Comment?

    // data
    @Field(key: "body") public var body: String
    /// Waiting for the channel owner's or an admin's approval: only they and its author see it.
    @Field(key: "held") public var held: Bool
    /// Approved by the channel owner or an admin, or written by one: its links are links. Others' links stay text.
    @Field(key: "approved") public var approved: Bool
    /// Shown first; at most one per video.
    @Field(key: "pinned") public var pinned: Bool

    public init() {}

    public init(videoID: Int, userID: Int, parentID: Int?, body: String, held: Bool, approved: Bool, createdAt: Date = Date()) {
        self.$video.id = videoID
        self.$user.id = userID
        self.$parent.id = parentID
        self.body = body
        self.held = held
        self.approved = approved
        self.pinned = false
        self.createdAt = createdAt
        self.editedAt = nil
    }
}

/// A signed-in user's report of a video, a comment or a channel, for the admins' queue.
public final class Report: Model, @unchecked Sendable {
    public static let schema = "reports"

    public enum Target: String, Codable, Sendable, CaseIterable {
        case video, comment, channel
    }

    public enum Reason: String, Codable, Sendable, CaseIterable {
        case spam, harassment, hate, violence, sexual, copyright, misleading, other

        public var label: String {
            switch self {
            case .spam: "Spam or scam"
            case .harassment: "Harassment or bullying"
            case .hate: "Hateful or abusive"
            case .violence: "Violent or dangerous"
            case .sexual: "Sexual content"
            case .copyright: "Infringes my rights"
            case .misleading: "Misleading"
            case .other: "Something else"
            }
        }
    }

    public enum Status: String, Codable, Sendable {
        case open, dismissed, resolved
    }

    /// At most this many characters of details.
    public static let maxDetails = 1000

    @ID(custom: "id", generatedBy: .database) public var id: Int?
    @Parent(key: "reporter_id") public var reporter: User
    @Field(key: "target_type") public var targetType: Target
    @Field(key: "target_id") public var targetID: Int
    @Field(key: "reason") public var reason: Reason
    @Field(key: "details") public var details: String
    @Field(key: "status") public var status: Status
    @Field(key: "created_at") public var createdAt: Date
    @OptionalField(key: "resolved_at") public var resolvedAt: Date?
    @OptionalField(key: "resolved_by") public var resolvedBy: Int?
    /// What the admin did: `dismissed`, `comment deleted`, `video taken down`, `user disabled`.
    @OptionalField(key: "resolution") public var resolution: String?

    public init() {}
}
