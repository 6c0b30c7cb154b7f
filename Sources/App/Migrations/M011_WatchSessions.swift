import Fluent
import SQLKit

/// 011: the watch log records playback sessions (one row per viewer, video or live channel, and source, updated
/// while it lasts) instead of a row per request; rows already logged are kept, each as a one-request session.
struct M011_WatchSessions: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema(WatchSession.schema)
            .field("id", .int, .identifier(auto: true))
            .field("session_key", .string, .required)
            .field("video_id", .int, .references(Video.schema, "id", onDelete: .cascade))
            .field("channel_id", .int, .references(Channel.schema, "id", onDelete: .cascade))
            .field("user_id", .int)
            .field("remote_address", .string)
            .field("user_agent", .string)
            .field("source", .string, .required)
            .field("status", .int, .required)
            .field("started_at", .datetime, .required)
            .field("last_seen_at", .datetime, .required)
            .field("requests", .int, .required)
            .field("bytes", .int64, .required)
            .unique(on: "session_key")
            .create()
        let sql = try database.sql()
        try await sql.create(index: "watch_sessions_started_at_idx").on(WatchSession.schema).column("started_at").run()
        try await sql.create(index: "watch_sessions_video_id_idx").on(WatchSession.schema).column("video_id").run()
        try await sql.create(index: "watch_sessions_channel_id_idx").on(WatchSession.schema).column("channel_id").run()
        try await sql.raw(
            """
            INSERT INTO watch_sessions (session_key, video_id, user_id, remote_address, user_agent, source, status,
              started_at, last_seen_at, requests, bytes)
            SELECT 'request-' || CAST(id AS TEXT), video_id, user_id, remote_address, user_agent, source, status,
              created_at, created_at, 1, 0
            FROM watch_logs
            """
        ).run()
        try await database.schema("watch_logs").delete()
    }

    func revert(on database: any Database) async throws {
        try await M003_CreateWatchLogs().prepare(on: database)
        try await database.schema(WatchSession.schema).delete()
    }
}
