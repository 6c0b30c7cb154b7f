/// `/`: the grid of newest (or most viewed) public videos.
struct HomePage: Encodable {
    var title = "Videotube"
    var sort: String
    var videos: [VideoCard]
    var nextPage: Int?
    /// "Live now": live channels, most watched first.
    var live: [LiveCard] = []
}
