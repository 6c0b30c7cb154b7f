import Fluent
import Foundation
import Logging
import NIOConcurrencyHelpers
import SQLKit

/// Keeps the watch log: playback requests are folded into sessions (one per viewer, video or live channel, and
/// source) in memory, and each session is one row, written soon after its first request and brought up to date
/// every few seconds while it lasts, so an HLS player's segment requests cost a dictionary update each, not a row.
/// `record` takes a lock and updates (no task or actor hop per range request); one drain task writes, in batches.
/// The number of open sessions is bounded; past it new sessions are counted as dropped rather than held.
public final class WatchLogRecorder: Sendable {
    /// One served request.
    public struct Entry: Sendable {
        public enum Target: Hashable, Sendable {
            case video(Int)
            case live(channelID: Int)
        }
        public var target: Target
        /// Who is watching: the user, else the browser, else the address and user agent (`Request.viewerKey`).
        public var viewer: String
        public var userID: Int?
        public var remoteAddress: String?
        public var userAgent: String?
        public var source: WatchSession.Source
        public var status: Int
        /// Body bytes sent.
        public var bytes: Int64
        /// Requests this entry stands for (the media listener sums a connection's requests for one file).
        public var requests: Int
        public var at: Date

        public init(
            target: Target, viewer: String, userID: Int?, remoteAddress: String?, userAgent: String?,
            source: WatchSession.Source, status: Int, bytes: Int64, requests: Int = 1, at: Date = Date()
        ) {
            self.target = target
            self.viewer = viewer
            self.userID = userID
            self.remoteAddress = remoteAddress
            self.userAgent = userAgent.map { String($0.prefix(500)) }
            self.source = source
            self.status = status
            self.bytes = bytes
            self.requests = max(1, requests)
            self.at = at
        }
    }

    private struct Key: Hashable {
        var target: Entry.Target
        var source: WatchSession.Source
        var viewer: String
    }

    private struct Session {
        var key: String
        var first: Entry
        var lastSeen: Date
        var requests: Int
        var bytes: Int64
        /// Changed since its row was last written (or never written).
        var dirty = true
        var lastWrite: Date?
    }

    private struct State {
        var open: [Key: Session] = [:]
        /// Sessions that ended with changes not yet written.
        var ended: [Session] = []
        var draining = false
        var dropped = 0
    }

    /// A viewer's session ends after this long without a request (a paused player fetches nothing).
    public static let idleGap: TimeInterval = 60
    /// How often an open session's row is brought up to date.
    public static let updateInterval: TimeInterval = 5

    private let db: any Database
    private let logger: Logger
    private let capacity: Int
    private let anonymize: Bool
    private let state = NIOLockedValueBox(State())
    /// One batch writer at a time, so a session's updates reach the database in order.
    private let writer = AsyncSerialGate()

    public init(db: any Database, logger: Logger, capacity: Int = 50_000, anonymize: Bool = false) {
        self.db = db
        self.logger = logger
        self.capacity = capacity
        self.anonymize = anonymize
    }

    /// New sessions refused because `capacity` sessions were open.
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
        switch entry.target {
        case .video(let id), .live(let id): guard id > 0 else { return }
        }
        let key = Key(target: entry.target, source: entry.source, viewer: entry.viewer)
        let startDrain = state.withLockedValue { state -> Bool in
            if var session = state.open[key], entry.at.timeIntervalSince(session.lastSeen) <= Self.idleGap {
                session.lastSeen = max(session.lastSeen, entry.at)
                session.requests += entry.requests
                session.bytes += max(0, entry.bytes)
                session.dirty = true
                state.open[key] = session
                return false
            }
            if let ended = state.open[key] {
                if ended.dirty { state.ended.append(ended) }
            } else if state.open.count >= capacity {
                state.dropped += 1
                return false
            }
            state.open[key] = Session(
                key: UUID().uuidString, first: entry, lastSeen: entry.at, requests: entry.requests, bytes: max(0, entry.bytes))
            guard !state.draining else { return false }
            state.draining = true
            return true
        }
        if startDrain { Task { await self.drain() } }
    }

    /// Rows per upsert (11 binds each, far under SQLite's and PostgreSQL's limits).
    static let batchSize = 300

    /// Writes every session with changes (tests and shutdown call it); sessions stay open.
    public func flush() async {
        await write(now: Date(), everything: true)
    }

    /// Writes new sessions, ended ones, and open ones whose row is `updateInterval` old; forgets ended sessions.
    private func write(now: Date, everything: Bool) async {
        await writer.run { [self] in
            let due = state.withLockedValue { state -> [Session] in
                var due = state.ended
                state.ended = []
                for (key, var session) in state.open {
                    let ended = now.timeIntervalSince(session.lastSeen) > Self.idleGap
                    if ended { state.open[key] = nil }
                    guard session.dirty else { continue }
                    let stale = session.lastWrite.map { now.timeIntervalSince($0) >= Self.updateInterval } ?? true
                    guard everything || ended || stale else { continue }
                    if !ended {
                        session.dirty = false
                        session.lastWrite = now
                        state.open[key] = session
                    }
                    due.append(session)
                }
                return due
            }
            var start = 0
            while start < due.count {
                let batch = due[start..<min(start + Self.batchSize, due.count)]
                start += batch.count
                await upsert(batch)
            }
        }
    }

    private func upsert(_ batch: ArraySlice<Session>) async {
        // One multi-row upsert through SQLKit: no Fluent model (and its reflection) per session.
        do {
            let insert = try db.sql().insert(into: WatchSession.schema)
                .columns(
                    "session_key", "video_id", "channel_id", "user_id", "remote_address", "user_agent", "source", "status",
                    "started_at", "last_seen_at", "requests", "bytes")
            for session in batch {
                let first = session.first
                let address = anonymize ? first.remoteAddress.map(Self.anonymized) : first.remoteAddress
                var videoID: Int?, channelID: Int?
                switch first.target {
                case .video(let id): videoID = id
                case .live(let id): channelID = id
                }
                insert.values([
                    SQLBind(session.key), SQLBind(videoID), SQLBind(channelID), SQLBind(first.userID), SQLBind(address),
                    SQLBind(first.userAgent), SQLBind(first.source.rawValue), SQLBind(first.status), SQLBind(first.at),
                    SQLBind(session.lastSeen), SQLBind(session.requests), SQLBind(session.bytes),
                ])
            }
            insert.onConflict(with: ["session_key"]) {
                $0.set(excludedValueOf: "last_seen_at").set(excludedValueOf: "requests").set(excludedValueOf: "bytes")
            }
            try await insert.run()
        } catch {
            logger.warning("watch log: could not write \(batch.count) sessions: \(String(reflecting: error))")
        }
    }

    /// Runs while sessions are open: gathers a burst of requests into one write a second.
    private func drain() async {
        while true {
            try? await Task.sleep(for: .seconds(1))
            await write(now: Date(), everything: false)
            let more = state.withLockedValue { state -> Bool in
                if state.open.isEmpty && state.ended.isEmpty { state.draining = false }
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
