import Fluent
import Foundation
import Vapor

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
