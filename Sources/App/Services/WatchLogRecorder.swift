import Fluent
import Foundation
import Logging

/// Records playback requests without putting a database write on the serving path: entries are queued and
/// written in batches. The queue is bounded; past it entries are counted as dropped rather than held.
public actor WatchLogRecorder {
    public struct Entry: Sendable {
        public var videoID: Int
        public var userID: Int?
        public var remoteAddress: String?
        public var userAgent: String?
        public var source: String
        public var status: Int
        public var at: Date
    }

    private let db: any Database
    private let logger: Logger
    private let capacity: Int
    private let anonymize: Bool
    private var queue: [Entry] = []
    private var flushing = false
    public private(set) var dropped = 0

    public init(db: any Database, logger: Logger, capacity: Int = 10_000, anonymize: Bool = false) {
        self.db = db
        self.logger = logger
        self.capacity = capacity
        self.anonymize = anonymize
    }

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
        guard queue.count < capacity else {
            dropped += 1
            return
        }
        queue.append(entry)
        if !flushing {
            flushing = true
            Task { await self.drain() }
        }
    }

    /// Writes everything queued so far (tests and shutdown call it; `record` schedules it).
    public func flush() async {
        while !queue.isEmpty {
            let batch = Array(queue.prefix(200))
            queue.removeFirst(batch.count)
            let rows = batch.map {
                WatchLog(
                    videoID: $0.videoID, userID: $0.userID,
                    remoteAddress: anonymize ? $0.remoteAddress.map(Self.anonymized) : $0.remoteAddress, userAgent: $0.userAgent,
                    source: $0.source, status: $0.status, at: $0.at)
            }
            do {
                try await rows.create(on: db)
            } catch {
                logger.warning("watch log: could not write \(rows.count) entries: \(String(reflecting: error))")
            }
        }
    }

    private func drain() async {
        // A short pause gathers a burst of range requests into one insert.
        try? await Task.sleep(for: .milliseconds(200))
        await flush()
        flushing = false
        if !queue.isEmpty {
            flushing = true
            Task { await self.drain() }
        }
    }
}
