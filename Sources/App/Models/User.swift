import Fluent
import Foundation
import Vapor

/// What a user may do beyond their own things: admins oversee the whole site.
public enum Role: String, Codable, Sendable, CaseIterable {
    case user, admin
}

/// A person with an account: owns channels, subscribes, and signs in with a password.
public final class User: Model, Authenticatable, @unchecked Sendable {
    public static let schema = "users"

    // managed
    @ID(custom: "id", generatedBy: .database) public var id: Int?
    @Field(key: "created_at") public var createdAt: Date

    // data
    /// Unique, lower-case, 3–30 characters of letters, digits, `_`, `.` and `-`.
    @Field(key: "username") public var username: String
    /// Unique, lower-case.
    @Field(key: "email") public var email: String
    /// bcrypt.
    @Field(key: "password_hash") public var passwordHash: String
    @Field(key: "role") public var role: Role
    /// A disabled user cannot sign in, and their sessions and tokens stop working.
    @Field(key: "disabled") public var disabled: Bool
    @OptionalField(key: "last_login_at") public var lastLoginAt: Date?

    @Children(for: \.$owner) public var channels: [Channel]

    public init() {}

    public init(username: String, email: String, passwordHash: String, role: Role = .user, createdAt: Date = Date()) {
        self.username = username
        self.email = email
        self.passwordHash = passwordHash
        self.role = role
        self.disabled = false
        self.createdAt = createdAt
    }

    public var isAdmin: Bool { role == .admin }

    /// Checks and normalises a username; the message says what to change.
    public static func normalizedUsername(_ raw: String) throws(ValidationFailure) -> String {
        let name = raw.trimmingCharacters(in: .whitespaces).lowercased()
        guard (3...30).contains(name.count) else {
            throw ValidationFailure("a username has 3 to 30 characters; '\(raw.prefix(40))' has \(name.count)")
        }
        guard name.unicodeScalars.allSatisfy({ $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "_.-".unicodeScalars.contains($0)) })
        else {
            throw ValidationFailure("a username may use only letters, digits, '_', '.' and '-'")
        }
        return name
    }

    /// Checks and normalises an e-mail address (one `@`, a dot in the domain, no spaces).
    public static func normalizedEmail(_ raw: String) throws(ValidationFailure) -> String {
        let email = raw.trimmingCharacters(in: .whitespaces).lowercased()
        let parts = email.split(separator: "@", omittingEmptySubsequences: false)
        guard email.count <= 254, parts.count == 2, !parts[0].isEmpty, parts[1].contains("."), !parts[1].hasPrefix("."),
            !parts[1].hasSuffix("."), !email.contains(where: { $0.isWhitespace || $0 == "<" || $0 == ">" })
        else {
            throw ValidationFailure("enter an e-mail address such as name@example.com")
        }
        return email
    }
}

/// A signed-in browser: the cookie holds a random token, the table only its SHA-256, so a copy of the
/// database does not hand out sessions. Rows live in the database so they survive restarts and are shared
/// by every app node.
public final class UserSession: Model, @unchecked Sendable {
    public static let schema = "user_sessions"

    // managed
    @ID(custom: "id", generatedBy: .database) public var id: Int?
    @Field(key: "created_at") public var createdAt: Date

    // references
    @Parent(key: "user_id") public var user: User

    // data
    @Field(key: "token_hash") public var tokenHash: String
    @Field(key: "expires_at") public var expiresAt: Date
    @OptionalField(key: "remote_address") public var remoteAddress: String?
    @OptionalField(key: "user_agent") public var userAgent: String?

    public init() {}

    public init(userID: Int, tokenHash: String, expiresAt: Date, remoteAddress: String?, userAgent: String?, createdAt: Date = Date()) {
        self.$user.id = userID
        self.tokenHash = tokenHash
        self.expiresAt = expiresAt
        self.remoteAddress = remoteAddress
        self.userAgent = userAgent.map { String($0.prefix(300)) }
        self.createdAt = createdAt
    }
}

/// A bearer token for the API: revocable, with an expiry; stored as SHA-256 like sessions.
public final class APIToken: Model, @unchecked Sendable {
    public static let schema = "api_tokens"

    // managed
    @ID(custom: "id", generatedBy: .database) public var id: Int?
    @Field(key: "created_at") public var createdAt: Date

    // references
    @Parent(key: "user_id") public var user: User

    // data
    @Field(key: "token_hash") public var tokenHash: String
    @Field(key: "name") public var name: String
    @Field(key: "expires_at") public var expiresAt: Date
    @OptionalField(key: "revoked_at") public var revokedAt: Date?
    @OptionalField(key: "last_used_at") public var lastUsedAt: Date?

    public init() {}

    public init(userID: Int, tokenHash: String, name: String, expiresAt: Date, createdAt: Date = Date()) {
        self.$user.id = userID
        self.tokenHash = tokenHash
        self.name = name
        self.expiresAt = expiresAt
        self.createdAt = createdAt
    }
}

/// A user following a channel; the pair is unique, so a double click or a race makes one row.
public final class Subscription: Model, @unchecked Sendable {
    public static let schema = "subscriptions"

    // managed
    @ID(custom: "id", generatedBy: .database) public var id: Int?
    @Field(key: "created_at") public var createdAt: Date

    // references
    @Parent(key: "user_id") public var user: User
    @Parent(key: "channel_id") public var channel: Channel

    public init() {}

    public init(userID: Int, channelID: Int, at: Date = Date()) {
        self.$user.id = userID
        self.$channel.id = channelID
        self.createdAt = at
    }
}

/// A counted view: at most one per viewer, video and clock hour (the unique key makes that hold across nodes).
public final class VideoView: Model, @unchecked Sendable {
    public static let schema = "video_views"

    // managed
    @ID(custom: "id", generatedBy: .database) public var id: Int?
    @Field(key: "created_at") public var createdAt: Date

    // references
    @Parent(key: "video_id") public var video: Video

    // data
    /// `user:ID`, `visitor:COOKIE-HASH` or `addr:HASH`.
    @Field(key: "viewer") public var viewer: String
    /// Whole hours since 1970.
    @Field(key: "hour") public var hour: Int

    public init() {}

    public init(videoID: Int, viewer: String, hour: Int, at: Date) {
        self.$video.id = videoID
        self.viewer = viewer
        self.hour = hour
        self.createdAt = at
    }
}
