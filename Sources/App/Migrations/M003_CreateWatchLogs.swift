import Fluent
import SQLKit

/// 003: the watch log, one row per playback request.
struct M003_CreateWatchLogs: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema("watch_logs")
            .field("id", .int, .identifier(auto: true))
            .field("video_id", .int, .required, .references(Video.schema, "id", onDelete: .cascade))
            .field("user_id", .int)
            .field("remote_address", .string)
            .field("user_agent", .string)
            .field("source", .string, .required)
            .field("status", .int, .required)
            .field("created_at", .datetime, .required)
            .create()
        guard let sql = database as? any SQLDatabase else { return }
        try await sql.create(index: "watch_logs_video_id_idx").on("watch_logs").column("video_id").run()
        try await sql.create(index: "watch_logs_created_at_idx").on("watch_logs").column("created_at").run()
    }

    func revert(on database: any Database) async throws {
        try await database.schema("watch_logs").delete()
    }
}
