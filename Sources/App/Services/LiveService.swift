import Fluent
import Foundation
import NIOConcurrencyHelpers

/// Stream keys and who is live. Keys are random, shown only to the channel's owner, and replaced on demand;
/// replacing one drops a publisher that used the old key at once.
public struct LiveService: Sendable {
    public let db: any Database
    public let registry: LiveRegistry

    public init(db: any Database, registry: LiveRegistry) {
        self.db = db
        self.registry = registry
    }

    /// The channel's key, made the first time it is asked for.
    public func streamKey(for channel: Channel) async throws -> String {
        if let key = channel.streamKey { return key }
        return try await regenerate(channel)
    }

    /// A new key; the old one stops working now, and its publisher is disconnected.
    @discardableResult
    public func regenerate(_ channel: Channel) async throws -> String {
        let key = Secrets.token(prefix: "live_")
        channel.streamKey = key
        try await channel.save(on: db)
        registry.disconnect(channelID: try channel.requireID(), reason: "the stream key was changed")
        return key
    }

    /// What the owner sets for broadcasts (category and language are the channel's own settings).
    public struct Settings: Sendable, Codable {
        public var title: String?
        public var tags: String?
        public var next_stream: String?
        public var save_replays: Bool?
        public init(title: String? = nil, tags: String? = nil, next_stream: String? = nil, save_replays: Bool? = nil) {
            self.title = title
            self.tags = tags
            self.next_stream = next_stream
            self.save_replays = save_replays
        }
    }

    public func apply(_ settings: Settings, to channel: Channel) async throws {
        var problems: [String] = []
        var fields: [String] = []
        if let title = settings.title?.trimmingCharacters(in: .whitespacesAndNewlines) {
            if title.count > 140 {
                problems.append("A stream title has at most 140 characters.")
                fields.append("title")
            }
            channel.liveTitle = title
        }
        if let tags = settings.tags {
            let list = tags.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            if list.count > 10 || list.contains(where: { $0.count > 25 }) {
                problems.append("Up to 10 tags, each at most 25 characters, separated by commas.")
                fields.append("tags")
            }
            channel.liveTags = list.joined(separator: ", ")
        }
        if let next = settings.next_stream?.trimmingCharacters(in: .whitespacesAndNewlines) {
            if next.count > 200 {
                problems.append("The next-stream text has at most 200 characters.")
                fields.append("next_stream")
            }
            channel.nextStreamText = next
        }
        if let replays = settings.save_replays { channel.saveReplays = replays }
        guard problems.isEmpty else { throw ValidationFailure(problems: problems, fields: fields) }
        try await channel.save(on: db)
    }

    /// The channel a key belongs to, if the key is current and its owner may stream.
    public func channel(forKey key: String) async throws -> Channel? {
        guard key.hasPrefix("live_"), key.count <= 80,
            let channel = try await Channel.query(on: db).filter(\.$streamKey == key).with(\.$owner).first()
        else { return nil }
        if let owner = channel.loadedOwner, owner.disabled { return nil }
        return channel
    }
}

extension LiveService {
    /// Channels live now (by the database, so every node agrees), optionally filtered.
    public func liveChannels(category: String? = nil, language: String? = nil, tag: String? = nil) async throws -> [Channel] {
        var query = Channel.query(on: db).filter(\.$liveStartedAt != nil)
        if let category, !category.isEmpty { query = query.filter(\.$category == category) }
        if let language, !language.isEmpty { query = query.filter(\.$language == language) }
        var channels = try await query.all()
        if let tag = tag?.lowercased(), !tag.isEmpty {
            channels = channels.filter { Self.tags($0.liveTags).contains(tag) }
        }
        return channels
    }

    /// A live file's key in media storage; `AppConfig.liveDirectory` is the `live` folder of the same storage.
    public static func storageKey(channelID: Int, file: String) -> String { "live/\(channelID)/\(file)" }

    /// Whether a live folder's playlist was written in the last `seconds` (a packager that died stops writing).
    public static func isFresh(folder: String, seconds: TimeInterval = 15, now: Date = Date()) -> Bool {
        guard let modified = (try? FileManager.default.attributesOfItem(atPath: folder + "/index.m3u8"))?[.modificationDate] as? Date
        else { return false }
        return now.timeIntervalSince(modified) < seconds
    }

    /// How often the node with a publisher writes its channel's heartbeat, and how old the last one may be
    /// before any node takes the live flag down.
    public static let heartbeatInterval: TimeInterval = 5
    public static let staleAfter: TimeInterval = 15

    /// Whether the database says the channel is live (its publisher may be on another node).
    public func isFlaggedLive(channelID: Int) async throws -> Bool {
        try await Channel.find(channelID, on: db)?.liveStartedAt != nil
    }

    /// Writes the heartbeat of a channel this node has the publisher of.
    public func beat(channelID: Int, now: Date = Date()) async throws {
        try await Channel.query(on: db).set(\.$liveSeenAt, to: now).filter(\.$id == channelID).update()
    }

    /// Clears the live flag of channels whose heartbeat stopped and whose playlist went stale: left behind by a
    /// node that died mid-stream. Every node with RTMP runs this at start and then every few seconds, so a flag
    /// left by a crash goes down within `staleAfter` and a bit, restart or not.
    @discardableResult
    public func clearStale(liveRoot: String, now: Date = Date()) async throws -> Int {
        var cleared = 0
        for channel in try await Channel.query(on: db).filter(\.$liveStartedAt != nil).all() {
            guard let id = channel.id, !registry.isLive(channelID: id),
                now.timeIntervalSince(channel.liveSeenAt ?? channel.liveStartedAt ?? now) > Self.staleAfter,
                !Self.isFresh(folder: "\(liveRoot)/\(id)", now: now)
            else { continue }
            channel.liveStartedAt = nil
            channel.liveSeenAt = nil
            try await channel.save(on: db)
            cleared += 1
        }
        return cleared
    }

    /// Tags as typed in the studio, normalized as videos' are (so `/tags/{tag}` finds both), at most 10.
    public static func tags(_ text: String?) -> [String] {
        Array(VideoLimits.normalizedTags([text ?? ""]).prefix(10))
    }
}
