import Vapor

/// `GET /api/v1/search` without `type`: the first page of each kind.
struct SearchDTO: Content {
    var query: String
    var videos: PageDTO<VideoDTO>
    var channels: PageDTO<ChannelDTO>
    var live: PageDTO<LiveChannelDTO>
}

/// `GET /api/v1/search/suggest`: what the search box offers while someone types.
struct SuggestionsDTO: Content {
    struct Suggestion: Content {
        /// `video`, `channel` or `live`.
        var type: String
        var text: String
        /// The page it leads to (site-relative).
        var url: String
    }
    var query: String
    var suggestions: [Suggestion]
}
