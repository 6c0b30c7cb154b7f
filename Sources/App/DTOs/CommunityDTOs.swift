import Vapor

/// `PUT /api/v1/videos/{id}/rating`: the counts after the vote and the caller's rating.
struct RatingDTO: Content {
    var video_id: Int
    var likes: Int
    var dislikes: Int
    var my_rating: String
}

/// One entry of `GET /api/v1/categories`.
struct CategoryDTO: Content {
    var name: String
    var slug: String
    var channels: Int
    var live: Int
    var url: String
}
