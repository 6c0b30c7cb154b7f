import Fluent
import Foundation
import NIOConcurrencyHelpers

/// Pages watching each live channel on this node: a viewer is a connected live page (its event stream), not a
/// segment download, so players that prefetch or retry are not counted twice.
public final class ViewerCounter: Sendable {
    private let counts = NIOLockedValueBox([Int: Int]())

    public init() {}

    public func join(_ channelID: Int) { counts.withLockedValue { $0[channelID, default: 0] += 1 } }
    public func leave(_ channelID: Int) {
        counts.withLockedValue { counts in
            let left = (counts[channelID] ?? 1) - 1
            counts[channelID] = left > 0 ? left : nil
        }
    }
    public func count(_ channelID: Int) -> Int { counts.withLockedValue { $0[channelID] ?? 0 } }
}
