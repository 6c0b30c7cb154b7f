import Fluent
import Foundation

/// One playback session in the watch log: a viewer watching one video (or one channel's live stream) through one
/// source, from its first request until a minute passes without another. The row is written at the first request
/// and brought up to date while the session lasts (last request, requests, bytes), never a row per segment.
public final class WatchSession: Model, @unchecked Sendable {
    public static let schema = "watch_sessions"

    /// Where the bytes came from.
    public enum Source: String, Codable, Sendable, CaseIterable {
        /// The sendfile media listener (signed `/m/…` URLs: the original file).
        case media
        /// The app's own byte route, `/videos/{id}/stream`.
        case stream
        /// `/videos/{id}/download`.
        case download
        /// The HLS renditions, `/videos/{id}/hls/…` (what the watch page plays).
        case hls
        /// A channel's live stream, `/live/{handle}/…`.
        case live
    }

    // managed
    @ID(custom: "id", generatedBy: .database) public var id: Int?

    // references
    /// The video watched; nil for a live session.
    @OptionalParent(key: "video_id") public var video: Video?
    /// The channel whose live stream was watched; nil for a video.
    @OptionalParent(key: "channel_id") public var channel: Channel?
    /// The signed-in user who watched, if any.
    @OptionalField(key: "user_id") public var userID: Int?

    // data
    /// This session's key, made by the node that saw it start (the row's upsert key).
    @Field(key: "session_key") public var sessionKey: String
    @OptionalField(key: "remote_address") public var remoteAddress: String?
    @OptionalField(key: "user_agent") public var userAgent: String?
    @Field(key: "source") public var source: Source
    /// The status of the session's first response (200, 206, 304, 416…).
    @Field(key: "status") public var status: Int
    @Field(key: "started_at") public var startedAt: Date
    @Field(key: "last_seen_at") public var lastSeenAt: Date
    @Field(key: "requests") public var requests: Int
    /// Body bytes sent (HEAD requests send none).
    @Field(key: "bytes") public var bytes: Int64

    public init() {}

    /// Seconds from the first request to the last.
    public var seconds: Int { max(0, Int(lastSeenAt.timeIntervalSince(startedAt).rounded())) }
}
