import Fluent
import SQLKit
import Vapor

/// What a load balancer asks: is the process up (`/healthz`), and can it serve (`/readyz`: the database answers,
/// this binary's migrations are applied, media storage is writable). Both are JSON, never cached, and cost no
/// more than one small query.
struct OperationsController {
    struct Health: Content {
        var status: String
        var node: String
    }

    struct Readiness: Content {
        var status: String
        var database: String
        var migrations: String
        var storage: String
        var node: String
    }

    /// How long the database gets to answer before the node counts as not ready (PostgreSQL down can hang a connect).
    static let checkTimeout: Duration = .seconds(2)

    @Sendable
    func health(req: Request) async throws -> Response {
        try await Self.uncached(Health(status: "ok", node: req.services.config.nodeID), status: .ok, for: req)
    }

    @Sendable
    func ready(req: Request) async throws -> Response {
        let services = req.services
        let (database, migrations) = await Self.checkDatabase(req.db, newestMigration: services.newestMigration)
        let storage = await services.storage.checkReachable() ? "ok" : "unreachable"
        let ok = database == "ok" && migrations == "ok" && storage == "ok"
        let body = Readiness(
            status: ok ? "ready" : "unavailable", database: database, migrations: migrations, storage: storage, node: services.config.nodeID)
        return try await Self.uncached(body, status: ok ? .ok : .serviceUnavailable, for: req)
    }

    /// `("ok" | "unreachable: …", "ok" | "pending" | "unknown")`, within `checkTimeout`.
    static func checkDatabase(_ db: any Database, newestMigration: String) async -> (String, String) {
        await withTaskGroup(of: (String, String)?.self) { group in
            group.addTask {
                do {
                    struct Row: Decodable { var n: Int }
                    let rows = try await db.sql().raw("SELECT CAST(COUNT(*) AS BIGINT) AS n FROM _fluent_migrations WHERE name = \(bind: newestMigration)")
                        .all(decoding: Row.self)
                    return ("ok", rows.first?.n == 1 ? "ok" : "pending")
                } catch {
                    return ("unreachable: \(String(describing: error).prefix(200))", "unknown")
                }
            }
            group.addTask {
                try? await Task.sleep(for: checkTimeout)
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first ?? ("unreachable: no answer within \(checkTimeout)", "unknown")
        }
    }

    private static func uncached(_ body: some Content, status: HTTPStatus, for req: Request) async throws -> Response {
        let response = try await body.encodeResponse(status: status, for: req)
        response.headers.replaceOrAdd(name: .cacheControl, value: "no-store")
        return response
    }
}
