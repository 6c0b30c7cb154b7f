import Fluent
import SQLKit
import Vapor

extension Database {
    /// This database as SQLKit sees it (both engines Videotube runs on are SQL databases).
    func sql() throws -> any SQLDatabase {
        guard let sql = self as? any SQLDatabase else { throw Abort(.internalServerError, reason: "the database does not speak SQL") }
        return sql
    }
}
