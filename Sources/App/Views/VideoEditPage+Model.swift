import Foundation

/// `/studio/videos/{id}`.
struct VideoEditPage: Encodable {
    var title: String
    var id: Int
    var action: String
    var videoTitle: String
    var description: String
    var titleLimit = VideoLimits.title
    var descriptionLimit = VideoLimits.description
    /// Its tags, comma-separated, as the form shows them.
    var tags: String
    var tagsHint = "Up to \(VideoLimits.tagCount) tags, separated by commas, each at most \(VideoLimits.tagLength) characters."
    /// Who may comment: `on`, `hold` (every new comment waits for approval) or `off`; set by the handler.
    var commentOptions: [CommentOption] = []
    var visibilities: [VisibilityOption]
    var thumbnailURL: String?
    /// The custom thumbnail form (multipart `image`).
    var thumbnailAction: String
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
        tags = video.tags.joined(separator: ", ")
        visibilities = VisibilityOption.all(selected: video.visibility)
        thumbnailAction = SiteURL.studioVideoThumbnail(.value(id)).path
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

/// One radio of the visibility choice, on the upload and edit pages.
struct VisibilityOption: Encodable {
    var value: String
    var label: String
    var selected: Bool

    static func all(selected: Visibility) -> [VisibilityOption] {
        Visibility.allCases.map { visibility in
            let label =
                switch visibility {
                case .public: "Public: everyone can find and watch it"
                case .unlisted: "Unlisted: anyone with the link can watch it"
                case .private: "Private: only you"
                }
            return VisibilityOption(value: visibility.rawValue, label: label, selected: visibility == selected)
        }
    }
}

/// One choice of who may comment, on the edit page.
struct CommentOption: Encodable {
    var value: String
    var label: String
    var selected: Bool

    static func all(selected: CommentPolicy) -> [CommentOption] {
        CommentPolicy.allCases.map { CommentOption(value: $0.rawValue, label: $0.label, selected: $0 == selected) }
    }
}
