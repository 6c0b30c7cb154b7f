import Fluent
import Foundation
import Media

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
    /// Folder of the HLS renditions, master playlist and storyboard; nil for videos that were never processed.
    @OptionalField(key: "assets_key") public var assetsKey: String?
    /// Published renditions, lowest first (`240p,360p,720p`); empty until the first one is ready.
    @OptionalField(key: "renditions") public var renditionList: String?
    @OptionalField(key: "has_storyboard") public var hasStoryboard: Bool?
    /// Why processing failed, shown to the owner.
    @OptionalField(key: "failure_reason") public var failureReason: String?
    /// Bumped when who may watch changes (visibility, takedown): signed media URLs carry it, so one handed out
    /// before stops working. nil is 0.
    @OptionalField(key: "access_revision") public var accessRevisionValue: Int?
    /// Every stored byte of the video (the file, renditions, pictures), counted against the owner's quota.
    @OptionalField(key: "stored_bytes") public var storedBytes: Int64?
    /// Its tags as a JSON array (`VideoLimits.tags` normalizes them); `tags` reads them.
    @Field(key: "tags") public var tagsJSON: String

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
        self.storedBytes = size
        self.tagsJSON = "[]"
    }

    /// Its tags, in the owner's order.
    public var tags: [String] {
        get { VideoLimits.decodeTags(tagsJSON) }
        set { tagsJSON = VideoLimits.encodeTags(newValue) }
    }

    public var accessRevision: Int { accessRevisionValue ?? 0 }

    /// Makes every signed media URL handed out so far stop working (who may watch has changed).
    public func revokeMediaURLs() {
        accessRevisionValue = accessRevision + 1
    }

    /// Published HLS renditions, lowest first.
    public var renditions: [String] { (renditionList ?? "").split(separator: ",").map(String.init) }

    /// Whether its bytes can be played: processing is done, or the first HLS rendition is already published.
    public var isPlayable: Bool { status == .ready || (status == .processing && !renditions.isEmpty) }

    /// Every stored file and folder of this video, for deleting it.
    public func removeFiles(from storage: any MediaStorage) {
        for key in [mediaKey, thumbnailKey].compactMap({ $0 }) { storage.delete(key) }
        if let assetsKey { storage.deleteFolder(assetsKey) }
    }

    /// Bytes of every stored file and folder of this video (what its owner's quota counts).
    public func storedFiles(in storage: any MediaStorage) async -> Int64 {
        var total: Int64 = 0
        for key in [mediaKey, thumbnailKey].compactMap({ $0 }) { total += await storage.describe(key)?.size ?? 0 }
        if let assetsKey { total += await storage.storedSize(ofFolder: assetsKey) }
        return total
    }

    /// Whether anyone may stream it by link: playable, not private, not taken down.
    public var isStreamable: Bool { isPlayable && visibility != .private && takedownReason == nil }
    /// Whether it appears in listings: ready and public.
    public var isListed: Bool { isStreamable && visibility == .public }
}
