import Fluent
import Vapor

/// The path's channel or video, found once for every controller. `idStatus` is what a malformed id answers:
/// 400 in `/api/v1`, 404 on pages.
extension Request {
    /// `:id` as a number or `@handle`.
    func channelParameter(idStatus: HTTPResponseStatus) async throws -> Channel {
        let raw = parameters.get("id") ?? ""
        if raw.hasPrefix("@") {
            guard let channel = try await catalog.channel(handle: String(raw.dropFirst())) else {
                throw Abort(.notFound, reason: "no channel \(raw.prefix(40))")
            }
            return channel
        }
        let id = try numericID(status: idStatus, what: "channel")
        guard let channel = try await catalog.channel(id: id) else { throw Abort(.notFound, reason: "no channel with id \(id)") }
        return channel
    }

    /// The path's channel if the caller may change it: 401 signed out, 404 unknown, 403 someone else's.
    func editableChannel(idStatus: HTTPResponseStatus) async throws -> Channel {
        let user = try requireUser()
        let channel = try await channelParameter(idStatus: idStatus)
        try Policy.requireEdit(channel, by: user)
        return channel
    }

    /// The path's video, whatever its state, if the caller may change it: 401 signed out, 403 for someone else's
    /// video they can watch, and for one they cannot (private, taken down, unfinished) the same 404 as a missing
    /// id, so no answer tells a stranger that it exists.
    func editableVideo(idStatus: HTTPResponseStatus) async throws -> Video {
        let user = try requireUser()
        let id = try numericID(status: idStatus, what: "video")
        guard let video = try await catalog.anyVideo(id: id), Policy.canEdit(video.channel, by: user) || Policy.canWatch(video, by: user)
        else { throw Abort(.notFound, reason: "no video with id \(id)") }
        try Policy.requireEdit(video.channel, by: user)
        return video
    }
}
