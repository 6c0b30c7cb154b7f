import Fluent
import SQLKit

/// 016: videos get tags.
/// - `videos.tags` holds them as a JSON array of normalized tags (`["speedrun","mario kart"]`), what a video
///   read shows.
/// - `video_tags` has one row per video and tag, for `/tags/{tag}`; database triggers keep it in step with
///   `videos.tags`, whoever writes (this node, another node, `videotube import`).
/// - Search finds tags: they are indexed beside the channel name (SQLite FTS5's `channel` column, PostgreSQL's
///   weight B). The JSON's punctuation is no word to either tokenizer.
struct M016_VideoTags: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema(Video.schema).field("tags", .string, .required, .sql(.default("[]"))).update()
        try await database.schema("video_tags")
            .field("video_id", .int, .required, .references(Video.schema, "id", onDelete: .cascade))
            .field("tag", .string, .required)
            .unique(on: "tag", "video_id")
            .create()
        try await database.sql().create(index: "video_tags_video_idx").on("video_tags").column("video_id").run()
        let sql = try database.sql()
        let statements = sql.dialect.name == "postgresql" ? Self.postgres : Self.sqlite
        for statement in statements { try await sql.raw(SQLQueryString(statement)).run() }
    }

    func revert(on database: any Database) async throws {
        let sql = try database.sql()
        // The search triggers go back to M014's (which know no tags) before the column goes.
        let statements =
            sql.dialect.name == "postgresql"
            ? [
                "DROP TRIGGER IF EXISTS videos_tags ON videos", "DROP FUNCTION IF EXISTS videotube_video_tags()",
                "DROP TRIGGER IF EXISTS videos_search ON videos", "DROP FUNCTION IF EXISTS videotube_video_search()",
            ] + M014_Search.postgresVideoSearch
            : ["videos_tags_insert", "videos_tags_update", "videos_search_insert", "videos_search_update", "channels_search_update"]
                .map { "DROP TRIGGER IF EXISTS \($0)" } + M014_Search.sqliteVideoTriggers + [M014_Search.sqliteChannelUpdateTrigger]
        for statement in statements { try await sql.raw(SQLQueryString(statement)).run() }
        try await database.schema("video_tags").delete()
        try await database.schema(Video.schema).deleteField("tags").update()
    }

    /// The channel column of a video's FTS row: the channel's name and the video's tags.
    private static let sqliteChannelText = "(SELECT name FROM channels WHERE id = NEW.channel_id) || ' ' || NEW.tags"

    private static let sqlite = [
        """
        CREATE TRIGGER videos_tags_insert AFTER INSERT ON videos BEGIN
          INSERT INTO video_tags (video_id, tag) SELECT NEW.id, value FROM json_each(NEW.tags);
        END
        """,
        """
        CREATE TRIGGER videos_tags_update AFTER UPDATE OF tags ON videos BEGIN
          DELETE FROM video_tags WHERE video_id = OLD.id;
          INSERT INTO video_tags (video_id, tag) SELECT NEW.id, value FROM json_each(NEW.tags);
        END
        """,
        "DROP TRIGGER videos_search_insert",
        "DROP TRIGGER videos_search_update",
        "DROP TRIGGER channels_search_update",
        """
        CREATE TRIGGER videos_search_insert AFTER INSERT ON videos BEGIN
          INSERT INTO video_search (rowid, title, channel, description)
          VALUES (NEW.id, NEW.title, \(sqliteChannelText), NEW.description);
        END
        """,
        """
        CREATE TRIGGER videos_search_update AFTER UPDATE OF title, description, channel_id, tags ON videos BEGIN
          DELETE FROM video_search WHERE rowid = OLD.id;
          INSERT INTO video_search (rowid, title, channel, description)
          VALUES (NEW.id, NEW.title, \(sqliteChannelText), NEW.description);
        END
        """,
        """
        CREATE TRIGGER channels_search_update AFTER UPDATE OF name, handle, description, live_title, live_tags ON channels BEGIN
          DELETE FROM channel_search WHERE rowid = OLD.id;
          INSERT INTO channel_search (rowid, name, live, description)
          VALUES (NEW.id, NEW.name || ' ' || NEW.handle, COALESCE(NEW.live_title, '') || ' ' || COALESCE(NEW.live_tags, ''),
            NEW.description);
          UPDATE video_search SET channel = NEW.name || ' ' || (SELECT tags FROM videos WHERE videos.id = video_search.rowid)
            WHERE rowid IN (SELECT id FROM videos WHERE channel_id = NEW.id);
        END
        """,
    ]

    private static let postgres = [
        """
        CREATE FUNCTION videotube_video_tags() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF TG_OP = 'UPDATE' THEN DELETE FROM video_tags WHERE video_id = OLD.id; END IF;
          INSERT INTO video_tags (video_id, tag) SELECT NEW.id, jsonb_array_elements_text(NEW.tags::jsonb) ON CONFLICT DO NOTHING;
          RETURN NULL;
        END $$
        """,
        """
        CREATE TRIGGER videos_tags AFTER INSERT OR UPDATE OF tags ON videos
        FOR EACH ROW EXECUTE FUNCTION videotube_video_tags()
        """,
        """
        CREATE OR REPLACE FUNCTION videotube_video_search() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          NEW.search_vector :=
            setweight(to_tsvector('simple', videotube_unaccent(COALESCE(NEW.title, ''))), 'A')
            || setweight(to_tsvector('simple', videotube_unaccent(
                 COALESCE((SELECT name FROM channels WHERE id = NEW.channel_id), '') || ' ' || COALESCE(NEW.tags, ''))), 'B')
            || setweight(to_tsvector('simple', videotube_unaccent(COALESCE(NEW.description, ''))), 'C');
          RETURN NEW;
        END $$
        """,
        "DROP TRIGGER videos_search ON videos",
        """
        CREATE TRIGGER videos_search BEFORE INSERT OR UPDATE OF title, description, channel_id, tags ON videos
        FOR EACH ROW EXECUTE FUNCTION videotube_video_search()
        """,
    ]
}
