import Fluent
import Foundation
import Vapor

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
