import Fluent
import SQLKit

/// 007: live streaming — each channel's stream key, live state and broadcast settings.
struct M007_Live: AsyncMigration {
    static let fields: [(String, DatabaseSchema.DataType)] = [
        ("stream_key", .string), ("live_started_at", .datetime), ("live_title", .string), ("live_tags", .string),
        ("next_stream_text", .string), ("save_replays", .bool),
    ]

    func prepare(on database: any Database) async throws {
        // One column per ALTER TABLE: SQLite adds (and drops) columns one at a time.
        for (name, type) in Self.fields {
            try await database.schema(Channel.schema).field(.string(name), type).update()
        }
        guard let sql = database as? any SQLDatabase else { return }
        try await sql.create(index: "channels_stream_key_idx").on(Channel.schema).column("stream_key").unique().run()
    }

    func revert(on database: any Database) async throws {
        if let sql = database as? any SQLDatabase {
            try await sql.drop(index: "channels_stream_key_idx").run()
        }
        for (name, _) in Self.fields.reversed() {
            try await database.schema(Channel.schema).deleteField(.string(name)).update()
        }
    }
}
