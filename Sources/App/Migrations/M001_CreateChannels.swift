import Fluent
import SQLKit

/// 001: channels, with a unique handle.
struct M001_CreateChannels: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema(Channel.schema)
            .field("id", .int, .identifier(auto: true))
            .field("handle", .string, .required)
            .field("name", .string, .required)
            .field("description", .string, .required)
            .field("logo_key", .string)
            .field("subscribers_count", .int, .required)
            .field("created_at", .datetime, .required)
            .unique(on: "handle")
            .create()
    }

    func revert(on database: any Database) async throws {
        try await database.schema(Channel.schema).delete()
    }
}
