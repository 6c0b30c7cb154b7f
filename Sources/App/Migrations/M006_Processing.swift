import Fluent
import SQLKit

/// 006: the processing pipeline — video assets (HLS folder, renditions, storyboard), the job queue, and
/// resumable (tus) uploads.
struct M006_Processing: AsyncMigration {
    func prepare(on database: any Database) async throws {
        // One column per ALTER TABLE: SQLite adds (and drops) columns one at a time.
        for (name, type) in [("assets_key", DatabaseSchema.DataType.string), ("renditions", .string),
            ("has_storyboard", .bool), ("failure_reason", .string)]
        {
            try await database.schema(Video.schema).field(.string(name), type).update()
        }
        try await database.schema(ProcessingJob.schema)
            .field("id", .int, .identifier(auto: true))
            .field("video_id", .int, .required, .references(Video.schema, "id", onDelete: .cascade))
            .field("kind", .string, .required)
            .field("state", .string, .required)
            .field("attempts", .int, .required)
            .field("max_attempts", .int, .required)
            .field("stage", .string, .required)
            .field("progress", .double, .required)
            .field("done_steps", .string, .required)
            .field("error", .string)
            .field("claim_token", .string)
            .field("node", .string)
            .field("heartbeat_at", .datetime)
            .field("run_after", .datetime, .required)
            .field("created_at", .datetime, .required)
            .field("finished_at", .datetime)
            .unique(on: "video_id", "kind")
            .create()
        try await database.schema(Upload.schema)
            .field("id", .string, .identifier(auto: false))
            .field("user_id", .int, .required, .references(User.schema, "id", onDelete: .cascade))
            .field("channel_id", .int, .required, .references(Channel.schema, "id", onDelete: .cascade))
            .field("filename", .string, .required)
            .field("title", .string, .required)
            .field("description", .string, .required)
            .field("length", .int64, .required)
            .field("offset", .int64, .required)
            .field("file_key", .string, .required)
            .field("video_id", .int)
            .field("created_at", .datetime, .required)
            .field("expires_at", .datetime, .required)
            .create()
        guard let sql = database as? any SQLDatabase else { return }
        try await sql.create(index: "processing_jobs_state_idx").on(ProcessingJob.schema).column("state").column("run_after").run()
        try await sql.create(index: "uploads_user_id_idx").on(Upload.schema).column("user_id").run()
    }

    func revert(on database: any Database) async throws {
        try await database.schema(Upload.schema).delete()
        try await database.schema(ProcessingJob.schema).delete()
        for name in ["failure_reason", "has_storyboard", "renditions", "assets_key"] {
            try await database.schema(Video.schema).deleteField(.string(name)).update()
        }
    }
}
