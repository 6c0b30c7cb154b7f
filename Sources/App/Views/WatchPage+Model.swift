/// `/watch?v=ID`: the player, the video's facts, its channel box, and more videos beside it.
struct WatchPage: Encodable {
    var title: String
    var videoID: Int
    var videoTitle: String
    var streamURL: String
    var posterURL: String?
    var mimeType: String
    var downloadURL: String
    var viewsText: String
    var dateText: String
    var ageText: String
    var description: String
    var channelName: String
    var channelURL: String
    var channelLogoURL: String
    var subscribersText: String
    var resolutionText: String
    var upNext: [VideoCard]
    var subscribe: SubscribeBox
    var editURL: String?
    var visibility: String
    /// The HLS master playlist, once the first rendition is published; the player prefers it.
    var hlsURL: String?
    /// Quality choices, highest first (`720p`, `480p` …), each a rendition playlist.
    var qualities: [Quality]
    var storyboardURL: String?

    struct Quality: Encodable {
        var name: String
        var url: String
    }
}
