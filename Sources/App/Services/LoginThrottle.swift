import Fluent
import Foundation
import SQLKit
import Vapor

/// Counts sign-in attempts per subject (an account, an address) in fixed windows, atomically: one
/// `INSERT … ON CONFLICT DO UPDATE … RETURNING` per attempt, so concurrent guesses each get their own number and
/// the ones past the limit are refused, on SQLite and PostgreSQL alike (both have upsert with RETURNING).
struct LoginThrottle: Sendable {
    static let schema = "login_throttles"

    let db: any Database
    let window: TimeInterval

    struct Count: Decodable {
        var failures: Int
        var window_start: Int64
    }

    /// Counts one attempt for `subject` and returns the count in the current window and when the window ends.
    func hit(_ subject: String, now: Date) async throws -> (count: Int, windowEnds: Date) {
        let sql = try db.sql()
        let at = Int64(now.timeIntervalSince1970)
        let expired = at - Int64(window)
        let row = try await sql.raw(
            """
            INSERT INTO \(ident: Self.schema) (subject, window_start, failures) VALUES (\(bind: subject), \(bind: at), 1)
            ON CONFLICT (subject) DO UPDATE SET
              failures = CASE WHEN \(ident: Self.schema).window_start <= \(bind: expired) THEN 1 ELSE \(ident: Self.schema).failures + 1 END,
              window_start = CASE WHEN \(ident: Self.schema).window_start <= \(bind: expired) THEN \(bind: at) ELSE \(ident: Self.schema).window_start END
            RETURNING failures, window_start
            """
        ).first(decoding: Count.self)
        guard let row else { throw Abort(.internalServerError, reason: "the sign-in counter did not answer") }
        return (row.failures, Date(timeIntervalSince1970: TimeInterval(row.window_start) + window))
    }

    /// Takes one attempt back (a successful sign-in does not count against its address).
    func forgive(_ subject: String) async throws {
        try await db.sql().raw(
            "UPDATE \(ident: Self.schema) SET failures = failures - 1 WHERE subject = \(bind: subject) AND failures > 0"
        ).run()
    }

    /// Forgets a subject's attempts (a successful sign-in to the account).
    func reset(_ subject: String) async throws {
        try await db.sql().raw("DELETE FROM \(ident: Self.schema) WHERE subject = \(bind: subject)").run()
    }

    /// Drops counters whose window ended, so the table stays small.
    func sweep(now: Date) async throws {
        let expired = Int64(now.timeIntervalSince1970) - Int64(window)
        try await db.sql().raw("DELETE FROM \(ident: Self.schema) WHERE window_start <= \(bind: expired)").run()
    }
}
