/// `/`: the grid of newest (or most viewed) public videos.
struct HomePage: Encodable {
    var title = "Videotube"
    var sort: String
    var videos: VideoGrid
    var nextPage: Int?
    /// "Live now": live channels, most watched first.
    var live: [LiveCard] = []
    /// Chips for the categories that have channels, and the way to all of them.
    var categories: [CategoryChip] = []
    var categoriesURL = SiteURL.categories.path
}

/// A category as a chip that leads to its page.
struct CategoryChip: Encodable {
    var name: String
    var url: String

    init(_ name: String) {
        self.name = name
        url = SiteURL.category(.value(ChannelOptions.slug(of: name))).path
    }
}
