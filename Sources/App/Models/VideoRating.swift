import Fluent
import Foundation

/// A user's like or dislike of a video; the pair is unique, so a double click or a race makes one row. Counts are
/// counted from these rows, so they are exact whatever happens at once.
public final class VideoRating: Model, @unchecked Sendable {
    public static let schema = "video_ratings"

    /// What a user said of a video.
    public enum Value: String, Codable, Sendable {
        case like, dislike, none

        /// The stored number: 1 a like, -1 a dislike (no row: none).
        var number: Int? {
            switch self {
            case .like: 1
            case .dislike: -1
            case .none: nil
            }
        }

        init(number: Int?) {
            self = number == 1 ? .like : number == -1 ? .dislike : .none
        }
    }

    // managed
    @ID(custom: "id", generatedBy: .database) public var id: Int?
    @Field(key: "updated_at") public var updatedAt: Date

    // references
    @Parent(key: "video_id") public var video: Video
    @Parent(key: "user_id") public var user: User

    // data
    /// 1 a like, -1 a dislike.
    @Field(key: "value") public var value: Int

    public init() {}
}
