import Foundation

/// `/search?q=`: live channels, channels and videos that match, with a tab per kind.
struct SearchPage: Encodable {
    struct Tab: Encodable {
        var label: String
        var url: String
        var active: Bool
    }
    var title: String
    var query: String
    var tabs: [Tab]
    var live: [LiveCard] = []
    var liveTotal = 0
    var channels: [ChannelCard] = []
    var channelTotal = 0
    var videos = VideoGrid.empty
    var videoTotal = 0
    var nextPageURL: String?
    /// Nothing was asked yet (an empty box).
    var empty: Bool
    private var kind: String

    init(query: String, kind: SearchService.Kind?) {
        self.query = query
        self.kind = kind?.rawValue ?? "all"
        title = query.isEmpty ? "Search · Videotube" : "\(query) · Search · Videotube"
        empty = SearchService.words(query).isEmpty
        let current = kind?.rawValue ?? "all"
        tabs = [("all", "All"), ("video", "Videos"), ("channel", "Channels"), ("live", "Live")].map { value, label in
            Tab(label: label, url: Self.url(query: query, kind: value, page: nil), active: value == current)
        }
    }

    static func url(query: String, kind: String, page: Int?) -> String {
        var components = URLComponents()
        components.path = SiteURL.search.path
        components.queryItems = [URLQueryItem(name: "q", value: query)]
        if kind != "all" { components.queryItems?.append(URLQueryItem(name: "type", value: kind)) }
        if let page { components.queryItems?.append(URLQueryItem(name: "page", value: String(page))) }
        return components.string ?? SiteURL.search.path
    }

    mutating func setNext(page: Int, perPage: Int, total: Int) {
        nextPageURL = PageWindow(page: page, perPage: perPage).next(total: total).map { Self.url(query: query, kind: kind, page: $0) }
    }
}
