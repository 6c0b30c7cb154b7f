import Fluent
import Foundation
import SQLKit

/// Subscribing and the subscriptions feed. `subscribers_count` moves only together with a row: the unique
/// (user, channel) pair decides whether a subscribe or unsubscribe changed anything, and the count is changed
/// by `count = count ± 1` in the same transaction, so concurrent clicks on any number of nodes stay exact.
public struct SubscriptionService: Sendable {
    public let db: any Database

    public init(db: any Database) { self.db = db }

    /// Subscribes; returns false when already subscribed (nothing changes).
    @discardableResult
    public func subscribe(userID: Int, channelID: Int) async throws -> Bool {
        do {
            try await db.transaction { db in
                try await Subscription(userID: userID, channelID: channelID).create(on: db)
                try await Self.adjustCount(channelID: channelID, by: 1, on: db)
            }
            return true
        } catch let error as any DatabaseError where error.isConstraintFailure {
            return false
        }
    }

    /// Unsubscribes; returns false when not subscribed.
    @discardableResult
    public func unsubscribe(userID: Int, channelID: Int) async throws -> Bool {
        try await db.transaction { db in
            guard let row = try await Subscription.query(on: db).filter(\.$user.$id == userID).filter(\.$channel.$id == channelID).first()
            else { return false }
            // Deleting by id inside the transaction: a second concurrent unsubscribe deletes nothing and
            // must not decrement, so the count follows the rows actually removed.
            let sql = db as! any SQLDatabase
            let removed = try await sql.delete(from: Subscription.schema).where("id", .equal, row.requireID()).returning("id").all()
            guard !removed.isEmpty else { return false }
            try await Self.adjustCount(channelID: channelID, by: -1, on: db)
            return true
        }
    }

    public func isSubscribed(userID: Int, channelID: Int) async throws -> Bool {
        try await Subscription.query(on: db).filter(\.$user.$id == userID).filter(\.$channel.$id == channelID).count() > 0
    }

    /// The channels a user follows, most recently followed first.
    public func channels(userID: Int) async throws -> [Channel] {
        try await Subscription.query(on: db).filter(\.$user.$id == userID).sort(\.$createdAt, .descending).sort(\.$id, .descending)
            .with(\.$channel).all().map(\.channel)
    }

    /// Newest listed videos of the channels a user follows.
    public func feed(userID: Int, page: Int = 1, perPage: Int = 24) async throws -> Paged<VideoRecord> {
        let channelIDs = try await Subscription.query(on: db).filter(\.$user.$id == userID).all(\.$channel.$id)
        guard !channelIDs.isEmpty else { return Paged(items: [], page: page, perPage: perPage, total: 0) }
        return try await CatalogService(db: db).listedVideos(channelIDs: channelIDs, page: page, perPage: perPage)
    }

    static func adjustCount(channelID: Int, by delta: Int, on db: any Database) async throws {
        let sql = db as! any SQLDatabase
        try await sql.update(Channel.schema)
            .set(SQLIdentifier("subscribers_count"), to: SQLBinaryExpression(SQLIdentifier("subscribers_count"), delta > 0 ? .add : .subtract, SQLLiteral.numeric("\(abs(delta))")))
            .where("id", .equal, channelID)
            .run()
    }
}

