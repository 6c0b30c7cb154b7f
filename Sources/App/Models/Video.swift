import Fluent
import Foundation

/// Who may see a video: everyone and listed, anyone with the link, or its owner only.
public enum Visibility: String, Codable, Sendable, CaseIterable {
    case `public`, unlisted, `private`
}

/// Where a video is in its life: processing after upload, ready to play, or failed with a reason.
public enum VideoStatus: String, Codable, Sendable {
    case processing, ready, failed
}

/// An uploaded or imported video and what ffprobe said about it.
public final class Video: Model, @unchecked Sendable {
    public static let schema = "videos"

    // managed
    @ID(custom: "id", generatedBy: .database) public var id: Int?

    // references
    @Parent(key: "channel_id") public var channel: Channel

    // data
    @Field(key: "title") public var title: String
    @Field(key: "description") public var description: String
    /// Storage key of the playable file; generated, never from a request.
    @Field(key: "media_key") public var mediaKey: String
    @OptionalField(key: "thumbnail_key") public var thumbnailKey: String?
    @Field(key: "duration") public var duration: Double
    @Field(key: "size") public var size: Int64
    @Field(key: "width") public var width: Int
    @Field(key: "height") public var height: Int
    @Field(key: "mime_type") public var mimeType: String
    @Field(key: "video_codec") public var videoCodec: String
    @OptionalField(key: "audio_codec") public var audioCodec: String?
    @Field(key: "views") public var views: Int
    @Field(key: "visibility") public var visibility: Visibility
    @Field(key: "status") public var status: VideoStatus
    @Field(key: "created_at") public var createdAt: Date
    /// Set by an admin: hidden from everyone but admins; the owner sees why.
    @OptionalField(key: "takedown_reason") public var takedownReason: String?

    public init() {}

    public init(
        channelID: Int, title: String, description: String, mediaKey: String, thumbnailKey: String?,
        duration: Double, size: Int64, width: Int, height: Int, mimeType: String, videoCodec: String,
        audioCodec: String?, views: Int = 0, visibility: Visibility = .public, status: VideoStatus = .ready,
        createdAt: Date = Date()
    ) {
        self.$channel.id = channelID
        self.title = title
        self.description = description
        self.mediaKey = mediaKey
        self.thumbnailKey = thumbnailKey
        self.duration = duration
        self.size = size
        self.width = width
        self.height = height
        self.mimeType = mimeType
        self.videoCodec = videoCodec
        self.audioCodec = audioCodec
        self.views = views
        self.visibility = visibility
        self.status = status
        self.createdAt = createdAt
    }

    /// Whether anyone may stream it by link: ready, not private, not taken down.
    public var isStreamable: Bool { status == .ready && visibility != .private && takedownReason == nil }
    /// Whether it appears in listings: ready and public.
    public var isListed: Bool { isStreamable && visibility == .public }
}
