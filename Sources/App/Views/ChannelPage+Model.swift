/// `/@handle`: the channel header (logo, name, @handle, about, joined, subscribers) and its videos.
struct ChannelPage: Encodable {
    var title: String
    var name: String
    var handle: String
    var logoURL: String
    var about: String
    var joinedText: String
    var subscribersText: String
    var videoCountText: String
    var videos: [VideoCard]
    var bannerURL: String?
    var language: String
    var category: String
    var links: [String]
    var subscribe: SubscribeBox
    /// While the channel is live: its stream, shown above the videos.
    var live: LiveBanner?
}

/// The live player on a channel page.
struct LiveBanner: Encodable {
    var url: String
    var playlistURL: String
    var title: String
}

/// The subscribe button wherever a channel is shown: a form for signed-in users, a sign-in link otherwise,
/// and a link to the settings for the channel's owner.
struct SubscribeBox: Encodable {
    var channelID: Int
    var signedIn: Bool
    var subscribed: Bool
    var canEdit: Bool
    var settingsURL: String
    var loginURL: String
}
