import Foundation

/// `/studio/channels/{id}/chat`: the chat's rules, its moderators, who is banned or timed out, and the
/// moderation log.
struct StudioChatPage: Encodable {
    struct Person: Encodable {
        var username: String
        var detail: String
        var removeAction: String
    }
    struct LogLine: Encodable {
        var when: String
        var whenText: String
        var text: String
    }
    var title: String
    var channelName: String
    var settingsURL: String
    var action: String
    var moderatorsAction: String
    var slowModeSeconds: Int
    var subscribersOnly: Bool
    var linksAllowed: Bool
    var blockedWords: String
    var canAppoint: Bool
    var moderators: [Person]
    var bans: [Person]
    var log: [LogLine]
    var errors: [String] = []

    init(channel: Channel, settings: ChatSettings, canAppoint: Bool, moderators: [ChatModeratorDTO], bans: [ChatBanDTO], log: [ChatModerationDTO]) {
        let id = channel.id ?? 0
        title = "Chat settings · \(channel.name) · Studio"
        channelName = channel.name
        settingsURL = SiteURL.studioChannel(.value(id)).path
        action = SiteURL.studioChannelChat(.value(id)).path
        moderatorsAction = SiteURL.studioChannelModerators(.value(id)).path
        slowModeSeconds = settings.slowModeSeconds
        subscribersOnly = settings.subscribersOnly
        linksAllowed = settings.linksAllowed
        blockedWords = settings.blockedWords
        self.canAppoint = canAppoint
        self.moderators = moderators.map {
            Person(username: $0.username, detail: "since \($0.added_at.prefix(10))", removeAction: SiteURL.studioChannelModeratorRemove(.value(id), .value($0.user_id)).path)
        }
        self.bans = bans.map {
            Person(username: $0.username, detail: $0.until.map { "timed out until \($0.replacingOccurrences(of: "T", with: " ").prefix(16)) UTC" } ?? "banned",
                   removeAction: SiteURL.studioChannelUnban(.value(id), .value($0.user_id)).path)
        }
        self.log = log.map { entry in
            let who = entry.moderator ?? "someone"
            let target = entry.target ?? "a user"
            let text: String =
                switch entry.action {
                case "delete": "\(who) deleted a message by \(target): “\(entry.detail)”"
                case "timeout": "\(who) timed out \(target) for \(entry.detail)"
                case "ban": "\(who) banned \(target)"
                case "unban": "\(who) lifted the ban on \(target)"
                case "add_moderator": "\(who) made \(target) a moderator"
                case "remove_moderator": "\(who) removed \(target) as a moderator"
                default: "\(who) changed the settings: \(entry.detail)"
                }
            return LogLine(when: entry.created_at, whenText: String(entry.created_at.replacingOccurrences(of: "T", with: " ").prefix(16)) + " UTC", text: text)
        }
    }
}
