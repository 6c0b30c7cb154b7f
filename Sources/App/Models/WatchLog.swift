import Fluent
import Foundation

/// One playback request, as the watch log of django-sage-streaming records it.
public final class WatchLog: Model, @unchecked Sendable {
    public static let schema = "watch_logs"

    // managed
    @ID(custom: "id", generatedBy: .database) public var id: Int?

    // references
    @Parent(key: "video_id") public var video: Video
    /// The signed-in user who asked, if any (accounts arrive with their own table).
    @OptionalField(key: "user_id") public var userID: Int?

    // data
    @OptionalField(key: "remote_address") public var remoteAddress: String?
    @OptionalField(key: "user_agent") public var userAgent: String?
    /// Which route served it: `media` (the sendfile listener) or `stream` (the app's own route).
    @Field(key: "source") public var source: String
    @Field(key: "status") public var status: Int
    @Field(key: "created_at") public var createdAt: Date

    public init() {}

    public init(videoID: Int, userID: Int?, remoteAddress: String?, userAgent: String?, source: String, status: Int, at: Date) {
        self.$video.id = videoID
        self.userID = userID
        self.remoteAddress = remoteAddress
        self.userAgent = userAgent.map { String($0.prefix(500)) }
        self.source = source
        self.status = status
        self.createdAt = at
    }
}
