import Fluent
import Foundation
import NIOConcurrencyHelpers

/// The publishers connected to this node, by channel: one per channel (a second is refused).
public final class LiveRegistry: Sendable {
    public struct Entry: Sendable {
        public let channelID: Int
        public let startedAt: Date
        let disconnect: @Sendable () -> Void
    }

    private let entries = NIOLockedValueBox([Int: Entry]())

    public init() {}

    /// Claims the channel for a publisher; false when another one is live.
    public func claim(channelID: Int, disconnect: @escaping @Sendable () -> Void, now: Date = Date()) -> Bool {
        entries.withLockedValue { entries in
            guard entries[channelID] == nil else { return false }
            entries[channelID] = Entry(channelID: channelID, startedAt: now, disconnect: disconnect)
            return true
        }
    }

    public func release(channelID: Int) {
        _ = entries.withLockedValue { $0.removeValue(forKey: channelID) }
    }

    public func isLive(channelID: Int) -> Bool { entries.withLockedValue { $0[channelID] != nil } }

    /// Drops the channel's publisher, if it has one here.
    public func disconnect(channelID: Int, reason: String) {
        let entry = entries.withLockedValue { $0[channelID] }
        entry?.disconnect()
    }
}
