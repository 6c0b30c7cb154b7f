import Foundation

/// `/studio/videos/{id}`.
struct VideoEditPage: Encodable {
    struct Option: Encodable {
        var value: String
        var label: String
        var selected: Bool
    }
    var title: String
    var id: Int
    var action: String
    var videoTitle: String
    var description: String
    var titleLimit = VideoLimits.title
    var descriptionLimit = VideoLimits.description
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

    init(_ video: Video, viewer: User?, links: MediaLinks) {
        let id = video.id ?? 0
        title = "Edit “\(video.title)” · Videotube"
        self.id = id
        action = SiteURL.studioVideo(.value(id)).path
        videoTitle = video.title
        description = video.description
        visibilities = [
            Option(value: "public", label: "Public: everyone can find and watch it", selected: video.visibility == .public),
            Option(value: "unlisted", label: "Unlisted: anyone with the link can watch it", selected: video.visibility == .unlisted),
            Option(value: "private", label: "Private: only you", selected: video.visibility == .private),
        ]
        thumbnailURL = links.url(key: video.thumbnailKey, of: video, for: viewer)
        watchURL = SiteURL.watch(id)
        deleteURL = SiteURL.studioVideoDelete(.value(id)).path
        takedownReason = video.takedownReason
        statusText =
            "\(video.status.rawValue.capitalizedFirst) • \(Formatting.counted(video.views, "view")) • uploaded \(Formatting.day(video.createdAt))"
        processing = video.status == .processing
        failureReason = video.failureReason
    }
}
