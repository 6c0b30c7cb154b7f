import Foundation

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
    var importAction = SiteURL.studioImport.path
    var importURL = ""
    var titleLimit = VideoLimits.title
    var descriptionLimit = VideoLimits.description
    /// Chosen before the file is sent: the video is created with it (public unless changed).
    var visibilities = VisibilityOption.all(selected: .public)
    var errors: [String] = []

    /// The user's channels, `selected` (a handle) or the first chosen.
    init(channels: [Channel], selected: String?, maxUploadBytes: Int64) {
        self.channels = channels.enumerated().map { index, channel in
            ChannelOption(handle: channel.handle, name: channel.name, selected: selected.map { $0 == channel.handle } ?? (index == 0))
        }
        maxUploadText = Formatting.bytes(maxUploadBytes)
        self.maxUploadBytes = maxUploadBytes
    }
}
