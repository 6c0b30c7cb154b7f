import Fluent
import Foundation
import SQLKit

/// Likes and dislikes. A user has at most one rating per video (a unique pair); changing it is one conditional
/// statement on that row, and the counts are counted from the rows, so they stay exact under any number of
/// concurrent votes on any number of nodes.
public struct RatingService: Sendable {
    public let db: any Database

    public init(db: any Database) { self.db = db }

    public struct Counts: Sendable, Equatable {
        public var likes = 0
        public var dislikes = 0

        public init(likes: Int = 0, dislikes: Int = 0) {
            self.likes = likes
            self.dislikes = dislikes
        }
    }

    /// Sets `user`'s rating of a video (none removes it).
    public func rate(videoID: Int, userID: Int, _ rating: VideoRating.Value) async throws {
        let sql = try db.sql()
        guard let number = rating.number else {
            try await sql.delete(from: VideoRating.schema).where("video_id", .equal, videoID).where("user_id", .equal, userID).run()
            return
        }
        // An insert that a concurrent one beat is an update of that row: the pair is unique.
        try await sql.insert(into: VideoRating.schema)
            .columns("video_id", "user_id", "value", "updated_at")
            .values(SQLBind(videoID), SQLBind(userID), SQLBind(number), SQLBind(Date()))
            .onConflict(with: ["video_id", "user_id"]) { $0.set(excludedValueOf: "value").set(excludedValueOf: "updated_at") }
            .run()
    }

    /// A user's rating of a video.
    public func rating(videoID: Int, userID: Int) async throws -> VideoRating.Value {
        struct Row: Decodable { var value: Int }
        let row = try await db.sql().select().column("value").from(VideoRating.schema)
            .where("video_id", .equal, videoID).where("user_id", .equal, userID).first(decoding: Row.self)
        return VideoRating.Value(number: row?.value)
    }

    /// Likes and dislikes of some videos (absent: none yet), counted in one grouped query.
    public func counts(videoIDs: [Int]) async throws -> [Int: Counts] {
        guard !videoIDs.isEmpty else { return [:] }
        struct Row: Decodable {
            var video_id: Int
            var value: Int
            var n: Int
        }
        let rows = try await db.sql().raw(
            "SELECT video_id, value, COUNT(*) AS n FROM video_ratings WHERE video_id IN (\(binds: videoIDs)) GROUP BY video_id, value"
        ).all(decoding: Row.self)
        var counts: [Int: Counts] = [:]
        for row in rows {
            if row.value > 0 { counts[row.video_id, default: Counts()].likes = row.n } else { counts[row.video_id, default: Counts()].dislikes = row.n }
        }
        return counts
    }

    /// Each channel's rating: likes minus dislikes over its listed videos (channels without votes are absent).
    public func channelRatings() async throws -> [Int: Int] {
        struct Row: Decodable {
            var channel_id: Int
            var rating: Int
        }
        let rows = try await db.sql().raw(
            "SELECT videos.channel_id AS channel_id, CAST(SUM(video_ratings.value) AS BIGINT) AS rating FROM video_ratings"
                + " JOIN videos ON videos.id = video_ratings.video_id WHERE " + VideoRow.listed + " GROUP BY videos.channel_id"
        ).all(decoding: Row.self)
        return Dictionary(uniqueKeysWithValues: rows.map { ($0.channel_id, $0.rating) })
    }
}
