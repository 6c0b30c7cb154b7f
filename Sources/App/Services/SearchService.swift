import Fluent
import Foundation
import SQLKit

/// Finds listed videos, channels and live channels by words, on either engine: SQLite's FTS5 tables or PostgreSQL's
/// `tsvector` columns (both kept in step by the database, see `M014_Search`). Every word must match (as a prefix, so
/// "spee" finds "speedrun"); case and accents don't matter; title matches rank above channel names, and those above
/// descriptions. Only what listings show is found: public, ready, not taken down, of channels whose owner is not
/// disabled.
public struct SearchService: Sendable {
    public let db: any Database

    public init(db: any Database) { self.db = db }

    /// What a search looks in.
    public enum Kind: String, Sendable, CaseIterable {
        case video, channel, live
    }

    /// At most this many words count, each cut to this many characters.
    static let maxWords = 8, maxWordLength = 40

    /// The words of a query: runs of letters and digits, lowercased; empty when there is nothing to look for.
    public static func words(_ query: String) -> [String] {
        let parts = query.lowercased().split { !($0.isLetter || $0.isNumber) }
        return parts.prefix(maxWords).map { String($0.prefix(maxWordLength)) }
    }

    private var isPostgres: Bool { (try? db.sql().dialect.name) == "postgresql" }

    /// The engine's join, match condition (every word, as a prefix) and order by relevance, for `videos` or
    /// `channels` rows.
    private func match(_ words: [String], on kind: Kind) -> (join: SQLQueryString, condition: SQLQueryString, rank: SQLQueryString) {
        let table = kind == .video ? "videos" : "channels"
        if isPostgres {
            let query = words.map { $0 + ":*" }.joined(separator: " & ")
            let tsquery: SQLQueryString = "to_tsquery('simple', videotube_unaccent(\(bind: query)))"
            return (
                "",
                "\(unsafeRaw: table).search_vector @@ " + tsquery,
                "ts_rank(\(unsafeRaw: table).search_vector, " + tsquery + ") DESC, \(unsafeRaw: table).id DESC"
            )
        }
        // FTS5: each word quoted (it holds only letters and digits) and marked as a prefix; words side by side all
        // match. bm25 is lower for better matches; the columns weigh 10 (title or name), 4 (channel or live title and
        // tags), 1 (description).
        let query = words.map { "\"\($0)\"*" }.joined(separator: " ")
        let fts = kind == .video ? "video_search" : "channel_search"
        return (
            " JOIN \(unsafeRaw: fts) ON \(unsafeRaw: fts).rowid = \(unsafeRaw: table).id",
            "\(unsafeRaw: fts) MATCH \(bind: query)",
            "bm25(\(unsafeRaw: fts), 10.0, 4.0, 1.0), \(unsafeRaw: table).id DESC"
        )
    }

    /// Channels whose owner may be shown (none, or not disabled).
    private static let ownerShown: SQLQueryString =
        "(channels.owner_id IS NULL OR channels.owner_id IN (SELECT id FROM users WHERE disabled = \(bind: false)))"

    /// Listed videos matching `query`, best first.
    public func videos(_ query: String, page: Int = 1, perPage: Int = 20) async throws -> Paged<VideoRecord> {
        let words = Self.words(query)
        guard !words.isEmpty else { return Paged(items: [], page: page, perPage: perPage, total: 0) }
        let window = PageWindow(page: page, perPage: perPage)
        let (join, condition, rank) = match(words, on: .video)
        let filter = VideoRow.listed + " AND " + Self.ownerShown + " AND " + condition
        let items = try await CatalogService(db: db).records(
            VideoRow.select + join + " WHERE " + filter + " ORDER BY " + rank
                + " LIMIT \(unsafeRaw: String(window.perPage)) OFFSET \(unsafeRaw: String(window.offset))")
        let count = try await db.sql().raw(
            "SELECT COUNT(*) AS count FROM videos JOIN channels ON channels.id = videos.channel_id" + join + " WHERE " + filter
        ).first(decoding: CountRow.self)
        return Paged(items: items, page: page, perPage: perPage, total: count?.count ?? 0)
    }

    /// Channels matching `query` (live ones only for `.live`), best first.
    public func channels(_ query: String, live: Bool = false, page: Int = 1, perPage: Int = 20) async throws -> Paged<Channel> {
        let words = Self.words(query)
        guard !words.isEmpty else { return Paged(items: [], page: page, perPage: perPage, total: 0) }
        let window = PageWindow(page: page, perPage: perPage)
        let (join, condition, rank) = match(words, on: .channel)
        var filter = Self.ownerShown + " AND " + condition
        if live { filter = filter + " AND channels.live_started_at IS NOT NULL" }
        struct Row: Decodable { var id: Int }
        let sql = try db.sql()
        let ids = try await sql.raw(
            "SELECT channels.id AS id FROM channels" + join + " WHERE " + filter + " ORDER BY " + rank
                + " LIMIT \(unsafeRaw: String(window.perPage)) OFFSET \(unsafeRaw: String(window.offset))"
        ).all(decoding: Row.self).map(\.id)
        let count = try await sql.raw("SELECT COUNT(*) AS count FROM channels" + join + " WHERE " + filter).first(decoding: CountRow.self)
        let found = ids.isEmpty ? [] : try await Channel.query(on: db).filter(\.$id ~~ ids).all()
        let byID = Dictionary(uniqueKeysWithValues: found.compactMap { channel in channel.id.map { ($0, channel) } })
        return Paged(items: ids.compactMap { byID[$0] }, page: page, perPage: perPage, total: count?.count ?? 0)
    }
}
