import Fluent
import SQLKit

/// 009: a catalog version that the database itself bumps on every change a listing shows, so each app node's
/// `SharedReads` knows when its stored pages went stale, whoever made the change. Counters that move all the
/// time (views, subscribers, the live heartbeat) do not bump it: shared pages show them at most a few seconds old.
struct M009_CatalogVersion: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema(CatalogState.schema)
            .field("id", .int, .identifier(auto: false))
            .field("version", .int64, .required)
            .create()
        let sql = try database.sql()
        try await sql.raw("INSERT INTO catalog_state (id, version) VALUES (1, 0)").run()
        if sql.dialect.name == "postgresql" {
            try await sql.raw("""
                CREATE FUNCTION videotube_catalog_changed() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN UPDATE catalog_state SET version = version + 1 WHERE id = 1; RETURN NULL; END $$
                """).run()
            for table in ["videos", "channels"] {
                try await sql.raw("""
                    CREATE TRIGGER \(unsafeRaw: table)_catalog_rows AFTER INSERT OR DELETE ON \(unsafeRaw: table)
                    FOR EACH STATEMENT EXECUTE FUNCTION videotube_catalog_changed()
                    """).run()
                try await sql.raw("""
                    CREATE TRIGGER \(unsafeRaw: table)_catalog_edits AFTER UPDATE ON \(unsafeRaw: table) FOR EACH ROW
                    WHEN (\(unsafeRaw: Self.unchangedCounters(table, distinct: "IS NOT DISTINCT FROM")))
                    EXECUTE FUNCTION videotube_catalog_changed()
                    """).run()
            }
        } else {
            for table in ["videos", "channels"] {
                for event in ["INSERT", "DELETE"] {
                    try await sql.raw("""
                        CREATE TRIGGER \(unsafeRaw: table)_catalog_\(unsafeRaw: event.lowercased()) AFTER \(unsafeRaw: event) ON \(unsafeRaw: table)
                        BEGIN UPDATE catalog_state SET version = version + 1 WHERE id = 1; END
                        """).run()
                }
                try await sql.raw("""
                    CREATE TRIGGER \(unsafeRaw: table)_catalog_update AFTER UPDATE ON \(unsafeRaw: table)
                    WHEN \(unsafeRaw: Self.unchangedCounters(table, distinct: "IS"))
                    BEGIN UPDATE catalog_state SET version = version + 1 WHERE id = 1; END
                    """).run()
            }
        }
    }

    /// An update counts unless it changed a counter: those change alone (`SET views = views + 1`, the heartbeat).
    static func unchangedCounters(_ table: String, distinct same: String) -> String {
        let counters = table == "videos" ? ["views"] : ["subscribers_count", "live_seen_at"]
        return counters.map { "OLD.\($0) \(same) NEW.\($0)" }.joined(separator: " AND ")
    }

    func revert(on database: any Database) async throws {
        let sql = try database.sql()
        if sql.dialect.name == "postgresql" {
            for table in ["videos", "channels"] {
                try await sql.raw("DROP TRIGGER IF EXISTS \(unsafeRaw: table)_catalog_rows ON \(unsafeRaw: table)").run()
                try await sql.raw("DROP TRIGGER IF EXISTS \(unsafeRaw: table)_catalog_edits ON \(unsafeRaw: table)").run()
            }
            try await sql.raw("DROP FUNCTION IF EXISTS videotube_catalog_changed()").run()
        } else {
            for table in ["videos", "channels"] {
                for suffix in ["insert", "delete", "update"] {
                    try await sql.raw("DROP TRIGGER IF EXISTS \(unsafeRaw: table)_catalog_\(unsafeRaw: suffix)").run()
                }
            }
        }
        try await database.schema(CatalogState.schema).delete()
    }
}
