import Fluent
import SQLKit

/// 008: sign-in throttles counted atomically per account, quota reservations for uploads in flight, what each
/// video stores in all, a revision that signed media URLs carry, and a live heartbeat.
struct M008_SecurityHardening: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema(LoginThrottle.schema)
            .field("subject", .string, .required)
            .field("window_start", .int64, .required)
            .field("failures", .int, .required)
            .unique(on: "subject")
            .create()
        try await database.schema("login_attempts").delete()
        try await database.schema(QuotaReservation.schema)
            .field("id", .string, .identifier(auto: false))
            .field("user_id", .int, .required, .references(User.schema, "id", onDelete: .cascade))
            .field("bytes", .int64, .required)
            .field("expires_at", .datetime, .required)
            .create()
        // One column per ALTER TABLE: SQLite adds (and drops) columns one at a time.
        try await database.schema(Video.schema).field("access_revision", .int).update()
        try await database.schema(Video.schema).field("stored_bytes", .int64).update()
        try await database.schema(Channel.schema).field("live_seen_at", .datetime).update()
        guard let sql = database as? any SQLDatabase else { return }
        try await sql.update(Video.schema).set(SQLIdentifier("stored_bytes"), to: SQLIdentifier("size")).run()
        try await sql.create(index: "quota_reservations_user_id_idx").on(QuotaReservation.schema).column("user_id").run()
    }

    func revert(on database: any Database) async throws {
        try await database.schema(Channel.schema).deleteField("live_seen_at").update()
        try await database.schema(Video.schema).deleteField("stored_bytes").update()
        try await database.schema(Video.schema).deleteField("access_revision").update()
        try await database.schema(QuotaReservation.schema).delete()
        try await database.schema("login_attempts")
            .field("id", .int, .identifier(auto: true))
            .field("subject", .string, .required)
            .field("created_at", .datetime, .required)
            .create()
        if let sql = database as? any SQLDatabase {
            try await sql.create(index: "login_attempts_subject_idx").on("login_attempts").column("subject").column("created_at").run()
        }
        try await database.schema(LoginThrottle.schema).delete()
    }
}
