import Fluent
import SQLKit

/// 015: likes and dislikes, one row per user and video.
struct M015_VideoRatings: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema(VideoRating.schema)
            .field("id", .int, .identifier(auto: true))
            .field("video_id", .int, .required, .references(Video.schema, "id", onDelete: .cascade))
            .field("user_id", .int, .required, .references(User.schema, "id", onDelete: .cascade))
            .field("value", .int, .required)
            .field("updated_at", .datetime, .required)
            .unique(on: "video_id", "user_id")
            .create()
        try await database.sql().create(index: "video_ratings_video_value_idx").on(VideoRating.schema).column("video_id").column("value")
            .run()
    }

    func revert(on database: any Database) async throws {
        try await database.schema(VideoRating.schema).delete()
    }
}
