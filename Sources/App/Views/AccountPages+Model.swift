import Foundation

/// `/signup` and `/login`: the form, what was typed (never the password) and what went wrong.
struct AuthPage: Encodable {
    var title: String
    var next: String?
    var username = ""
    var email = ""
    var errors: [String] = []
}

/// A question before something is removed: the form posts to `action`.
struct ConfirmPage: Encodable {
    var title: String
    var heading: String
    var detail: String
    var action: String
    var button: String
    var cancelURL: String
    /// Asks for a reason (takedowns).
    var askReason = false
}

/// `/feed/subscriptions`: the channels followed and their newest videos.
struct FeedPage: Encodable {
    var title = "Subscriptions · Videotube"
    var channels: [ChannelChip]
    var videos: [VideoCard]
}

struct ChannelChip: Encodable {
    var name: String
    var url: String
    var logoURL: String
}

/// `/studio`: my channels and my videos.
struct StudioPage: Encodable {
    struct ChannelRow: Encodable {
        var id: Int
        var name: String
        var handle: String
        var url: String
        var logoURL: String
        var subscribersText: String
        var settingsURL: String
    }
    struct VideoRow: Encodable {
        var id: Int
        var title: String
        var channelHandle: String
        var thumbnailURL: String?
        var visibility: String
        var status: String
        var problem: String?
        var viewsText: String
        var dateText: String
        var editURL: String
        var watchURL: String
    }
    var title = "Studio · Videotube"
    var channels: [ChannelRow]
    var videos: [VideoRow]
}

/// `/studio/upload`: a resumable (tus) upload with progress, and an import from a URL.
struct UploadPage: Encodable {
    struct ChannelOption: Encodable {
        var handle: String
        var name: String
        var selected: Bool
    }
    var title = "Upload · Videotube"
    var channels: [ChannelOption]
    var maxUploadText: String
    var maxUploadBytes: Int64
    var importURL = ""
    var errors: [String] = []
}

/// `/studio/channels/new` and `/studio/channels/{id}`.
struct ChannelSettingsPage: Encodable {
    struct Option: Encodable {
        var value: String
        var selected: Bool
    }
    struct Picture: Encodable {
        var kind: String
        var label: String
        var hint: String
        var url: String?
        var action: String
    }
    var title: String
    var isNew: Bool
    var action: String
    var id: Int?
    var handle: String
    var name: String
    var description: String
    var linksText: String
    var languages: [Option]
    var categories: [Option]
    var pictures: [Picture]
    var channelURL: String?
    var deleteURL: String?
    /// OBS settings for an existing channel: server, key, whether it is live now.
    var rtmpServer: String?
    var streamKey: String?
    var isLive = false
    var liveTitle = ""
    var liveTags = ""
    var nextStream = ""
    var saveReplays = true
    var errors: [String] = []
}

/// `/studio/videos/{id}`.
struct VideoEditPage: Encodable {
    struct Option: Encodable {
        var value: String
        var label: String
        var selected: Bool
    }
    var title: String
    var id: Int
    var videoTitle: String
    var description: String
    var visibilities: [Option]
    var thumbnailURL: String?
    var watchURL: String
    var deleteURL: String
    var takedownReason: String?
    var statusText: String
    /// Still being processed (the page polls for progress), and why it failed, if it did.
    var processing: Bool
    var failureReason: String?
    var errors: [String] = []
}

/// `/admin`: site totals and the way to each list.
struct AdminPage: Encodable {
    struct Total: Encodable {
        var label: String
        var value: String
        var url: String?
    }
    var title = "Admin · Videotube"
    var totals: [Total]
}

struct AdminUsersPage: Encodable {
    struct Row: Encodable {
        var id: Int
        var username: String
        var email: String
        var role: String
        var disabled: Bool
        var isSelf: Bool
        var channelsText: String
        var joinedText: String
        var lastLoginText: String
    }
    var title = "Users · Admin · Videotube"
    var query: String
    var users: [Row]
}

struct AdminChannelsPage: Encodable {
    struct Row: Encodable {
        var id: Int
        var name: String
        var handle: String
        var url: String
        var owner: String
        var subscribersText: String
        var videosText: String
    }
    var title = "Channels · Admin · Videotube"
    var channels: [Row]
}

struct AdminVideosPage: Encodable {
    struct Row: Encodable {
        var id: Int
        var title: String
        var channelHandle: String
        var visibility: String
        var status: String
        var viewsText: String
        var dateText: String
        var takedownReason: String?
        var watchURL: String
    }
    var title = "Videos · Admin · Videotube"
    var videos: [Row]
    var nextPage: Int?
}

struct WatchLogPage: Encodable {
    struct Row: Encodable {
        var time: String
        var videoID: Int
        var videoTitle: String
        var user: String
        var address: String
        var source: String
        var status: Int
        var userAgent: String
    }
    var title = "Watch log · Admin · Videotube"
    var filters: WatchLogFilter
    var sources: [String]
    var rows: [Row]
    var total: Int
    var nextPageURL: String?
}
