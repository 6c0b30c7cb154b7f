import Crypto
import Fluent
import Foundation
import Media
import NIOPosix
import Vapor

/// bcrypt on the thread pool, so hashing never blocks an event loop.
public struct PasswordHasher: Sendable {
    public let cost: Int
    public let pool: NIOThreadPool
    /// A real hash at the same cost, checked when an account does not exist so timing does not tell.
    let dummyHash: String

    public init(cost: Int, pool: NIOThreadPool) {
        self.cost = cost
        self.pool = pool
        dummyHash = (try? Bcrypt.hash(Secrets.token(prefix: ""), cost: cost)) ?? ""
    }

    public func hash(_ password: String) async throws -> String {
        let cost = self.cost
        return try await pool.runIfActive { try Bcrypt.hash(password, cost: cost) }
    }

    public func verify(_ password: String, hash: String) async throws -> Bool {
        try await pool.runIfActive { (try? Bcrypt.verify(password, created: hash)) ?? false }
    }
}
