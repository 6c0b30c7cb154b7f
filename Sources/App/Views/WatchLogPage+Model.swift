import Foundation

/// `/admin/watch-log`: playback requests, newest first, with filters.
struct WatchLogPage: Encodable {
    struct Row: Encodable {
        var time: String
        var videoID: Int
        var videoTitle: String
        var watchURL: String
        var user: String
        var address: String
        var source: String
        var status: Int
        var userAgent: String
    }
    var title = "Watch log · Admin · Videotube"
    var filterAction = SiteURL.adminWatchLog.path
    var filters: WatchLogFilter
    var sources = ["", "media", "stream", "download"]
    var rows: [Row]
    var total: Int
    var nextPageURL: String?

    /// Entries with their videos loaded, each beside its user (nil: anonymous or deleted).
    init(entries: [(WatchLog, User?)], total: Int, filters: WatchLogFilter) {
        self.filters = filters
        self.total = total
        rows = entries.map { entry, user in
            Row(
                time: Formatting.iso8601(entry.createdAt), videoID: entry.$video.id, videoTitle: entry.video.title,
                watchURL: SiteURL.watch(entry.$video.id), user: user?.username ?? (entry.userID.map { "#\($0)" } ?? "anonymous"),
                address: entry.remoteAddress ?? "", source: entry.source, status: entry.status,
                userAgent: String((entry.userAgent ?? "").prefix(80)))
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
