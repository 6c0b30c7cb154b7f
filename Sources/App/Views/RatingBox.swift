import Vapor

/// The like and dislike buttons under a video: they vote in place (the API) when signed in; signed out they lead to
/// sign-in and back.
struct RatingBox: Encodable {
    var videoID: Int
    var likes: Int
    var dislikes: Int
    var likesText: String
    var dislikesText: String
    var signedIn: Bool
    /// `like`, `dislike` or `none`.
    var mine: String
    var loginURL: String
    var apiURL: String
}

extension Request {
    /// The rating box for a video as this request's user sees it.
    func ratingBox(videoID: Int) async throws -> RatingBox {
        let counts = try await ratings.counts(videoIDs: [videoID])[videoID] ?? .init()
        var mine = VideoRating.Value.none
        if let userID = user?.id { mine = try await ratings.rating(videoID: videoID, userID: userID) }
        return RatingBox(
            videoID: videoID, likes: counts.likes, dislikes: counts.dislikes, likesText: Formatting.count(counts.likes),
            dislikesText: Formatting.count(counts.dislikes), signedIn: user != nil, mine: mine.rawValue,
            loginURL: AuthController.loginURL(next: SiteURL.watch(videoID)), apiURL: "/api/v1/videos/\(videoID)/rating")
    }
}
