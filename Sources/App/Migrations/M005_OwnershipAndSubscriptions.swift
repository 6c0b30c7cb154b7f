import Fluent
import SQLKit

/// 005: channel owners and settings, video takedowns, subscriptions and counted views.
struct M005_OwnershipAndSubscriptions: AsyncMigration {
    func prepare(on database: any Database) async throws {
        // One column per ALTER TABLE: SQLite adds (and drops) columns one at a time.
        // `owner_id` has no foreign key: SQLite cannot drop a column that has one, and `revert` must work on
        // both databases. `AdminService.deleteUser` removes a user's channels itself.
        let added: [(String, DatabaseSchema.DataType, [DatabaseSchema.FieldConstraint])] = [
            ("owner_id", .int, []), ("banner_key", .string, []), ("thumbnail_key", .string, []),
            ("language", .string, [.required, .sql(.default(""))]), ("category", .string, [.required, .sql(.default(""))]),
            ("links", .string, [.required, .sql(.default(""))]),
        ]
        for (name, type, constraints) in added {
            try await database.schema(Channel.schema)
                .field(.definition(name: .key(.string(name)), dataType: type, constraints: constraints)).update()
        }
        try await database.schema(Video.schema)
            .field("takedown_reason", .string)
            .update()
        try await database.schema(Subscription.schema)
            .field("id", .int, .identifier(auto: true))
            .field("user_id", .int, .required, .references(User.schema, "id", onDelete: .cascade))
            .field("channel_id", .int, .required, .references(Channel.schema, "id", onDelete: .cascade))
            .field("created_at", .datetime, .required)
            .unique(on: "user_id", "channel_id")
            .create()
        try await database.schema(VideoView.schema)
            .field("id", .int, .identifier(auto: true))
            .field("video_id", .int, .required, .references(Video.schema, "id", onDelete: .cascade))
            .field("viewer", .string, .required)
            .field("hour", .int, .required)
            .field("created_at", .datetime, .required)
            .unique(on: "video_id", "viewer", "hour")
            .create()
        guard let sql = database as? any SQLDatabase else { return }
        try await sql.create(index: "channels_owner_id_idx").on(Channel.schema).column("owner_id").run()
        try await sql.create(index: "subscriptions_channel_id_idx").on(Subscription.schema).column("channel_id").run()
        try await sql.create(index: "video_views_created_at_idx").on(VideoView.schema).column("created_at").run()
    }

    func revert(on database: any Database) async throws {
        try await database.schema(VideoView.schema).delete()
        try await database.schema(Subscription.schema).delete()
        try await database.schema(Video.schema).deleteField("takedown_reason").update()
        if let sql = database as? any SQLDatabase {
            try await sql.drop(index: "channels_owner_id_idx").run()
        }
        for name in ["links", "category", "language", "thumbnail_key", "banner_key", "owner_id"] {
            try await database.schema(Channel.schema).deleteField(.string(name)).update()
        }
    }
}
