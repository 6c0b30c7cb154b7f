import Fluent
import Foundation

/// A resumable upload in progress (tus 1.0): the bytes so far are in `file_key`, `offset` says how many.
public final class Upload: Model, @unchecked Sendable {
    public static let schema = "uploads"

    // managed
    /// Random and unguessable: it is the upload URL's last part.
    @ID(custom: "id", generatedBy: .user) public var id: String?
    @Field(key: "created_at") public var createdAt: Date
    @Field(key: "expires_at") public var expiresAt: Date

    // references
    @Parent(key: "user_id") public var user: User
    @Parent(key: "channel_id") public var channel: Channel

    // data
    @Field(key: "filename") public var filename: String
    @Field(key: "title") public var title: String
    @Field(key: "description") public var description: String
    /// What the uploader chose in `Upload-Metadata` (nil for uploads begun before it could be chosen: public).
    @OptionalField(key: "visibility") public var visibility: Visibility?
    @Field(key: "length") public var length: Int64
    @Field(key: "offset") public var offset: Int64
    @Field(key: "file_key") public var fileKey: String
    /// Set when the last byte arrived and the video was made.
    @OptionalField(key: "video_id") public var videoID: Int?

    public init() {}
}
