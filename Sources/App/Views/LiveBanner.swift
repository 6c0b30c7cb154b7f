/// The live player on a channel page.
struct LiveBanner: Encodable {
    var url: String
    var playlistURL: String
    var title: String
}
