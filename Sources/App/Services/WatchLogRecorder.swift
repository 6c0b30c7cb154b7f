import Fluent
import Foundation
import Logging
import NIOConcurrencyHelpers
import SQLKit

/// Records playback requests without putting a database write on the serving path: entries are queued and
/// written in batches. The queue is bounded; past it entries are counted as dropped rather than held.
/// `record` takes a lock and appends (no task or actor hop per range request); one drain task writes.
public final class WatchLogRecorder: Sendable {
    public struct Entry: Sendable {
        public var videoID: Int
        public var userID: Int?
        public var remoteAddress: String?
        public var userAgent: String?
        public var source: String
        public var status: Int
        public var at: Date
    }

    private struct State {
        var queue: [Entry] = []
        var draining = false
        var dropped = 0
    }

    private let db: any Database
    private let logger: Logger
    private let capacity: Int
    private let anonymize: Bool
    private let state = NIOLockedValueBox(State())
    /// One batch writer at a time, so batches reach the database in the order they were queued.
    private let writer = AsyncSerialGate()

    public init(db: any Database, logger: Logger, capacity: Int = 10_000, anonymize: Bool = false) {
        self.db = db
        self.logger = logger
        self.capacity = capacity
        self.anonymize = anonymize
    }

    /// Entries refused because the queue was full.
    public var dropped: Int { state.withLockedValue { $0.dropped } }

    /// The network part of an address: IPv4 to its /24 (`203.0.113.0`), IPv6 to its /48 (`2001:db8:1::`).
    public static func anonymized(_ address: String) -> String {
        if address.contains(":") {
            let groups = address.split(separator: ":", omittingEmptySubsequences: false)
            if address.hasPrefix("::") { return "::" }
            let kept = groups.prefix(3).map { $0.isEmpty ? "0" : String($0) }
            return kept.joined(separator: ":") + "::"
        }
        let octets = address.split(separator: ".")
        guard octets.count == 4 else { return "" }
        return octets.prefix(3).joined(separator: ".") + ".0"
    }

    public func record(_ entry: Entry) {
        guard entry.videoID > 0 else { return }
        let startDrain = state.withLockedValue { state -> Bool in
            guard state.queue.count < capacity else {
                state.dropped += 1
                return false
            }
            state.queue.append(entry)
            guard !state.draining else { return false }
            state.draining = true
            return true
        }
        if startDrain { Task { await self.drain() } }
    }

    /// Rows per INSERT (7 binds each, far under SQLite's and PostgreSQL's limits).
    static let batchSize = 500

    /// Writes everything queued when it starts (tests and shutdown call it; `record` schedules it). What arrives
    /// meanwhile waits for the next drain, so a busy listener makes a few large transactions a second, not a
    /// stream of small ones (each a commit, and on SQLite a sync to disk).
    public func flush() async {
        await writer.run { [self] in
            var remaining = state.withLockedValue { $0.queue.count }
            while remaining > 0 {
                let batch = state.withLockedValue { state -> [Entry] in
                    let batch = Array(state.queue.prefix(min(Self.batchSize, remaining)))
                    state.queue.removeFirst(batch.count)
                    return batch
                }
                if batch.isEmpty { return }
                remaining -= batch.count
                await write(batch)
            }
        }
    }

    private func write(_ batch: [Entry]) async {
        // One multi-row INSERT through SQLKit: no Fluent model (and its reflection) per range request.
        do {
            let insert = try db.sql().insert(into: WatchLog.schema)
                .columns("video_id", "user_id", "remote_address", "user_agent", "source", "status", "created_at")
            for entry in batch {
                let address = anonymize ? entry.remoteAddress.map(Self.anonymized) : entry.remoteAddress
                insert.values([
                    SQLBind(entry.videoID), SQLBind(entry.userID), SQLBind(address), SQLBind(entry.userAgent), SQLBind(entry.source),
                    SQLBind(entry.status), SQLBind(entry.at),
                ])
            }
            try await insert.run()
        } catch {
            logger.warning("watch log: could not write \(batch.count) entries: \(String(reflecting: error))")
        }
    }

    private func drain() async {
        while true {
            // A short pause gathers a burst of range requests into one insert.
            try? await Task.sleep(for: .milliseconds(200))
            await flush()
            let more = state.withLockedValue { state -> Bool in
                if state.queue.isEmpty { state.draining = false }
                return state.draining
            }
            if !more { return }
        }
    }
}

/// Runs async closures one at a time, in the order they arrive.
final class AsyncSerialGate: Sendable {
    private let tail = NIOLockedValueBox<Task<Void, Never>?>(nil)

    func run(_ body: @escaping @Sendable () async -> Void) async {
        let task = tail.withLockedValue { tail -> Task<Void, Never> in
            let previous = tail
            let next = Task {
                await previous?.value
                await body()
            }
            tail = next
            return next
        }
        await task.value
    }
}
