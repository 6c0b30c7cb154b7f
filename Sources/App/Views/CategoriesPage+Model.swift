import Foundation

/// `/categories`: every category with its channel and live counts.
struct CategoriesPage: Encodable {
    struct Item: Encodable {
        var name: String
        var url: String
        var countsText: String
        var live: Int
    }
    var title = "Categories · Videotube"
    var categories: [Item]

    init(categories: [CategoryDTO]) {
        self.categories = categories.map { c in
            Item(
                name: c.name, url: c.url,
                countsText: Formatting.counted(c.channels, "channel") + (c.live > 0 ? " · \(c.live) live" : ""), live: c.live)
        }
    }
}

/// `/categories/{slug}` and `/tags/{tag}`: the live channels, then the videos.
struct CategoryPage: Encodable {
    var title: String
    var name: String
    var live: [LiveCard]
    var videos: VideoGrid
    var nextPageURL: String?
    /// The link above the heading: every category, or a search for the tag.
    var allURL: String
    var allName: String

    init(name: String, allURL: String, allName: String, live: [LiveCard], videos: VideoGrid, nextPageURL: String?) {
        title = "\(name) · Videotube"
        self.name = name
        self.allURL = allURL
        self.allName = allName
        self.live = live
        self.videos = videos
        self.nextPageURL = nextPageURL
    }
}
