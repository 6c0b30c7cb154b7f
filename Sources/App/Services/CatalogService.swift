import Fluent
import Foundation
import SQLKit
import SQLiteKit
import SQLiteNIO
import Vapor

/// How listings are ordered.
public enum VideoSort: String, Codable, Sendable {
    case newest, views
}

/// One page of a listing and how many there are in all.
public struct Paged<Item: Sendable>: Sendable {
    public var items: [Item]
    public var page: Int
    public var perPage: Int
    public var total: Int
}

/// Reads channels and videos for pages and the API. Only listed videos appear in listings; a single video is
/// found when it may be streamed by link (ready and not private).
public struct CatalogService: Sendable {
    public let db: any Database
    /// When set (requests have it), listings are read once and shared until the catalog changes.
    let shared: SharedReads?

    public init(db: any Database) {
        self.db = db
        self.shared = nil
    }

    init(db: any Database, shared: SharedReads) {
        self.db = db
        self.shared = shared
    }

    public func listedVideos(channelID: Int? = nil, sort: VideoSort = .newest, page: Int = 1, perPage: Int = 24) async throws -> Paged<
        VideoRecord
    > {
        try await listedVideos(channelIDs: channelID.map { [$0] }, sort: sort, page: page, perPage: perPage)
    }

    /// Listed videos of some channels (all when nil): one statement for the page, one for the count (see
    /// `VideoRow` for why these reads skip Fluent's models).
    /// `replays`: only recordings of live broadcasts (true), only the rest (false), or both (nil).
    public func listedVideos(
        channelIDs: [Int]?, tag: String? = nil, replays: Bool? = nil, sort: VideoSort = .newest, page: Int = 1, perPage: Int = 24
    ) async throws -> Paged<VideoRecord> {
        if let channelIDs, channelIDs.isEmpty { return Paged(items: [], page: page, perPage: perPage, total: 0) }
        let read = { try await readListedVideos(channelIDs: channelIDs, tag: tag, replays: replays, sort: sort, page: page, perPage: perPage) }
        guard let shared else { return try await read() }
        let channels = channelIDs.map { $0.map(String.init).joined(separator: ",") } ?? "all"
        // A tag is the key's last part, so no tag can make the key of another listing.
        let key = "listed|\(channels)|\(replays.map(String.init) ?? "-")|\(sort.rawValue)|\(page)|\(perPage)|" + (tag.map { "#" + $0 } ?? "")
        return try await shared.value(key, on: db) { try await read() }
    }

    private func readListedVideos(channelIDs: [Int]?, tag: String?, replays: Bool?, sort: VideoSort, page: Int, perPage: Int)
        async throws -> Paged<VideoRecord>
    {
        let sql = try db.sql()
        let window = PageWindow(page: page, perPage: perPage)
        var filter: SQLQueryString = VideoRow.listed
        if let channelIDs { filter = filter + " AND videos.channel_id IN (\(binds: channelIDs))" }
        if let replays { filter = filter + " AND videos.id \(unsafeRaw: replays ? "IN" : "NOT IN") (SELECT video_id FROM chat_replays)" }
        if let tag { filter = filter + " AND videos.id IN (SELECT video_id FROM video_tags WHERE tag = \(bind: tag))" }
        let order: SQLQueryString =
            switch sort {
            case .newest: "videos.created_at DESC, videos.id DESC"
            case .views: "videos.views DESC, videos.id DESC"
            }
        let query =
            VideoRow.select + " WHERE " + filter + " ORDER BY " + order
            + " LIMIT \(unsafeRaw: String(window.perPage)) OFFSET \(unsafeRaw: String(window.offset))"
        let rows = try await records(query)
        let count = try await sql.raw("SELECT COUNT(*) AS count FROM videos WHERE " + filter).first(decoding: CountRow.self)
        return Paged(items: rows, page: page, perPage: perPage, total: count?.count ?? 0)
    }

    /// Listed videos other than `videoID` with any of `tags`, those sharing the most tags first, then the most watched.
    public func listedVideos(sharingTags tags: [String], with videoID: Int, limit: Int) async throws -> [VideoRecord] {
        guard !tags.isEmpty else { return [] }
        let query =
            VideoRow.select + " JOIN (SELECT video_id, COUNT(*) AS shared FROM video_tags WHERE tag IN (\(binds: tags))"
            + " AND video_id <> \(bind: videoID) GROUP BY video_id) t ON t.video_id = videos.id WHERE " + VideoRow.listed
            + " ORDER BY t.shared DESC, videos.views DESC, videos.id DESC LIMIT \(unsafeRaw: String(limit))"
        return try await records(query)
    }

    /// A video `viewer` may watch, with its channel: anyone's when streamable by link, a private one for its
    /// owner and admins; nil (a 404, so a stranger cannot tell it exists) otherwise.
    public func watchableVideo(id: Int, viewer: User?) async throws -> Video? {
        guard let video = try await video(id: id), Policy.canWatch(video, by: viewer) else { return nil }
        return video
    }

    /// The video by id with its channel, whoever may see it (callers check `Policy.canWatch`).
    func video(id: Int) async throws -> Video? {
        try await db.sql().raw(VideoRow.select + " WHERE videos.id = \(bind: id)").first(decoding: VideoRow.self)?.model()
    }

    /// The records a `VideoRow.select` query finds: on SQLite read straight from its rows, elsewhere through SQLKit.
    func records(_ query: SQLQueryString) async throws -> [VideoRecord] {
        let sql = try db.sql()
        guard let sqlite = db as? any SQLiteDatabase else { return try await sql.raw(query).all(decoding: VideoRecord.self) }
        let (text, binds) = sql.serialize(query)
        let values = try binds.map { try SQLiteDataEncoder().encode($0) }
        return try await sqlite.query(text, values).map { row in
            guard let record = VideoRow(sqlite: row) else { throw Abort(.internalServerError, reason: "a video row could not be read") }
            return VideoRecord(row: record)
        }
    }

    /// Any video by id with its channel, whatever its state (for owners' and admins' edits).
    public func anyVideo(id: Int) async throws -> Video? {
        try await Video.query(on: db).filter(\.$id == id).with(\.$channel).first()
    }

    /// Views of each channel's listed videos (channels without any are absent).
    public func viewsByChannel(_ channelID: Int? = nil) async throws -> [Int: Int] {
        struct Row: Decodable {
            var channel_id: Int
            var views: Int
        }
        let only: SQLQueryString = channelID.map { " AND channel_id = \(bind: $0)" } ?? ""
        let rows = try await db.sql().raw(
            "SELECT channel_id, CAST(SUM(views) AS BIGINT) AS views FROM videos WHERE " + VideoRow.listed + only + " GROUP BY channel_id"
        ).all(decoding: Row.self)
        return Dictionary(uniqueKeysWithValues: rows.map { ($0.channel_id, $0.views) })
    }

    /// Channels in a category.
    public func channels(category: String) async throws -> [Channel] {
        try await Channel.query(on: db).filter(\.$category == category).sort(\.$subscribersCount, .descending).sort(\.$id).all()
    }

    /// How many channels each category has (categories without any are absent).
    public func channelCountsByCategory() async throws -> [String: Int] {
        struct Row: Decodable {
            var category: String
            var n: Int
        }
        let rows = try await db.sql().raw("SELECT category, COUNT(*) AS n FROM channels WHERE category <> '' GROUP BY category")
            .all(decoding: Row.self)
        return Dictionary(uniqueKeysWithValues: rows.map { ($0.category, $0.n) })
    }

    public func channels() async throws -> [Channel] {
        try await Channel.query(on: db).with(\.$owner).sort(\.$subscribersCount, .descending).sort(\.$id).all()
    }

    public func channel(id: Int) async throws -> Channel? {
        try await Channel.query(on: db).filter(\.$id == id).with(\.$owner).first()
    }

    public func channel(handle: String) async throws -> Channel? {
        try await Channel.query(on: db).filter(\.$handle == handle.lowercased()).with(\.$owner).first()
    }

    /// The channels a user owns, oldest first.
    public func channels(ownedBy userID: Int) async throws -> [Channel] {
        try await Channel.query(on: db).filter(\.$owner.$id == userID).sort(\.$id).all()
    }

    /// Every video of the user's channels, whatever its state, newest first, with its channel.
    public func videos(ownedBy userID: Int, window: PageWindow? = nil) async throws -> (items: [Video], total: Int) {
        let channelIDs = try await Channel.query(on: db).filter(\.$owner.$id == userID).all(\.$id)
        let query = Video.query(on: db).filter(\.$channel.$id ~~ channelIDs).with(\.$channel)
        let total = try await query.count()
        let sorted = query.sort(\.$createdAt, .descending).sort(\.$id, .descending)
        let items = try await (window.map { sorted.range($0.rows) } ?? sorted).all()
        return (items, total)
    }

    /// Videos per channel in one query (`listedOnly`: only those that appear in listings), for channel lists.
    public func videoCounts(listedOnly: Bool) async throws -> [Int: Int] {
        guard let sql = db as? any SQLDatabase else { return [:] }
        struct Row: Decodable {
            var channel_id: Int
            var count: Int
        }
        var query = sql.select().column("channel_id").column(SQLFunction("COUNT", args: SQLLiteral.all), as: "count").from(Video.schema)
        if listedOnly {
            query = query.where("visibility", .equal, Visibility.public.rawValue).where("status", .equal, VideoStatus.ready.rawValue)
                .where("takedown_reason", .is, SQLLiteral.null)
        }
        let rows = try await query.groupBy("channel_id").all(decoding: Row.self)
        return Dictionary(rows.map { ($0.channel_id, $0.count) }, uniquingKeysWith: +)
    }

    /// Channels per owner in one query, for the admin's user list.
    public func channelCountsByOwner() async throws -> [Int: Int] {
        guard let sql = db as? any SQLDatabase else { return [:] }
        struct Row: Decodable {
            var owner_id: Int?
            var count: Int
        }
        let rows = try await sql.select().column("owner_id").column(SQLFunction("COUNT", args: SQLLiteral.all), as: "count")
            .from(Channel.schema).groupBy("owner_id").all(decoding: Row.self)
        return Dictionary(rows.compactMap { row in row.owner_id.map { ($0, row.count) } }, uniquingKeysWith: +)
    }

    /// Videos of one channel, whatever their state.
    public func videoCount(channelID: Int) async throws -> Int {
        try await Video.query(on: db).filter(\.$channel.$id == channelID).count()
    }

    public func isEmpty() async throws -> Bool {
        let videos = try await Video.query(on: db).count()
        let channels = try await Channel.query(on: db).count()
        return videos == 0 && channels == 0
    }
}
