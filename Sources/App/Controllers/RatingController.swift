import Fluent
import Vapor

/// Likes and dislikes over the API (the watch page's buttons use it too).
struct RatingController {
    /// PUT /api/v1/videos/:id/rating `{"rating": "like"|"dislike"|"none"}` — the caller's rating, set again or
    /// changed; answers the counts after it.
    func rate(req: Request) async throws -> RatingDTO {
        let user = try req.requireUser()
        let id = try req.numericID(status: .badRequest, what: "video")
        struct Body: Content { var rating: String? }
        let raw = (try? req.content.decode(Body.self))?.rating ?? ""
        guard let rating = VideoRating.Value(rawValue: raw) else {
            throw ValidationFailure("Send {\"rating\": \"like\"}, \"dislike\" or \"none\", not '\(raw.prefix(40))'.", field: "rating")
        }
        guard try await req.catalog.watchableVideo(id: id, viewer: user) != nil else {
            throw Abort(.notFound, reason: "no video with id \(id)")
        }
        let ratings = req.ratings
        try await ratings.rate(videoID: id, userID: try user.requireID(), rating)
        req.changesOnlyCounters()  // shared pages keep their (≤ 5 s old) counts, as for views
        let counts = try await ratings.counts(videoIDs: [id])[id] ?? .init()
        return RatingDTO(video_id: id, likes: counts.likes, dislikes: counts.dislikes, my_rating: rating.rawValue)
    }
}

extension Request {
    /// `videos` with their like and dislike counts (one grouped query), and the caller's own ratings when signed in.
    func withRatings(_ videos: [VideoDTO]) async throws -> [VideoDTO] {
        let counts = try await ratings.counts(videoIDs: videos.map(\.id))
        var rated = videos
        for index in rated.indices {
            let c = counts[rated[index].id] ?? .init()
            rated[index].likes = c.likes
            rated[index].dislikes = c.dislikes
        }
        return rated
    }

    /// One video's counts and, signed in, the caller's rating.
    func withRating(_ video: VideoDTO) async throws -> VideoDTO {
        var rated = try await withRatings([video])[0]
        if let userID = user?.id { rated.my_rating = try await ratings.rating(videoID: video.id, userID: userID).rawValue }
        return rated
    }
}
