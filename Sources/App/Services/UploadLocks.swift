import NIOConcurrencyHelpers

/// Which uploads a request in this process is writing. The lock is held only while `withLock`'s body runs, so no
/// path through a handler (a throw, a dropped connection) can leave an upload locked.
actor UploadLocks {
    private var busy: Set<String> = []

    /// Runs `body` holding the lock of upload `id`; throws `otherwise` at once (a 409) when another request holds it.
    func withLock<T: Sendable>(_ id: String, otherwise: any Error, _ body: @Sendable () async throws -> T) async throws -> T {
        guard busy.insert(id).inserted else { throw otherwise }
        defer { busy.remove(id) }
        return try await body()
    }

    /// Whether a request holds the lock of `id` now.
    func isLocked(_ id: String) -> Bool { busy.contains(id) }
}

/// With media in a bucket, which bytes of each upload this process holds in its staging file (`0..<n`, written here
/// in order), so the PATCH that completes an upload whose every piece came through this node skips fetching them
/// back. Forgotten at restart: the pieces are then put together from the bucket.
final class LocalUploadCoverage: Sendable {
    private let contiguous = NIOLockedValueBox<[String: Int64]>([:])

    /// Bytes `start..<end` of upload `id` were written to this node's staging file.
    func wrote(_ id: String, from start: Int64, to end: Int64) {
        contiguous.withLockedValue { held in
            if (held[id] ?? 0) == start { held[id] = end } else if start == 0 { held[id] = end }
        }
    }

    func holdsAll(_ id: String, length: Int64) -> Bool { contiguous.withLockedValue { $0[id] } == length }
    func forget(_ id: String) { _ = contiguous.withLockedValue { $0.removeValue(forKey: id) } }
}
