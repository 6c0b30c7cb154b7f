import Fluent
import SQLKit

/// 017: comments on videos (one level of replies), each video's comment policy, and reports of videos, comments
/// and channels for the admins' queue.
struct M017_Comments: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema(Video.schema).field("comments", .string, .required, .sql(.default("on"))).update()
        try await database.schema(Comment.schema)
            .field("id", .int, .identifier(auto: true))
            .field("video_id", .int, .required, .references(Video.schema, "id", onDelete: .cascade))
            .field("user_id", .int, .required, .references(User.schema, "id", onDelete: .cascade))
            .field("parent_id", .int, .references(Comment.schema, "id", onDelete: .cascade))
            .field("body", .string, .required)
            .field("held", .bool, .required)
            .field("approved", .bool, .required)
            .field("pinned", .bool, .required)
            .field("created_at", .datetime, .required)
            .field("edited_at", .datetime)
            .create()
        let sql = try database.sql()
        try await sql.create(index: "comments_video_idx").on(Comment.schema).column("video_id").column("parent_id").column("created_at").run()
        try await sql.create(index: "comments_parent_idx").on(Comment.schema).column("parent_id").run()
        try await sql.create(index: "comments_user_idx").on(Comment.schema).column("user_id").column("created_at").run()

        try await database.schema(Report.schema)
            .field("id", .int, .identifier(auto: true))
            .field("reporter_id", .int, .required, .references(User.schema, "id", onDelete: .cascade))
            .field("target_type", .string, .required)
            .field("target_id", .int, .required)
            .field("reason", .string, .required)
            .field("details", .string, .required)
            .field("status", .string, .required)
            .field("created_at", .datetime, .required)
            .field("resolved_at", .datetime)
            .field("resolved_by", .int, .references(User.schema, "id", onDelete: .setNull))
            .field("resolution", .string)
            .unique(on: "reporter_id", "target_type", "target_id")
            .create()
        try await sql.create(index: "reports_status_idx").on(Report.schema).column("status").column("created_at").run()
        try await sql.create(index: "reports_target_idx").on(Report.schema).column("target_type").column("target_id").run()
    }

    func revert(on database: any Database) async throws {
        try await database.schema(Report.schema).delete()
        try await database.schema(Comment.schema).delete()
        try await database.schema(Video.schema).deleteField("comments").update()
    }
}
