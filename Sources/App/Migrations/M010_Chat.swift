import Fluent
import SQLKit

/// 010: live chat — messages (kept with the broadcast they belong to), each channel's chat settings, its
/// moderators, bans and time-outs, the moderation log, and which replay video a broadcast's chat belongs to.
struct M010_Chat: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema(ChatMessage.schema)
            .field("id", .int, .identifier(auto: true))
            .field("channel_id", .int, .required, .references(Channel.schema, "id", onDelete: .cascade))
            .field("user_id", .int, .required, .references(User.schema, "id", onDelete: .cascade))
            .field("text", .string, .required)
            .field("sent_at", .datetime, .required)
            .field("deleted_at", .datetime)
            .field("broadcast_started_at", .datetime)
            .create()
        try await database.schema(ChatSettings.schema)
            .field("channel_id", .int, .identifier(auto: false), .references(Channel.schema, "id", onDelete: .cascade))
            .field("slow_mode_seconds", .int, .required)
            .field("subscribers_only", .bool, .required)
            .field("blocked_words", .string, .required)
            .field("links_allowed", .bool, .required)
            .create()
        try await database.schema(ChannelModerator.schema)
            .field("id", .int, .identifier(auto: true))
            .field("channel_id", .int, .required, .references(Channel.schema, "id", onDelete: .cascade))
            .field("user_id", .int, .required, .references(User.schema, "id", onDelete: .cascade))
            .field("created_at", .datetime, .required)
            .unique(on: "channel_id", "user_id")
            .create()
        try await database.schema(ChatBan.schema)
            .field("id", .int, .identifier(auto: true))
            .field("channel_id", .int, .required, .references(Channel.schema, "id", onDelete: .cascade))
            .field("user_id", .int, .required, .references(User.schema, "id", onDelete: .cascade))
            .field("ends_at", .datetime)
            .field("created_by", .int)
            .field("created_at", .datetime, .required)
            .unique(on: "channel_id", "user_id")
            .create()
        try await database.schema(ChatModerationEntry.schema)
            .field("id", .int, .identifier(auto: true))
            .field("channel_id", .int, .required, .references(Channel.schema, "id", onDelete: .cascade))
            .field("moderator_id", .int)
            .field("action", .string, .required)
            .field("target_user_id", .int)
            .field("message_id", .int)
            .field("detail", .string, .required)
            .field("created_at", .datetime, .required)
            .create()
        try await database.schema(ChatReplay.schema)
            .field("video_id", .int, .identifier(auto: false), .references(Video.schema, "id", onDelete: .cascade))
            .field("channel_id", .int, .required, .references(Channel.schema, "id", onDelete: .cascade))
            .field("broadcast_started_at", .datetime, .required)
            .create()
        let sql = try database.sql()
        // History pages by channel, newest first; slow mode asks for one user's last line in a channel; a replay
        // reads one broadcast's lines.
        try await sql.create(index: "chat_messages_channel_idx").on(ChatMessage.schema).column("channel_id").column("id").run()
        try await sql.create(index: "chat_messages_user_idx").on(ChatMessage.schema).column("channel_id").column("user_id").column("id").run()
        try await sql.create(index: "chat_messages_broadcast_idx").on(ChatMessage.schema).column("channel_id").column("broadcast_started_at").run()
        try await sql.create(index: "chat_moderation_log_channel_idx").on(ChatModerationEntry.schema).column("channel_id").column("id").run()
    }

    func revert(on database: any Database) async throws {
        for schema in [ChatReplay.schema, ChatModerationEntry.schema, ChatBan.schema, ChannelModerator.schema, ChatSettings.schema, ChatMessage.schema] {
            try await database.schema(schema).delete()
        }
    }
}
