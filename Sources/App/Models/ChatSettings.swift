import Fluent
import Foundation

/// A channel's chat rules, set by its owner. A channel without a row has the defaults.
public final class ChatSettings: Model, @unchecked Sendable {
    public static let schema = "chat_settings"

    // managed
    @ID(custom: "channel_id", generatedBy: .user) public var id: Int?

    // data
    /// Seconds one user waits between two lines (0: off). Owner, moderators and admins are exempt.
    @Field(key: "slow_mode_seconds") public var slowModeSeconds: Int
    @Field(key: "subscribers_only") public var subscribersOnly: Bool
    /// One word or phrase per line; matched as whole words, ignoring case and accents.
    @Field(key: "blocked_words") public var blockedWords: String
    @Field(key: "links_allowed") public var linksAllowed: Bool

    public init() {}

    public init(channelID: Int) {
        self.id = channelID
        self.slowModeSeconds = 0
        self.subscribersOnly = false
        self.blockedWords = ""
        self.linksAllowed = true
    }
}
