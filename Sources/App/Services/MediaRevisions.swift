import Fluent
import Foundation
import Media
import NIOConcurrencyHelpers
import SQLKit

/// The access revision of every video that has one above 0, for the media listener: a signed URL made before
/// a privacy change or a takedown carries an older revision and is refused. Kept in memory (the listener never
/// waits for the database), updated at once on the node that made the change and read again from the database
/// every few seconds, so other app nodes follow within `refreshInterval`.
public final class MediaRevisions: Sendable {
    public static let refreshInterval: TimeInterval = 5
    private let revisions = NIOLockedValueBox<[Int: Int]>([:])

    public init() {}

    /// Whether a grant's revision is the video's current one (grants that name no video always are).
    public func isCurrent(_ grant: MediaGrant) -> Bool {
        guard grant.videoID > 0 else { return true }
        return grant.revision >= revisions.withLockedValue { $0[grant.videoID] ?? 0 }
    }

    /// Records a change made on this node.
    public func note(_ video: Video) {
        guard let id = video.id else { return }
        let revision = video.accessRevision
        revisions.withLockedValue { $0[id] = max($0[id] ?? 0, revision) }
    }

    /// Reads every revision above 0 from the database.
    public func refresh(from db: any Database) async throws {
        guard let sql = db as? any SQLDatabase else { return }
        struct Row: Decodable {
            var id: Int
            var access_revision: Int
        }
        let rows = try await sql.select().column("id").column("access_revision").from(Video.schema)
            .where("access_revision", .greaterThan, SQLLiteral.numeric("0")).all(decoding: Row.self)
        let fresh = Dictionary(rows.map { ($0.id, $0.access_revision) }, uniquingKeysWith: max)
        revisions.withLockedValue { current in
            for (id, revision) in fresh { current[id] = max(current[id] ?? 0, revision) }
        }
    }
}
