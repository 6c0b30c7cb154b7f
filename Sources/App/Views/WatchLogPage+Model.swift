import Foundation

/// `/admin/watch-log`: playback sessions, newest first, with filters.
struct WatchLogPage: Encodable {
    struct Row: Encodable {
        var time: String
        /// The video's title, or "@handle (live)".
        var what: String
        var url: String
        var user: String
        var address: String
        var source: String
        var status: Int
        var duration: String
        var requests: Int
        var bytes: String
        var userAgent: String
    }
    var title = "Watch log · Admin · Videotube"
    var filterAction = SiteURL.adminWatchLog.path
    var filters: WatchLogFilter
    var sources = [""] + WatchSession.Source.allCases.map(\.rawValue)
    var rows: [Row]
    var total: Int
    /// "1 session", "23 sessions".
    var totalText: String
    var nextPageURL: String?

    /// Sessions with their videos and channels loaded, each beside its user (nil: anonymous or deleted).
    init(entries: [(WatchSession, User?)], total: Int, filters: WatchLogFilter) {
        self.filters = filters
        self.total = total
        totalText = "\(total) session\(total == 1 ? "" : "s")"
        rows = entries.map { entry, user in
            let (what, url): (String, String) =
                if let video = entry.video, let id = video.id {
                    (video.title, SiteURL.watch(id))
                } else if let channel = entry.channel {
                    ("@\(channel.handle) (live)", SiteURL.live(.value(channel.handle)).path)
                } else {
                    ("(deleted)", "")
                }
            return Row(
                time: Formatting.iso8601(entry.startedAt), what: what, url: url,
                user: user?.username ?? (entry.userID.map { "#\($0)" } ?? "anonymous"), address: entry.remoteAddress ?? "",
                source: entry.source.rawValue, status: entry.status, duration: Formatting.duration(Double(entry.seconds)),
                requests: entry.requests, bytes: Formatting.bytes(entry.bytes), userAgent: String((entry.userAgent ?? "").prefix(80)))
        }
        if let next = PageWindow(page: filters.page, perPage: AdminService.watchLogPageSize).next(total: total) {
            var components = URLComponents()
            components.path = SiteURL.adminWatchLog.path
            components.queryItems = [
                ("video", filters.video.map(String.init)), ("user", filters.user), ("source", filters.source),
                ("status", filters.status.map(String.init)), ("from", filters.from), ("to", filters.to), ("page", String(next)),
            ].compactMap { name, value in value.flatMap { $0.isEmpty ? nil : URLQueryItem(name: name, value: $0) } }
            nextPageURL = components.string
        }
    }
}
