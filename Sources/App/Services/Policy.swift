import Fluent
import Foundation
import Media
import SQLKit
import Vapor

/// Who may change what: a channel's owner or an admin. Everyone else gets 403 and nothing changes.
public enum Policy {
    public static func canEdit(_ channel: Channel, by user: User?) -> Bool {
        guard let user else { return false }
        return user.isAdmin || (channel.$owner.id != nil && channel.$owner.id == user.id)
    }

    /// Whether `user` may be handed signed media URLs for `video` (its channel loaded): admins always; nobody else
    /// for a taken-down video (its owner sees the reason instead); only its owner for a private one.
    public static func mayGetMediaURLs(_ video: VideoRecord, by user: User?) -> Bool {
        if user?.isAdmin == true { return true }
        guard video.takedownReason == nil else { return false }
        return video.visibility != .private || (user?.id != nil && video.channel.ownerID == user?.id)
    }

    /// Whether `user` may watch `video` (its channel loaded): streamable by link, or theirs, or they are an admin.
    /// Its owner sees it in every state (private, still processing: the uploaded file plays until the renditions
    /// are ready); a taken-down video stays visible to admins only.
    public static func canWatch(_ video: Video, by user: User?) -> Bool {
        if video.isStreamable { return true }
        guard let user else { return false }
        if user.isAdmin { return true }
        return video.takedownReason == nil && canEdit(video.channel, by: user)
    }

    /// Throws 401 for nobody signed in, 403 for someone else.
    public static func requireEdit(_ channel: Channel, by user: User?) throws {
        guard let user else { throw Abort(.unauthorized, reason: "Sign in to change this channel.") }
        guard canEdit(channel, by: user) else {
            throw Abort(.forbidden, reason: "Only the owner of @\(channel.handle) can change it (you are signed in as \(user.username)).")
        }
    }
}
