import Fluent
import SQLKit

/// 002: videos, with the indexes the listings sort and filter by (built by SQLKit for either dialect).
struct M002_CreateVideos: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema(Video.schema)
            .field("id", .int, .identifier(auto: true))
            .field("channel_id", .int, .required, .references(Channel.schema, "id", onDelete: .cascade))
            .field("title", .string, .required)
            .field("description", .string, .required)
            .field("media_key", .string, .required)
            .field("thumbnail_key", .string)
            .field("duration", .double, .required)
            .field("size", .int64, .required)
            .field("width", .int, .required)
            .field("height", .int, .required)
            .field("mime_type", .string, .required)
            .field("video_codec", .string, .required)
            .field("audio_codec", .string)
            .field("views", .int, .required)
            .field("visibility", .string, .required)
            .field("status", .string, .required)
            .field("created_at", .datetime, .required)
            .create()
        guard let sql = database as? any SQLDatabase else { return }
        try await sql.create(index: "videos_channel_id_idx").on(Video.schema).column("channel_id").run()
        try await sql.create(index: "videos_created_at_idx").on(Video.schema).column("created_at").run()
        try await sql.create(index: "videos_views_idx").on(Video.schema).column("views").run()
    }

    func revert(on database: any Database) async throws {
        try await database.schema(Video.schema).delete()
    }
}
