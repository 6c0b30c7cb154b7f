import Fluent
import Media
import Foundation

/// A channel: the owner of videos, shown at `/@handle`.
public final class Channel: Model, @unchecked Sendable {
    public static let schema = "channels"

    // managed
    @ID(custom: "id", generatedBy: .database) public var id: Int?

    // references
    /// The user who may change it; demo and imported channels without `--owner` have none (admins only).
    @OptionalParent(key: "owner_id") public var owner: User?

    // data
    /// Unique, 3–25 characters of letters, digits, `_`, `.` and `-`, kept lower-case.
    @Field(key: "handle") public var handle: String
    @Field(key: "name") public var name: String
    @Field(key: "description") public var description: String
    @OptionalField(key: "logo_key") public var logoKey: String?
    /// The wide cover image across the top of the channel page.
    @OptionalField(key: "banner_key") public var bannerKey: String?
    /// A 16:9 picture used where the channel is listed as a card (live previews replace it while live).
    @OptionalField(key: "thumbnail_key") public var thumbnailKey: String?
    /// A language name from `ChannelOptions.languages`, or empty.
    @Field(key: "language") public var language: String
    /// A category name from `ChannelOptions.categories`, or empty.
    @Field(key: "category") public var category: String
    /// Social and web links, one http(s) URL per line.
    @Field(key: "links") public var linksText: String
    @Field(key: "subscribers_count") public var subscribersCount: Int
    @Field(key: "created_at") public var createdAt: Date
    /// The private key OBS publishes with (`rtmp://HOST/live` + this key); made on first use, replaced on demand.
    @OptionalField(key: "stream_key") public var streamKey: String?
    /// Set while a publisher is live; cleared when it stops.
    @OptionalField(key: "live_started_at") public var liveStartedAt: Date?
    /// Written every few seconds by the node that has the publisher; a live flag without a recent one is stale.
    @OptionalField(key: "live_seen_at") public var liveSeenAt: Date?
    /// What the owner calls the current (or next) broadcast, its tags, and the "next stream" text shown offline.
    @OptionalField(key: "live_title") public var liveTitle: String?
    @OptionalField(key: "live_tags") public var liveTags: String?
    @OptionalField(key: "next_stream_text") public var nextStreamText: String?
    /// Save each broadcast as a video when it ends (on unless the owner turns it off).
    @OptionalField(key: "save_replays") public var saveReplays: Bool?
    /// Made by `videotube demo`: its views and subscribers are made up (shown as demo data, left out of totals).
    /// Never NULL in the table (new channels start false); optional so a channel built from a joined row may leave it out.
    @OptionalField(key: "is_demo") public var isDemo: Bool?

    @Children(for: \.$channel) public var videos: [Video]

    public init() {}

    /// The stored picture of a kind, if any.
    public func imageKey(_ kind: ImageKind) -> String? {
        switch kind {
        case .logo: logoKey
        case .banner: bannerKey
        case .thumbnail: thumbnailKey
        case .videoThumbnail: nil
        }
    }

    public func setImageKey(_ kind: ImageKind, _ key: String?) {
        switch kind {
        case .logo: logoKey = key
        case .banner: bannerKey = key
        case .thumbnail: thumbnailKey = key
        case .videoThumbnail: assertionFailure("a video's thumbnail is not a channel picture")
        }
    }

    /// What the owner called the broadcast, when they did.
    public var streamTitle: String? { liveTitle.flatMap { $0.isEmpty ? nil : $0 } }

    /// The broadcast's headline wherever it is shown: its title, or "NAME is live".
    public var liveHeadline: String { streamTitle ?? "\(name) is live" }

    public init(handle: String, name: String, description: String = "", logoKey: String? = nil, createdAt: Date = Date()) {
        self.handle = handle
        self.name = name
        self.description = description
        self.logoKey = logoKey
        self.language = ""
        self.category = ""
        self.linksText = ""
        self.subscribersCount = 0
        self.createdAt = createdAt
        self.isDemo = false
    }

    /// The owner when it was loaded with the channel.
    public var loadedOwner: User? { $owner.value.flatMap { $0 } }

    /// The channel's links, in order.
    public var links: [String] { linksText.split(separator: "\n").map(String.init) }

    /// Checks and normalises a handle; the message says what to change.
    public static func normalizedHandle(_ raw: String) throws(ValidationFailure) -> String {
        var handle = raw.trimmingCharacters(in: .whitespaces)
        if handle.hasPrefix("@") { handle.removeFirst() }
        handle = handle.lowercased()
        guard (3...25).contains(handle.count) else {
            throw ValidationFailure("a channel handle has 3 to 25 characters; '\(raw)' has \(handle.count)")
        }
        guard handle.unicodeScalars.allSatisfy({ $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "_.-".unicodeScalars.contains($0)) })
        else {
            throw ValidationFailure("a channel handle may use only letters, digits, '_', '.' and '-'; '\(raw)' has others")
        }
        return handle
    }
}

