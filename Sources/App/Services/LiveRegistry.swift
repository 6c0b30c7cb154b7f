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
    /// Each live channel's low-latency fragments, while its publisher is on this node.
    private let streams = NIOLockedValueBox((byChannel: [Int: LiveFragmentStore](), generation: 0))
    private let observers = NIOLockedValueBox([@Sendable (Int, Bool) -> Void]())

    public init() {}

    /// Claims the channel for a publisher; false when another one is live.
    public func claim(channelID: Int, disconnect: @escaping @Sendable () -> Void, now: Date = Date()) -> Bool {
        let claimed = entries.withLockedValue { entries in
            guard entries[channelID] == nil else { return false }
            entries[channelID] = Entry(channelID: channelID, startedAt: now, disconnect: disconnect)
            return true
        }
        if claimed { notify(channelID, true) }
        return claimed
    }

    public func release(channelID: Int) {
        let released = entries.withLockedValue { $0.removeValue(forKey: channelID) } != nil
        streams.withLockedValue { $0.byChannel.removeValue(forKey: channelID) }?.end()
        if released { notify(channelID, false) }
    }

    /// A fragment store for a new broadcast of the channel, replacing any older one; its generation is new.
    public func openStream(channelID: Int) -> LiveFragmentStore {
        let (store, old) = streams.withLockedValue { s -> (LiveFragmentStore, LiveFragmentStore?) in
            // Generations count from the time, so a restarted server does not hand out names a player has cached.
            s.generation = max(s.generation + 1, Int(Date().timeIntervalSince1970) % 1_000_000_000)
            let store = LiveFragmentStore(channelID: channelID, generation: s.generation)
            let old = s.byChannel.updateValue(store, forKey: channelID)
            return (store, old)
        }
        old?.end()
        return store
    }

    /// The channel's fragments, when its publisher is on this node.
    public func stream(channelID: Int) -> LiveFragmentStore? { streams.withLockedValue { $0.byChannel[channelID] } }

    /// Calls `observer` whenever a channel goes live or offline on this node (the chat pushes it to its readers).
    public func observe(_ observer: @escaping @Sendable (_ channelID: Int, _ live: Bool) -> Void) {
        observers.withLockedValue { $0.append(observer) }
    }

    private func notify(_ channelID: Int, _ live: Bool) {
        for observer in observers.withLockedValue({ $0 }) { observer(channelID, live) }
    }

    public func isLive(channelID: Int) -> Bool { entries.withLockedValue { $0[channelID] != nil } }

    /// How many channels publish to this node now.
    public var liveCount: Int { entries.withLockedValue { $0.count } }

    /// Drops the channel's publisher, if it has one here.
    public func disconnect(channelID: Int, reason: String) {
        let entry = entries.withLockedValue { $0[channelID] }
        entry?.disconnect()
    }
}
