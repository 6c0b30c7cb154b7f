/// `/`: the grid of newest (or most viewed) public videos.
struct HomePage: Encodable {
    var title = "Videotube"
    var sort: String
    var videos: [VideoCard]
    var nextPage: Int?
    /// "Live now": live channels, most watched first.
    var live: [LiveCard] = []
}

/// A live channel in the home page's "Live now" row.
struct LiveCard: Encodable {
    var url: String
    var title: String
    var channelName: String
    var logoURL: String
    var viewersText: String
    var category: String
    var previewURL: String
}
