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
