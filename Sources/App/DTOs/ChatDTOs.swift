import Foundation
import Vapor

// The chat's JSON: the socket's frames (docs/CHAT.md) and the HTTP routes' bodies (docs/API.md).

/// Who wrote a line, with the badges shown beside the name.
struct ChatUserDTO: Content, Equatable {
    var id: Int
    var username: String
    var display_name: String
    /// `owner`, `moderator`, `admin`.
    var badges: [String]
}

/// `{"type":"message",…}`: one line. `offset` (seconds from the broadcast's start) only in a replay's chat.
struct ChatMessageDTO: Content, Equatable {
    var type = "message"
    var id: Int
    var user: ChatUserDTO
    var text: String
    var sent_at: String
    var offset: Double?
}

/// The first frame on every socket: the room and what this reader may do in it.
struct ChatHelloDTO: Content {
    var type = "hello"
    var channel_id: Int
    var live: Bool
    var viewers: Int
    var slow_mode_seconds: Int
    var subscribers_only: Bool
    var links_allowed: Bool
    var you: ChatUserDTO?
    var can_send: Bool
    var can_moderate: Bool
    /// Why `can_send` is false for a signed-in reader (`banned`, `timed_out`, `followers_only`), if it is.
    var reason: ChatErrorDTO?

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(type, forKey: .type)
        try c.encode(channel_id, forKey: .channel_id)
        try c.encode(live, forKey: .live)
        try c.encode(viewers, forKey: .viewers)
        try c.encode(slow_mode_seconds, forKey: .slow_mode_seconds)
        try c.encode(subscribers_only, forKey: .subscribers_only)
        try c.encode(links_allowed, forKey: .links_allowed)
        try c.encode(you, forKey: .you)  // `null` when signed out: the key is always there
        try c.encode(can_send, forKey: .can_send)
        try c.encode(can_moderate, forKey: .can_moderate)
        try c.encodeIfPresent(reason, forKey: .reason)
    }
}

/// `{"type":"delete","id"}`: a moderator removed a line.
struct ChatDeleteDTO: Content {
    var type = "delete"
    var id: Int
}

/// `{"type":"clear","user_id"}`: a ban or time-out removed that user's recent lines.
struct ChatClearDTO: Content {
    var type = "clear"
    var user_id: Int
}

/// `{"type":"error","code","message","retry_after"?}`.
struct ChatErrorDTO: Content, Equatable {
    var type = "error"
    var code: String
    var message: String
    var retry_after: Int?

    init(_ refusal: ChatRefusal) {
        code = refusal.code
        message = refusal.message
        retry_after = refusal.retryAfter
    }
}

/// A channel's chat rules: `GET`/`PATCH /api/v1/channels/{id}/chat`.
struct ChatSettingsDTO: Content {
    var slow_mode_seconds: Int
    var subscribers_only: Bool
    var blocked_words: [String]
    var links_allowed: Bool
}

/// The fields of a settings change; absent ones stay as they are.
struct ChatSettingsPatch: Content {
    var slow_mode_seconds: Int?
    var subscribers_only: Bool?
    var blocked_words: [String]?
    var links_allowed: Bool?
}

/// A channel's moderator.
struct ChatModeratorDTO: Content {
    var user_id: Int
    var username: String
    var added_at: String
}

/// A user who cannot write in a channel's chat: `until` nil for a ban.
struct ChatBanDTO: Content {
    var user_id: Int
    var username: String
    var until: String?
}

/// One line of the moderation log.
struct ChatModerationDTO: Content {
    var id: Int
    var action: String
    var moderator: String?
    var target: String?
    var message_id: Int?
    var detail: String
    var created_at: String
}

/// A page of history: newest first; `next_before` asks for the page before it.
struct ChatHistoryDTO: Content {
    var data: [ChatMessageDTO]
    var next_before: Int?
}

/// A replay's chat: every line of the broadcast with its offset from the start.
struct ChatReplayDTO: Content {
    var video_id: Int
    var channel_id: Int
    var broadcast_started_at: String
    var data: [ChatMessageDTO]
}
