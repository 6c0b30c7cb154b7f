import Fluent
import SQLKit

/// 004: users, their sessions and API tokens, and failed sign-ins for rate limiting.
struct M004_CreateAccounts: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema(User.schema)
            .field("id", .int, .identifier(auto: true))
            .field("username", .string, .required)
            .field("email", .string, .required)
            .field("password_hash", .string, .required)
            .field("role", .string, .required)
            .field("disabled", .bool, .required)
            .field("last_login_at", .datetime)
            .field("created_at", .datetime, .required)
            .unique(on: "username")
            .unique(on: "email")
            .create()
        try await database.schema(UserSession.schema)
            .field("id", .int, .identifier(auto: true))
            .field("user_id", .int, .required, .references(User.schema, "id", onDelete: .cascade))
            .field("token_hash", .string, .required)
            .field("expires_at", .datetime, .required)
            .field("remote_address", .string)
            .field("user_agent", .string)
            .field("created_at", .datetime, .required)
            .unique(on: "token_hash")
            .create()
        try await database.schema(APIToken.schema)
            .field("id", .int, .identifier(auto: true))
            .field("user_id", .int, .required, .references(User.schema, "id", onDelete: .cascade))
            .field("token_hash", .string, .required)
            .field("name", .string, .required)
            .field("expires_at", .datetime, .required)
            .field("revoked_at", .datetime)
            .field("last_used_at", .datetime)
            .field("created_at", .datetime, .required)
            .unique(on: "token_hash")
            .create()
        try await database.schema("login_attempts")
            .field("id", .int, .identifier(auto: true))
            .field("subject", .string, .required)
            .field("created_at", .datetime, .required)
            .create()
        guard let sql = database as? any SQLDatabase else { return }
        try await sql.create(index: "user_sessions_user_id_idx").on(UserSession.schema).column("user_id").run()
        try await sql.create(index: "api_tokens_user_id_idx").on(APIToken.schema).column("user_id").run()
        try await sql.create(index: "login_attempts_subject_idx").on("login_attempts").column("subject").column("created_at").run()
    }

    func revert(on database: any Database) async throws {
        try await database.schema("login_attempts").delete()
        try await database.schema(APIToken.schema).delete()
        try await database.schema(UserSession.schema).delete()
        try await database.schema(User.schema).delete()
    }
}

