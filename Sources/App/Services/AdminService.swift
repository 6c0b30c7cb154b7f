import Fluent
import Foundation
import Media
import Vapor

/// What administrators do: totals, user moderation, takedowns, and reading the watch log.
public struct AdminService: Sendable {
    public let db: any Database
    public let storage: any MediaStorage
    /// Told when a takedown or restore revokes a video's signed URLs.
    public let revisions: MediaRevisions?

    public init(db: any Database, storage: any MediaStorage, revisions: MediaRevisions? = nil) {
        self.db = db
        self.storage = storage
        self.revisions = revisions
    }

    public struct Totals: Sendable {
        public var users, admins, disabled, channels, videos, privateVideos, takenDown, subscriptions, views, watchLog: Int
        public var openReports, comments, heldComments: Int
        /// Demo channels and their videos, whose made-up counts are in none of the totals above.
        public var demoChannels, demoVideos: Int
    }

    public func totals() async throws -> Totals {
        // Summed here rather than by SUM(), which PostgreSQL answers as NUMERIC and SQLite as INTEGER.
        // Demo content (made-up views and subscribers) is counted apart.
        func videos() -> QueryBuilder<Video> {
            Video.query(on: db).join(Channel.self, on: \Video.$channel.$id == \Channel.$id).filter(Channel.self, \.$isDemo == false)
        }
        let views = try await videos().all(\.$views).reduce(0, +)
        let channels = try await Channel.query(on: db).count()
        let realChannels = try await Channel.query(on: db).filter(\.$isDemo == false).count()
        let realVideos = try await videos().count()
        return Totals(
            users: try await User.query(on: db).count(),
            admins: try await User.query(on: db).filter(\.$role == .admin).count(),
            disabled: try await User.query(on: db).filter(\.$disabled == true).count(),
            channels: realChannels,
            videos: realVideos,
            privateVideos: try await videos().filter(\.$visibility == .private).count(),
            takenDown: try await videos().filter(\.$takedownReason != nil).count(),
            subscriptions: try await Subscription.query(on: db).count(),
            views: views,
            watchLog: try await WatchSession.query(on: db).count(),
            openReports: try await Report.query(on: db).filter(\.$status == .open).count(),
            comments: try await Comment.query(on: db).count(),
            heldComments: try await Comment.query(on: db).filter(\.$held == true).count(),
            demoChannels: channels - realChannels,
            demoVideos: try await Video.query(on: db).count() - realVideos)
    }

    /// Disabling ends the user's sessions and tokens at once.
    public func user(id: Int) async throws -> User? { try await User.find(id, on: db) }

    /// Users whose name or e-mail contains `query` (all when empty), oldest first, at most `limit`.
    public func users(matching query: String, limit: Int = 200) async throws -> [User] {
        var users = User.query(on: db).sort(\.$id)
        if !query.isEmpty { users = users.group(.or) { $0.filter(\.$username ~~ query).filter(\.$email ~~ query) } }
        return try await users.limit(limit).all()
    }

    /// One page of every video, newest first, with its channel.
    public func videos(_ window: PageWindow) async throws -> (items: [Video], total: Int) {
        let query = Video.query(on: db).with(\.$channel)
        let total = try await query.count()
        return (try await query.sort(\.$createdAt, .descending).sort(\.$id, .descending).range(window.rows).all(), total)
    }

    public func setDisabled(_ user: User, _ disabled: Bool, accounts: AccountService) async throws {
        user.disabled = disabled
        try await user.save(on: db)
        if disabled { try await accounts.signOutEverywhere(userID: try user.requireID()) }
    }

    public func setRole(_ user: User, _ role: Role) async throws {
        user.role = role
        try await user.save(on: db)
    }

    /// Deletes a user with their channels (and those channels' videos and files). Their subscriptions go too,
    /// each one taken off its channel's count.
    public func deleteUser(_ user: User) async throws {
        let id = try user.requireID()
        let channels = ChannelService(db: db, storage: storage)
        for channel in try await Channel.query(on: db).filter(\.$owner.$id == id).all() {
            try await channels.delete(channel)
        }
        let subscriptions = SubscriptionService(db: db)
        for channelID in try await Subscription.query(on: db).filter(\.$user.$id == id).all(\.$channel.$id) {
            try await subscriptions.unsubscribe(userID: id, channelID: channelID)
        }
        try await user.delete(on: db)
    }

    public func takeDown(_ video: Video, reason: String) async throws {
        let reason = reason.trimmingCharacters(in: .whitespacesAndNewlines)
        video.takedownReason = reason.isEmpty ? "Removed by an administrator." : String(reason.prefix(500))
        video.revokeMediaURLs()
        try await video.save(on: db)
        revisions?.note(video)
    }

    public func restore(_ video: Video) async throws {
        video.takedownReason = nil
        video.revokeMediaURLs()
        try await video.save(on: db)
        revisions?.note(video)
    }

    static let watchLogPageSize = 50

    /// Sessions, newest first, 50 a page, each with its video or live channel and its user.
    func watchLog(_ filter: WatchLogFilter) async throws -> (rows: [(WatchSession, User?)], total: Int) {
        var query = WatchSession.query(on: db).with(\.$video).with(\.$channel)
        if let video = filter.video { query = query.filter(\.$video.$id == video) }
        if let name = filter.user?.trimmingCharacters(in: .whitespaces).lowercased(), !name.isEmpty {
            let id = try await User.query(on: db).filter(\.$username == name).first()?.id ?? -1
            query = query.filter(\.$userID == id)
        }
        if let name = filter.source, !name.isEmpty {
            guard let source = WatchSession.Source(rawValue: name) else { return ([], 0) }
            query = query.filter(\.$source == source)
        }
        if let status = filter.status { query = query.filter(\.$status == status) }
        if let from = filter.from.flatMap(Self.day) { query = query.filter(\.$startedAt >= from) }
        if let to = filter.to.flatMap(Self.day) { query = query.filter(\.$startedAt < to.addingTimeInterval(86400)) }
        let total = try await query.count()
        let window = PageWindow(page: filter.page, perPage: Self.watchLogPageSize)
        let entries = try await query.sort(\.$startedAt, .descending).sort(\.$id, .descending).range(window.rows).all()
        let userIDs = Set(entries.compactMap(\.userID))
        let users = userIDs.isEmpty ? [:] : Dictionary(
            uniqueKeysWithValues: try await User.query(on: db).filter(\.$id ~~ Array(userIDs)).all().map { ($0.id!, $0) })
        return (entries.map { ($0, $0.userID.flatMap { users[$0] }) }, total)
    }

    /// `YYYY-MM-DD` as the start of that day in UTC.
    static func day(_ text: String) -> Date? {
        guard !text.isEmpty else { return nil }
        return try? Date(text + "T00:00:00Z", strategy: .iso8601)
    }
}
