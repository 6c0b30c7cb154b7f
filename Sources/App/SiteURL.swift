import Vapor

/// A path parameter: `.key` where `routes.swift` registers a route, `.value(x)` where a page links to it.
enum Parameter<Value> {
    case key
    case value(Value)
}

/// Every address of the HTML site, in one place: `routes.swift` registers each route from its case, and page models,
/// redirects and form actions build their links from the same case, so a form cannot post where no route listens.
/// (The JSON API's paths are in `routes.swift` and `docs/openapi.yaml`.)
enum SiteURL {
    case home
    case channels
    case search
    case categories
    case category(Parameter<String>)
    /// `/tags/{tag}`: videos and live channels with the tag.
    case tag(Parameter<String>)
    /// `/watch?v=ID` (the id is a query item, as YouTube's is).
    case watch
    /// `/@handle`; registered as the one-segment catch-all `/:handle`.
    case channel(Parameter<String>)
    case signup, login, logout
    case subscribe(Parameter<Int>), unsubscribe(Parameter<Int>)
    case subscriptionsFeed

    case studio, studioUpload, studioImport
    case studioNewChannel, studioChannels
    case studioChannel(Parameter<Int>)
    case studioChannelLive(Parameter<Int>)
    case studioChannelStreamKey(Parameter<Int>)
    case studioChannelImage(Parameter<Int>, Parameter<String>)
    case studioChannelDelete(Parameter<Int>)
    case studioVideo(Parameter<Int>)
    case studioVideoDelete(Parameter<Int>)
    case studioVideoThumbnail(Parameter<Int>)

    case admin, adminUsers, adminChannels, adminVideos, adminWatchLog
    case adminUserDelete(Parameter<Int>)
    /// `enable`, `disable`, `promote`, `demote`.
    case adminUserAction(Parameter<Int>, Parameter<String>)
    case adminVideoTakedown(Parameter<Int>)
    case adminVideoRestore(Parameter<Int>)
    case adminReports
    /// `dismiss`, `delete-comment`, `take-down`, `disable-user`.
    case adminReportAction(Parameter<Int>, Parameter<String>)

    case live(Parameter<String>)
    case liveEvents(Parameter<String>)
    case liveFile(Parameter<String>, Parameter<String>)
    /// The chat alone (a pop-out window, or an OBS browser source with `?overlay=1`).
    case liveChat(Parameter<String>)
    /// The low-latency chunked fMP4 stream, the LL-HLS playlist and its files.
    case liveStream(Parameter<String>)
    case liveLowLatencyPlaylist(Parameter<String>)
    case liveLowLatencyFile(Parameter<String>, Parameter<String>)

    case studioChannelChat(Parameter<Int>)
    case studioChannelModerators(Parameter<Int>)
    case studioChannelModeratorRemove(Parameter<Int>, Parameter<Int>)
    case studioChannelUnban(Parameter<Int>, Parameter<Int>)

    private enum Segment {
        case constant(String)
        /// A parameter's name (the route's `:name`) and, for a link, its value as it appears in the path.
        case parameter(String, String?)
    }

    private static func id(_ p: Parameter<Int>) -> Segment {
        if case .value(let id) = p { return .parameter("id", String(id)) }
        return .parameter("id", nil)
    }

    private static func user(_ p: Parameter<Int>) -> Segment {
        if case .value(let id) = p { return .parameter("user_id", String(id)) }
        return .parameter("user_id", nil)
    }

    private static func text(_ name: String, _ p: Parameter<String>) -> Segment {
        if case .value(let text) = p { return .parameter(name, text) }
        return .parameter(name, nil)
    }

    private var segments: [Segment] {
        switch self {
        case .home: []
        case .channels: [.constant("channels")]
        case .search: [.constant("search")]
        case .categories: [.constant("categories")]
        case .category(let slug): [.constant("categories"), Self.text("slug", slug)]
        case .tag(let tag): [.constant("tags"), Self.text("tag", tag)]
        case .watch: [.constant("watch")]
        case .channel(let handle):
            if case .value(let handle) = handle { [.parameter("handle", "@" + handle)] } else { [.parameter("handle", nil)] }
        case .signup: [.constant("signup")]
        case .login: [.constant("login")]
        case .logout: [.constant("logout")]
        case .subscribe(let id): [.constant("channels"), Self.id(id), .constant("subscribe")]
        case .unsubscribe(let id): [.constant("channels"), Self.id(id), .constant("unsubscribe")]
        case .subscriptionsFeed: [.constant("feed"), .constant("subscriptions")]
        case .studio: [.constant("studio")]
        case .studioUpload: [.constant("studio"), .constant("upload")]
        case .studioImport: [.constant("studio"), .constant("import")]
        case .studioNewChannel: [.constant("studio"), .constant("channels"), .constant("new")]
        case .studioChannels: [.constant("studio"), .constant("channels")]
        case .studioChannel(let id): [.constant("studio"), .constant("channels"), Self.id(id)]
        case .studioChannelLive(let id): [.constant("studio"), .constant("channels"), Self.id(id), .constant("live")]
        case .studioChannelStreamKey(let id): [.constant("studio"), .constant("channels"), Self.id(id), .constant("stream-key")]
        case .studioChannelImage(let id, let kind):
            [.constant("studio"), .constant("channels"), Self.id(id), .constant("images"), Self.text("kind", kind)]
        case .studioChannelDelete(let id): [.constant("studio"), .constant("channels"), Self.id(id), .constant("delete")]
        case .studioVideo(let id): [.constant("studio"), .constant("videos"), Self.id(id)]
        case .studioVideoDelete(let id): [.constant("studio"), .constant("videos"), Self.id(id), .constant("delete")]
        case .studioVideoThumbnail(let id): [.constant("studio"), .constant("videos"), Self.id(id), .constant("thumbnail")]
        case .admin: [.constant("admin")]
        case .adminUsers: [.constant("admin"), .constant("users")]
        case .adminChannels: [.constant("admin"), .constant("channels")]
        case .adminVideos: [.constant("admin"), .constant("videos")]
        case .adminWatchLog: [.constant("admin"), .constant("watch-log")]
        case .adminUserDelete(let id): [.constant("admin"), .constant("users"), Self.id(id), .constant("delete")]
        case .adminUserAction(let id, let action): [.constant("admin"), .constant("users"), Self.id(id), Self.text("action", action)]
        case .adminVideoTakedown(let id): [.constant("admin"), .constant("videos"), Self.id(id), .constant("takedown")]
        case .adminVideoRestore(let id): [.constant("admin"), .constant("videos"), Self.id(id), .constant("restore")]
        case .adminReports: [.constant("admin"), .constant("reports")]
        case .adminReportAction(let id, let action): [.constant("admin"), .constant("reports"), Self.id(id), Self.text("action", action)]
        case .live(let handle): [.constant("live"), Self.text("handle", handle)]
        case .liveEvents(let handle): [.constant("live"), Self.text("handle", handle), .constant("events")]
        case .liveFile(let handle, let file): [.constant("live"), Self.text("handle", handle), Self.text("file", file)]
        case .liveChat(let handle): [.constant("live"), Self.text("handle", handle), .constant("chat")]
        case .liveStream(let handle): [.constant("live"), Self.text("handle", handle), .constant("stream.mp4")]
        case .liveLowLatencyPlaylist(let handle): [.constant("live"), Self.text("handle", handle), .constant("ll.m3u8")]
        case .liveLowLatencyFile(let handle, let file):
            [.constant("live"), Self.text("handle", handle), .constant("ll"), Self.text("file", file)]
        case .studioChannelChat(let id): [.constant("studio"), .constant("channels"), Self.id(id), .constant("chat")]
        case .studioChannelModerators(let id): [.constant("studio"), .constant("channels"), Self.id(id), .constant("moderators")]
        case .studioChannelModeratorRemove(let id, let user):
            [.constant("studio"), .constant("channels"), Self.id(id), .constant("moderators"), Self.user(user), .constant("remove")]
        case .studioChannelUnban(let id, let user):
            [.constant("studio"), .constant("channels"), Self.id(id), .constant("bans"), Self.user(user), .constant("remove")]
        }
    }

    /// What `routes.swift` registers: constants and `:name` parameters.
    var pathComponents: [PathComponent] {
        segments.map {
            switch $0 {
            case .constant(let text): .constant(text)
            case .parameter(let name, _): .parameter(name)
            }
        }
    }

    /// The link: `/studio/channels/3/live`. Parameter values are percent-encoded as path segments.
    var path: String {
        "/"
            + segments.map {
                switch $0 {
                case .constant(let text): text
                case .parameter(let name, let value):
                    value.map { $0.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(["/"])) ?? $0 } ?? ":" + name
                }
            }.joined(separator: "/")
    }

    /// The watch page of a video.
    static func watch(_ id: Int) -> String { SiteURL.watch.path + "?v=\(id)" }
}
