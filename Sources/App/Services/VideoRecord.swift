import Fluent
import Foundation
import SQLKit
import SQLiteNIO

/// The read pattern for hot pages and listings: one SQL statement through SQLKit with the join, the filters and
/// the order in SQL, each row decoded into this plain value, and pages and JSON made from the value. No Fluent model
/// on the way: a profile of `/all_videos` spent most of its CPU in Fluent's models (a `Mirror` walk per row, and
/// generic metadata looked up on every property access). Fluent stays for writes and migrations; `VideoRow.model()`
/// makes one when a write follows a read.
public struct VideoRecord: Sendable, Decodable {
    /// The channel as a listing shows it.
    public struct ChannelSummary: Sendable {
        public var id: Int
        public var ownerID: Int?
        public var handle: String
        public var name: String
        public var logoKey: String?
        public var subscribersCount: Int
    }

    public var id: Int
    public var title: String
    public var description: String
    public var mediaKey: String
    public var thumbnailKey: String?
    public var duration: Double
    public var size: Int64
    public var width: Int
    public var height: Int
    public var mimeType: String
    public var videoCodec: String
    public var audioCodec: String?
    public var views: Int
    public var visibility: Visibility
    public var status: VideoStatus
    public var createdAt: Date
    public var takedownReason: String?
    public var renditions: [String]
    public var hasStoryboard: Bool
    public var accessRevision: Int
    public var tags: [String]
    public var channel: ChannelSummary

    public init(from decoder: any Decoder) throws {
        try self.init(row: VideoRow(from: decoder))
    }

    init(row r: VideoRow) {
        id = r.id
        title = r.title
        description = r.description
        mediaKey = r.media_key
        thumbnailKey = r.thumbnail_key
        duration = r.duration
        size = r.size
        width = r.width
        height = r.height
        mimeType = r.mime_type
        videoCodec = r.video_codec
        audioCodec = r.audio_codec
        views = r.views
        visibility = r.visibility
        status = r.status
        createdAt = r.created_at
        takedownReason = r.takedown_reason
        renditions = (r.renditions ?? "").split(separator: ",").map(String.init)
        hasStoryboard = r.has_storyboard ?? false
        accessRevision = r.access_revision ?? 0
        tags = VideoLimits.decodeTags(r.tags)
        channel = ChannelSummary(
            id: r.channel_id, ownerID: r.c_owner_id, handle: r.c_handle, name: r.c_name, logoKey: r.c_logo_key,
            subscribersCount: r.c_subscribers_count)
    }
}

/// One row of `VideoRow.select`, as the columns are named.
struct VideoRow: Decodable, Sendable {
    var id: Int
    var channel_id: Int
    var title: String
    var description: String
    var media_key: String
    var thumbnail_key: String?
    var duration: Double
    var size: Int64
    var width: Int
    var height: Int
    var mime_type: String
    var video_codec: String
    var audio_codec: String?
    var views: Int
    var visibility: Visibility
    var status: VideoStatus
    var created_at: Date
    var takedown_reason: String?
    var assets_key: String?
    var renditions: String?
    var has_storyboard: Bool?
    var failure_reason: String?
    var access_revision: Int?
    var stored_bytes: Int64?
    var tags: String?
    // the channel's, joined
    var c_owner_id: Int?
    var c_handle: String
    var c_name: String
    var c_description: String
    var c_logo_key: String?
    var c_banner_key: String?
    var c_thumbnail_key: String?
    var c_language: String
    var c_category: String
    var c_links: String
    var c_subscribers_count: Int
    var c_created_at: Date
    var c_is_demo: Bool?

    /// The select list and join every video read uses: `FROM videos JOIN channels`.
    static let select: SQLQueryString = """
        SELECT videos.id, videos.channel_id, videos.title, videos.description, videos.media_key, videos.thumbnail_key,
          videos.duration, videos.size, videos.width, videos.height, videos.mime_type, videos.video_codec, videos.audio_codec,
          videos.views, videos.visibility, videos.status, videos.created_at, videos.takedown_reason, videos.assets_key,
          videos.renditions, videos.has_storyboard, videos.failure_reason, videos.access_revision, videos.stored_bytes,
          videos.tags,
          channels.owner_id AS c_owner_id, channels.handle AS c_handle, channels.name AS c_name,
          channels.description AS c_description, channels.logo_key AS c_logo_key, channels.banner_key AS c_banner_key,
          channels.thumbnail_key AS c_thumbnail_key, channels.language AS c_language, channels.category AS c_category,
          channels.links AS c_links, channels.subscribers_count AS c_subscribers_count, channels.created_at AS c_created_at,
          channels.is_demo AS c_is_demo
        FROM videos JOIN channels ON channels.id = videos.channel_id
        """

    /// What a listing shows: public, ready, not taken down.
    static let listed: SQLQueryString =
        "videos.visibility = 'public' AND videos.status = 'ready' AND videos.takedown_reason IS NULL"

    /// The video, with its channel set (the channel's owner is not loaded).
    func model() -> Video {
        let channel = Channel()
        channel.id = channel_id
        channel.$id.exists = true
        channel.$owner.id = c_owner_id
        channel.handle = c_handle
        channel.name = c_name
        channel.description = c_description
        channel.logoKey = c_logo_key
        channel.bannerKey = c_banner_key
        channel.thumbnailKey = c_thumbnail_key
        channel.language = c_language
        channel.category = c_category
        channel.linksText = c_links
        channel.subscribersCount = c_subscribers_count
        channel.createdAt = c_created_at
        channel.isDemo = c_is_demo

        let video = Video()
        video.id = id
        video.$id.exists = true
        video.$channel.id = channel_id
        video.$channel.value = channel
        video.title = title
        video.description = description
        video.mediaKey = media_key
        video.thumbnailKey = thumbnail_key
        video.duration = duration
        video.size = size
        video.width = width
        video.height = height
        video.mimeType = mime_type
        video.videoCodec = video_codec
        video.audioCodec = audio_codec
        video.views = views
        video.visibility = visibility
        video.status = status
        video.createdAt = created_at
        video.takedownReason = takedown_reason
        video.assetsKey = assets_key
        video.renditionList = renditions
        video.hasStoryboard = has_storyboard
        video.failureReason = failure_reason
        video.accessRevisionValue = access_revision
        video.storedBytes = stored_bytes
        video.tagsJSON = tags ?? "[]"
        return video
    }
}

/// `COUNT(*)` as a row (PostgreSQL answers BIGINT, SQLite INTEGER; both decode as `Int`).
struct CountRow: Decodable {
    var count: Int
}

extension Video {
    /// This video as listings see it (its channel loaded): DTOs and cards are made from records only.
    var record: VideoRecord {
        let channel = self.channel
        return VideoRecord(
            row: VideoRow(
                id: id ?? 0, channel_id: $channel.id, title: title, description: description, media_key: mediaKey,
                thumbnail_key: thumbnailKey, duration: duration, size: size, width: width, height: height, mime_type: mimeType,
                video_codec: videoCodec, audio_codec: audioCodec, views: views, visibility: visibility, status: status,
                created_at: createdAt, takedown_reason: takedownReason, assets_key: assetsKey, renditions: renditionList,
                has_storyboard: hasStoryboard, failure_reason: failureReason, access_revision: accessRevisionValue,
                stored_bytes: storedBytes, tags: tagsJSON, c_owner_id: channel.$owner.id, c_handle: channel.handle, c_name: channel.name,
                c_description: channel.description, c_logo_key: channel.logoKey, c_banner_key: channel.bannerKey,
                c_thumbnail_key: channel.thumbnailKey, c_language: channel.language, c_category: channel.category,
                c_links: channel.linksText, c_subscribers_count: channel.subscribersCount, c_created_at: channel.createdAt,
                c_is_demo: channel.isDemo))
    }
}

extension VideoRow {
    /// The same row read straight from SQLite's columns: no `Decoder` per value, which a profile showed to be a
    /// third of a listing's CPU on SQLite. (PostgreSQL rows go through SQLKit's decoder.)
    init?(sqlite row: SQLiteRow) {
        func text(_ name: String) -> String? { row.column(name).flatMap { $0.isNull ? nil : String(sqliteData: $0) } }
        func int(_ name: String) -> Int? { row.column(name).flatMap { $0.isNull ? nil : Int(sqliteData: $0) } }
        func date(_ name: String) -> Date? { row.column(name).flatMap { Date(sqliteData: $0) } }
        guard let id = int("id"), let channelID = int("channel_id"), let title = text("title"), let description = text("description"),
            let mediaKey = text("media_key"), let duration = row.column("duration")?.double, let size = int("size"),
            let width = int("width"), let height = int("height"), let mimeType = text("mime_type"), let videoCodec = text("video_codec"),
            let views = int("views"), let visibility = text("visibility").flatMap(Visibility.init(rawValue:)),
            let status = text("status").flatMap(VideoStatus.init(rawValue:)), let createdAt = date("created_at"),
            let handle = text("c_handle"), let name = text("c_name"), let channelDescription = text("c_description"),
            let language = text("c_language"), let category = text("c_category"), let links = text("c_links"),
            let subscribers = int("c_subscribers_count"), let channelCreatedAt = date("c_created_at")
        else { return nil }
        self.init(
            id: id, channel_id: channelID, title: title, description: description, media_key: mediaKey,
            thumbnail_key: text("thumbnail_key"),
            duration: duration, size: Int64(size), width: width, height: height, mime_type: mimeType, video_codec: videoCodec,
            audio_codec: text("audio_codec"), views: views, visibility: visibility, status: status, created_at: createdAt,
            takedown_reason: text("takedown_reason"), assets_key: text("assets_key"), renditions: text("renditions"),
            has_storyboard: row.column("has_storyboard")?.bool, failure_reason: text("failure_reason"),
            access_revision: int("access_revision"),
            stored_bytes: int("stored_bytes").map(Int64.init), tags: text("tags"), c_owner_id: int("c_owner_id"), c_handle: handle, c_name: name,
            c_description: channelDescription, c_logo_key: text("c_logo_key"), c_banner_key: text("c_banner_key"),
            c_thumbnail_key: text("c_thumbnail_key"), c_language: language, c_category: category, c_links: links,
            c_subscribers_count: subscribers, c_created_at: channelCreatedAt, c_is_demo: row.column("c_is_demo")?.bool)
    }
}
