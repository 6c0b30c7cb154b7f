import Fluent
import Foundation

/// Bytes of a user's quota held for a single-request upload or a URL import while its body arrives (tus uploads
/// hold theirs as their `uploads` row). Deleted when the video is made or the upload fails; expired ones are swept.
public final class QuotaReservation: Model, @unchecked Sendable {
    public static let schema = "quota_reservations"

    // managed
    @ID(custom: "id", generatedBy: .user) public var id: String?
    @Field(key: "expires_at") public var expiresAt: Date

    // references
    @Parent(key: "user_id") public var user: User

    // data
    @Field(key: "bytes") public var bytes: Int64

    public init() {}

    public init(id: String, userID: Int, bytes: Int64, expiresAt: Date) {
        self.id = id
        self.$user.id = userID
        self.bytes = bytes
        self.expiresAt = expiresAt
    }
}
