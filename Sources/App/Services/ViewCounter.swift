import Fluent
import Foundation
import SQLKit

/// Counts a view once per viewer, video and clock hour, when playback really starts (the watch page reports
/// it from the player's first `playing` event; range requests never count).
public struct ViewCounter: Sendable {
    public let db: any Database

    public init(db: any Database) { self.db = db }

    /// Returns whether this report counted, and the video's count after it.
    public func record(videoID: Int, viewer: String, now: Date = Date()) async throws -> (counted: Bool, views: Int) {
        let hour = Int(now.timeIntervalSince1970) / 3600
        var counted = true
        do {
            try await db.transaction { db in
                try await VideoView(videoID: videoID, viewer: viewer, hour: hour, at: now).create(on: db)
                try await (db as! any SQLDatabase).update(Video.schema)
                    .set(SQLIdentifier("views"), to: SQLBinaryExpression(SQLIdentifier("views"), .add, SQLLiteral.numeric("1")))
                    .where("id", .equal, videoID).run()
            }
        } catch let error as any DatabaseError where error.isConstraintFailure {
            counted = false
        }
        if counted, Int.random(in: 0..<100) == 0 {
            // Rows older than the current hour no longer decide anything.
            try await VideoView.query(on: db).filter(\.$hour < hour - 1).delete()
        }
        let views = try await Video.find(videoID, on: db)?.views ?? 0
        return (counted, views)
    }
}
