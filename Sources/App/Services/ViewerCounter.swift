import Foundation
import NIOConcurrencyHelpers

/// Who is watching each live channel: a viewer is a person (one viewer key: the user, else the browser) with a
/// live page, a chat socket or an event stream open — not a segment download, so players that prefetch or retry
/// and a page with both a player and a chat count once. Other nodes report their own counts (`ChatHub`'s
/// presence), which are added while fresh.
public final class ViewerCounter: Sendable {
    private struct Remote {
        var count: Int
        var seen: Date
    }
    /// channel → viewer key → open connections with that key on this node.
    private let local = NIOLockedValueBox([Int: [String: Int]]())
    /// channel → node → its last report.
    private let remote = NIOLockedValueBox([Int: [String: Remote]]())
    /// A node that has not reported for this long has no viewers.
    static let remoteLifetime: TimeInterval = 7

    public init() {}

    public func join(_ channelID: Int, key: String) {
        local.withLockedValue { $0[channelID, default: [:]][key, default: 0] += 1 }
    }

    public func leave(_ channelID: Int, key: String) {
        local.withLockedValue { local in
            guard var keys = local[channelID] else { return }
            let left = (keys[key] ?? 1) - 1
            keys[key] = left > 0 ? left : nil
            local[channelID] = keys.isEmpty ? nil : keys
        }
    }

    /// Viewers on this node only.
    public func localCount(_ channelID: Int) -> Int { local.withLockedValue { $0[channelID]?.count ?? 0 } }

    /// Channels with viewers on this node, and how many.
    public func localCounts() -> [Int: Int] { local.withLockedValue { $0.mapValues(\.count) } }

    /// Another node's count for a channel.
    public func report(node: String, channelID: Int, count: Int, now: Date = Date()) {
        remote.withLockedValue { remote in
            if count > 0 {
                remote[channelID, default: [:]][node] = Remote(count: count, seen: now)
            } else {
                remote[channelID]?[node] = nil
                if remote[channelID]?.isEmpty == true { remote[channelID] = nil }
            }
        }
    }

    /// Viewers of the channel on every node.
    public func count(_ channelID: Int, now: Date = Date()) -> Int {
        let others = remote.withLockedValue { remote in
            (remote[channelID] ?? [:]).values.reduce(0) { $0 + (now.timeIntervalSince($1.seen) < Self.remoteLifetime ? $1.count : 0) }
        }
        return localCount(channelID) + others
    }
}
