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

    /// How many matches are ranked: the newest this many. A word that is in most of a large catalog ("the") would
    /// otherwise cost a relevance score for every row; past this many matches the oldest are left out, and the total
    /// says at most this many.
    public static let candidateLimit = 2_000

    /// The engine's `FROM` for `videos` or `channels` rows matching every word (as a prefix), at most the newest
    /// `candidateLimit`, each with a score (lower is better) named by `score`. The rows keep their table's name, so
    /// conditions such as `VideoRow.listed` apply to them.
    private func ranked(_ words: [String], on kind: Kind) -> (from: SQLQueryString, score: SQLQueryString) {
        let table = kind == .video ? "videos" : "channels"
        let limit = String(Self.candidateLimit)
        if isPostgres {
            // The score is computed in the same scan that finds the rows (joining the table again to them made the
            // planner rank far more rows than it kept).
            // Each word is quoted after unaccent, which can turn a letter or digit into several characters ("⒆" into
            // "(19)") that tsquery would read as syntax; quoted, they are only text.
            var tsquery: SQLQueryString = "("
            for (i, word) in words.enumerated() {
                if i > 0 { tsquery = tsquery + " && " }
                tsquery = tsquery + "to_tsquery('simple', quote_literal(videotube_unaccent(\(bind: word))) || ':*')"
            }
            tsquery = tsquery + ")"
            let columns = kind == .video ? "id, channel_id, visibility, status, takedown_reason" : "id, owner_id, live_started_at"
            let matches: SQLQueryString =
                "(SELECT \(unsafeRaw: columns), -ts_rank(search_vector, " + tsquery + ") AS score FROM \(unsafeRaw: table) WHERE search_vector @@ "
                + tsquery + " ORDER BY id DESC LIMIT \(unsafeRaw: limit)) \(unsafeRaw: table)"
            let from: SQLQueryString = kind == .video ? matches + " JOIN channels ON channels.id = videos.channel_id" : matches
            return (from, "\(unsafeRaw: table).score")
        }
        // FTS5: each word quoted (it holds only letters and digits) and marked as a prefix; words side by side all
        // match. Rowid order is FTS5's own, so the limit stops the scan. bm25 is lower for better matches; the columns
        // weigh 10 (title or name), 4 (channel, or live title and tags), 1 (description).
        let query = words.map { "\"\($0)\"*" }.joined(separator: " ")
        let fts = kind == .video ? "video_search" : "channel_search"
        let hits: SQLQueryString =
            " JOIN (SELECT rowid AS id, bm25(\(unsafeRaw: fts), 10.0, 4.0, 1.0) AS score FROM \(unsafeRaw: fts) WHERE \(unsafeRaw: fts) MATCH "
            + "\(bind: query) ORDER BY rowid DESC LIMIT \(unsafeRaw: limit)) hits ON hits.id = \(unsafeRaw: table).id"
        let from: SQLQueryString = kind == .video ? "videos JOIN channels ON channels.id = videos.channel_id" + hits : "channels" + hits
        return (from, "hits.score")
    }

    /// Channels whose owner may be shown (none, or not disabled).
    private static let ownerShown: SQLQueryString =
        "(channels.owner_id IS NULL OR channels.owner_id IN (SELECT id FROM users WHERE disabled = \(bind: false)))"

    /// Listed videos matching `query`, best first.
    public func videos(_ query: String, page: Int = 1, perPage: Int = 20) async throws -> Paged<VideoRecord> {
        let words = Self.words(query)
        guard !words.isEmpty else { return Paged(items: [], page: page, perPage: perPage, total: 0) }
        let (from, score) = ranked(words, on: .video)
        let window = PageWindow(page: page, perPage: perPage)
        let (chosen, total) = try await rankedIDs(
            "videos.id", from: from, where: VideoRow.listed + " AND " + Self.ownerShown, order: score + ", videos.id DESC", window)
        guard !chosen.isEmpty else { return Paged(items: [], page: page, perPage: perPage, total: total) }
        let records = try await CatalogService(db: db).records(VideoRow.select + " WHERE videos.id IN (\(binds: chosen))")
        let byID = Dictionary(uniqueKeysWithValues: records.map { ($0.id, $0) })
        return Paged(items: chosen.compactMap { byID[$0] }, page: page, perPage: perPage, total: total)
    }

    /// Channels matching `query` (live ones only with `live`), best first.
    public func channels(_ query: String, live: Bool = false, page: Int = 1, perPage: Int = 20) async throws -> Paged<Channel> {
        let words = Self.words(query)
        guard !words.isEmpty else { return Paged(items: [], page: page, perPage: perPage, total: 0) }
        let (from, score) = ranked(words, on: .channel)
        let window = PageWindow(page: page, perPage: perPage)
        let (chosen, total) = try await rankedIDs(
            "channels.id", from: from, where: Self.ownerShown + (live ? " AND channels.live_started_at IS NOT NULL" : ""),
            order: score + ", channels.id DESC", window)
        let found = chosen.isEmpty ? [] : try await Channel.query(on: db).filter(\.$id ~~ chosen).all()
        let byID = Dictionary(uniqueKeysWithValues: found.compactMap { channel in channel.id.map { ($0, channel) } })
        return Paged(items: chosen.compactMap { byID[$0] }, page: page, perPage: perPage, total: total)
    }

    /// One page of the ids a ranked query finds, in its order, and how many it finds in all (at most
    /// `candidateLimit`): one statement, the count a window over the same rows, so only the page's ids leave the
    /// database. A page past the end counts apart.
    private func rankedIDs(
        _ id: SQLQueryString, from: SQLQueryString, where condition: SQLQueryString, order: SQLQueryString, _ window: PageWindow
    ) async throws -> (ids: [Int], total: Int) {
        struct Row: Decodable {
            var id: Int
            var total: Int
        }
        let sql = try db.sql()
        let rows = try await sql.raw(
            "SELECT " + id + " AS id, COUNT(*) OVER () AS total FROM " + from + " WHERE " + condition + " ORDER BY " + order
                + " LIMIT \(unsafeRaw: String(window.perPage)) OFFSET \(unsafeRaw: String(window.offset))"
        ).all(decoding: Row.self)
        if let first = rows.first { return (rows.map(\.id), first.total) }
        guard window.page > 1 else { return ([], 0) }
        let count = try await sql.raw("SELECT COUNT(*) AS count FROM " + from + " WHERE " + condition).first(decoding: CountRow.self)
        return ([], count?.count ?? 0)
    }
}
