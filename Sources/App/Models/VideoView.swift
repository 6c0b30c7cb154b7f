import Fluent
import Foundation
import Vapor

/// A counted view: at most one per viewer, video and clock hour (the unique key makes that hold across nodes).
public final class VideoView: Model, @unchecked Sendable {
    public static let schema = "video_views"

    // managed
    @ID(custom: "id", generatedBy: .database) public var id: Int?
    @Field(key: "created_at") public var createdAt: Date

    // references
    @Parent(key: "video_id") public var video: Video

    // data
    /// `user:ID`, `visitor:COOKIE-HASH` or `addr:HASH`.
    @Field(key: "viewer") public var viewer: String
    /// Whole hours since 1970.
    @Field(key: "hour") public var hour: Int

    public init() {}

    public init(videoID: Int, viewer: String, hour: Int, at: Date) {
        self.$video.id = videoID
        self.viewer = viewer
        self.hour = hour
        self.createdAt = at
    }
}
