import Fluent
import SQLKit

/// 014: full-text search over videos (title, channel name, description) and channels (name and handle, the live
/// title and tags, the about text). The database keeps the index in step itself, through triggers, whoever writes:
/// this node, another app node, or `videotube import`.
/// - SQLite: FTS5 tables (`unicode61 remove_diacritics 2`, prefix indexes) whose rowid is the video's or channel's id.
/// - PostgreSQL: a weighted `tsvector` column on each table (`simple` configuration over `unaccent`) with a GIN index.
struct M014_Search: AsyncMigration {
    func prepare(on database: any Database) async throws {
        let sql = try database.sql()
        if sql.dialect.name == "postgresql" {
            try await Self.postgres(sql)
        } else {
            try await Self.sqlite(sql)
        }
    }

    func revert(on database: any Database) async throws {
        let sql = try database.sql()
        if sql.dialect.name == "postgresql" {
            for statement in [
                "DROP TRIGGER IF EXISTS videos_search ON videos", "DROP TRIGGER IF EXISTS channels_search ON channels",
                "DROP TRIGGER IF EXISTS channels_search_videos ON channels", "DROP FUNCTION IF EXISTS videotube_video_search()",
                "DROP FUNCTION IF EXISTS videotube_channel_search()", "DROP FUNCTION IF EXISTS videotube_channel_search_videos()",
                "ALTER TABLE videos DROP COLUMN IF EXISTS search_vector", "ALTER TABLE channels DROP COLUMN IF EXISTS search_vector",
                "DROP FUNCTION IF EXISTS videotube_unaccent(text)",
            ] {
                try await sql.raw(SQLQueryString(statement)).run()
            }
        } else {
            for trigger in ["videos_search_insert", "videos_search_update", "videos_search_delete", "channels_search_insert",
                            "channels_search_update", "channels_search_delete"] {
                try await sql.raw("DROP TRIGGER IF EXISTS \(unsafeRaw: trigger)").run()
            }
            try await sql.raw("DROP TABLE IF EXISTS video_search").run()
            try await sql.raw("DROP TABLE IF EXISTS channel_search").run()
        }
    }

    private static func sqlite(_ sql: any SQLDatabase) async throws {
        let tokenize = "tokenize = 'unicode61 remove_diacritics 2', prefix = '1 2 3 4'"
        let statements = [
            "CREATE VIRTUAL TABLE video_search USING fts5(title, channel, description, \(tokenize))",
            "CREATE VIRTUAL TABLE channel_search USING fts5(name, live, description, \(tokenize))",
        ] + sqliteVideoTriggers + [
            "CREATE TRIGGER videos_search_delete AFTER DELETE ON videos BEGIN DELETE FROM video_search WHERE rowid = OLD.id; END",
            """
            CREATE TRIGGER channels_search_insert AFTER INSERT ON channels BEGIN
              INSERT INTO channel_search (rowid, name, live, description)
              VALUES (NEW.id, NEW.name || ' ' || NEW.handle, COALESCE(NEW.live_title, '') || ' ' || COALESCE(NEW.live_tags, ''),
                NEW.description);
            END
            """,
        ] + [sqliteChannelUpdateTrigger] + [
            "CREATE TRIGGER channels_search_delete AFTER DELETE ON channels BEGIN DELETE FROM channel_search WHERE rowid = OLD.id; END",
            """
            INSERT INTO video_search (rowid, title, channel, description)
            SELECT videos.id, videos.title, channels.name, videos.description FROM videos JOIN channels ON channels.id = videos.channel_id
            """,
            """
            INSERT INTO channel_search (rowid, name, live, description)
            SELECT id, name || ' ' || handle, COALESCE(live_title, '') || ' ' || COALESCE(live_tags, ''), description FROM channels
            """,
        ]
        for statement in statements { try await sql.raw(SQLQueryString(statement)).run() }
    }

    private static func postgres(_ sql: any SQLDatabase) async throws {
        let statements = [
            "CREATE EXTENSION IF NOT EXISTS unaccent",
            // unaccent() is only STABLE (its dictionary could change); naming the dictionary makes a function an index
            // may use.
            """
            CREATE FUNCTION videotube_unaccent(text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
            AS $$ SELECT public.unaccent('public.unaccent'::regdictionary, $1) $$
            """,
            "ALTER TABLE videos ADD COLUMN search_vector tsvector",
            "ALTER TABLE channels ADD COLUMN search_vector tsvector",
        ] + postgresVideoSearch + [
            """
            CREATE FUNCTION videotube_channel_search() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              NEW.search_vector :=
                setweight(to_tsvector('simple', videotube_unaccent(NEW.name || ' ' || NEW.handle)), 'A')
                || setweight(to_tsvector('simple', videotube_unaccent(COALESCE(NEW.live_title, '') || ' ' || COALESCE(NEW.live_tags, ''))), 'B')
                || setweight(to_tsvector('simple', videotube_unaccent(COALESCE(NEW.description, ''))), 'C');
              RETURN NEW;
            END $$
            """,
            """
            CREATE TRIGGER channels_search BEFORE INSERT OR UPDATE OF name, handle, description, live_title, live_tags ON channels
            FOR EACH ROW EXECUTE FUNCTION videotube_channel_search()
            """,
            // A renamed channel's videos are found by the new name.
            """
            CREATE FUNCTION videotube_channel_search_videos() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN UPDATE videos SET title = title WHERE channel_id = NEW.id; RETURN NULL; END $$
            """,
            """
            CREATE TRIGGER channels_search_videos AFTER UPDATE OF name ON channels FOR EACH ROW
            WHEN (OLD.name IS DISTINCT FROM NEW.name) EXECUTE FUNCTION videotube_channel_search_videos()
            """,
            "UPDATE channels SET name = name",
            "UPDATE videos SET title = title",
            "CREATE INDEX videos_search_idx ON videos USING GIN (search_vector)",
            "CREATE INDEX channels_search_idx ON channels USING GIN (search_vector)",
        ]
        for statement in statements { try await sql.raw(SQLQueryString(statement)).run() }
    }

    /// The triggers that keep a video's FTS row in step (M016 replaces them to add tags; its revert puts these back).
    static let sqliteVideoTriggers = [
        """
        CREATE TRIGGER videos_search_insert AFTER INSERT ON videos BEGIN
          INSERT INTO video_search (rowid, title, channel, description)
          VALUES (NEW.id, NEW.title, (SELECT name FROM channels WHERE id = NEW.channel_id), NEW.description);
        END
        """,
        """
        CREATE TRIGGER videos_search_update AFTER UPDATE OF title, description, channel_id ON videos BEGIN
          DELETE FROM video_search WHERE rowid = OLD.id;
          INSERT INTO video_search (rowid, title, channel, description)
          VALUES (NEW.id, NEW.title, (SELECT name FROM channels WHERE id = NEW.channel_id), NEW.description);
        END
        """,
    ]

    static let sqliteChannelUpdateTrigger =
        """
        CREATE TRIGGER channels_search_update AFTER UPDATE OF name, handle, description, live_title, live_tags ON channels BEGIN
          DELETE FROM channel_search WHERE rowid = OLD.id;
          INSERT INTO channel_search (rowid, name, live, description)
          VALUES (NEW.id, NEW.name || ' ' || NEW.handle, COALESCE(NEW.live_title, '') || ' ' || COALESCE(NEW.live_tags, ''),
            NEW.description);
          UPDATE video_search SET channel = NEW.name WHERE rowid IN (SELECT id FROM videos WHERE channel_id = NEW.id);
        END
        """

    /// The function and trigger that compute a video's `search_vector` (M016 replaces them to add tags; its revert
    /// puts these back).
    static let postgresVideoSearch = [
        """
        CREATE FUNCTION videotube_video_search() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          NEW.search_vector :=
            setweight(to_tsvector('simple', videotube_unaccent(COALESCE(NEW.title, ''))), 'A')
            || setweight(to_tsvector('simple', videotube_unaccent(COALESCE((SELECT name FROM channels WHERE id = NEW.channel_id), ''))), 'B')
            || setweight(to_tsvector('simple', videotube_unaccent(COALESCE(NEW.description, ''))), 'C');
          RETURN NEW;
        END $$
        """,
        """
        CREATE TRIGGER videos_search BEFORE INSERT OR UPDATE OF title, description, channel_id ON videos
        FOR EACH ROW EXECUTE FUNCTION videotube_video_search()
        """,
    ]
}
