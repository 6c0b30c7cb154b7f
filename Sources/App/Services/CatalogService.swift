import Fluent
import Foundation

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

    public init(db: any Database) { self.db = db }

    public func listedVideos(channelID: Int? = nil, sort: VideoSort = .newest, page: Int = 1, perPage: Int = 24) async throws -> Paged<Video> {
        try await listedVideos(channelIDs: channelID.map { [$0] }, sort: sort, page: page, perPage: perPage)
    }

    /// Listed videos of some channels (all when nil).
    public func listedVideos(channelIDs: [Int]?, sort: VideoSort = .newest, page: Int = 1, perPage: Int = 24) async throws -> Paged<Video> {
        var query = Video.query(on: db)
            .filter(\.$visibility == .public)
            .filter(\.$status == .ready)
            .filter(\.$takedownReason == nil)
            .with(\.$channel)
        if let channelIDs { query = query.filter(\.$channel.$id ~~ channelIDs) }
        let total = try await query.count()
        switch sort {
        case .newest: query = query.sort(\.$createdAt, .descending)
        case .views: query = query.sort(\.$views, .descending)
        }
        let items = try await query.sort(\.$id, .descending).range(((page - 1) * perPage)..<(page * perPage)).all()
        return Paged(items: items, page: page, perPage: perPage, total: total)
    }

    /// A video `viewer` may watch, with its channel: anyone's when streamable by link, a private one for its
    /// owner and admins; nil (a 404, so a stranger cannot tell it exists) otherwise.
    public func watchableVideo(id: Int, viewer: User?) async throws -> Video? {
        guard let video = try await Video.query(on: db).filter(\.$id == id).with(\.$channel).first(),
            Policy.canWatch(video, by: viewer)
        else { return nil }
        return video
    }

    /// Any video by id with its channel, whatever its state (for owners' and admins' edits).
    public func anyVideo(id: Int) async throws -> Video? {
        try await Video.query(on: db).filter(\.$id == id).with(\.$channel).first()
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

    /// Listed videos per channel, for the channel list.
    public func listedVideoCount(channelID: Int) async throws -> Int {
        try await Video.query(on: db).filter(\.$channel.$id == channelID).filter(\.$visibility == .public)
            .filter(\.$status == .ready).filter(\.$takedownReason == nil).count()
    }

    public func isEmpty() async throws -> Bool {
        let videos = try await Video.query(on: db).count()
        let channels = try await Channel.query(on: db).count()
        return videos == 0 && channels == 0
    }
}
