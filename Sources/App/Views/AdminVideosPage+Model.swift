import Foundation

/// `/admin/videos?page=`: every video, newest first, to take down or restore.
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
        var takedownURL: String
        var restoreAction: String
    }
    var title = "Videos · Admin · Videotube"
    var videos: [Row]
    var nextPageURL: String?

    /// `videos` with their channels loaded.
    init(videos: [Video], nextPage: Int?) throws {
        self.videos = try videos.map { video in
            let id = try video.requireID()
            return Row(
                id: id, title: video.title, channelHandle: video.channel.handle, visibility: video.visibility.rawValue,
                status: video.status.rawValue, viewsText: Formatting.counted(video.views, "view"),
                dateText: Formatting.day(video.createdAt),
                takedownReason: video.takedownReason, watchURL: SiteURL.watch(id), takedownURL: SiteURL.adminVideoTakedown(.value(id)).path,
                restoreAction: SiteURL.adminVideoRestore(.value(id)).path)
        }
        nextPageURL = nextPage.map { SiteURL.adminVideos.path + "?page=\($0)" }
    }
}
