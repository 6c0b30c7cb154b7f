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
}
