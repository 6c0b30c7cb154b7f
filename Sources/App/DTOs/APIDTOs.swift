import Foundation
import Vapor

/// A channel as `/api/v1` returns it.
struct ChannelDTO: Content {
    var id: Int
    var handle: String
    var name: String
    var description: String
    var logo_url: String
    var banner_url: String?
    var thumbnail_url: String?
    var language: String
    var category: String
    var links: [String]
    var owner_id: Int?
    var subscribers_count: Int
    var created_at: Date
    var url: String
    /// In `GET /api/v1/channels`: likes minus dislikes over the channel's listed videos, and their views.
    var rating: Int?
    var views: Int?
}

/// A user as `/api/v1/me` and sign-up return it (the e-mail only to the user themself).
struct UserDTO: Content {
    var id: Int
    var username: String
    var email: String?
    var role: String
    var created_at: Date
    var channels: [ChannelDTO]

    init(_ user: User, channels: [Channel], links: MediaLinks, site: String, withEmail: Bool) throws {
        id = try user.requireID()
        username = user.username
        email = withEmail ? user.email : nil
        role = user.role.rawValue
        created_at = user.createdAt
        self.channels = try channels.map { try $0.toDTO(links: links, site: site) }
    }
}

/// `POST /api/v1/auth/token`.
struct TokenDTO: Content {
    var token: String
    var expires_at: Date
    var token_type: String
}

/// Whether the caller follows a channel, and its count now.
struct SubscriptionDTO: Content {
    var channel_id: Int
    var subscribed: Bool
    var subscribers_count: Int
}

/// `POST /api/v1/videos/{id}/views`.
struct ViewDTO: Content {
    var counted: Bool
    var views: Int
}

/// A video as `/api/v1` returns it, with every URL a client needs.
struct VideoDTO: Content {
    struct ChannelSummary: Content {
        var id: Int
        var handle: String
        var name: String
        var logo_url: String
        var subscribers_count: Int
    }
    var id: Int
    var title: String
    var description: String
    var channel: ChannelSummary
    var duration: Double
    var size: Int64
    var width: Int
    var height: Int
    var mime_type: String
    var video_codec: String
    var audio_codec: String?
    var views: Int
    var visibility: String
    var status: String
    var created_at: Date
    /// Signed URL on the sendfile media listener (ranges, fastest); null for a taken-down video (but for admins).
    var stream_url: String?
    /// The app's own byte-range route, for clients that keep one URL.
    var app_stream_url: String
    var download_url: String
    var thumbnail_url: String?
    var watch_url: String
    /// The HLS master playlist once the first rendition is published.
    var hls_url: String?
    /// Published renditions, lowest first (`["240p", "360p"]`).
    var renditions: [String]
    /// WebVTT index of the hover storyboard sprite.
    var storyboard_url: String?
    /// Why an admin took it down: for its owner and admins only.
    var takedown_reason: String?
    var tags: [String]
    var likes = 0
    var dislikes = 0
    /// The signed-in caller's rating (`like`, `dislike` or `none`); absent for a signed-out caller.
    var my_rating: String?
}

/// Where a video's processing is (the owner's view): `state` queued/running/done/failed.
struct ProcessingDTO: Content {
    var video_id: Int
    var status: String
    var state: String
    var stage: String
    var progress: Double
    var attempts: Int
    var max_attempts: Int
    var error: String?
    var renditions: [String]
    var hls_url: String?

    init(video: Video, job: ProcessingJob?, site: String) {
        let id = video.id ?? 0
        video_id = id
        status = video.status.rawValue
        state = job?.state.rawValue ?? (video.status == .ready ? "done" : "queued")
        stage = job?.stage ?? (video.status == .ready ? "Done" : "Waiting for a worker")
        progress = job?.progress ?? (video.status == .ready ? 100 : 0)
        attempts = job?.attempts ?? 0
        max_attempts = job?.maxAttempts ?? 0
        error = video.failureReason ?? job?.error
        renditions = video.renditions
        hls_url = video.renditions.isEmpty ? nil : "\(site)/videos/\(id)/hls/master.m3u8"
    }
}

/// A resumable upload's state (`GET /api/v1/uploads/:id`).
struct UploadDTO: Content {
    var id: String
    var filename: String
    var length: Int64
    var offset: Int64
    var expires_at: Date
    var video_id: Int?
    var video_url: String?
}

/// One page of a listing.
struct PageDTO<Item: Content>: Content {
    var data: [Item]
    var page: Int
    var per_page: Int
    var total: Int
}

struct ListDTO<Item: Content>: Content {
    var data: [Item]
}

extension Channel {
    func logoURL(_ links: MediaLinks, site: String) -> String { links.logoURL(logoKey, site: site) }

    func toDTO(links: MediaLinks, site: String) throws -> ChannelDTO {
        ChannelDTO(
            id: try requireID(), handle: handle, name: name, description: description,
            logo_url: logoURL(links, site: site), banner_url: bannerKey.map { links.url(key: $0) },
            thumbnail_url: thumbnailKey.map { links.url(key: $0) }, language: language, category: category, links: self.links,
            owner_id: $owner.id, subscribers_count: subscribersCount, created_at: createdAt, url: "\(site)/@\(handle)")
    }
}

extension VideoDTO {
    /// Media URLs only for a `viewer` who may have them; the viewer's id goes into them (the watch log then knows
    /// who played it).
    init(_ v: VideoRecord, links: MediaLinks, site: String, viewer: User? = nil) {
        let id = v.id
        self.init(
            id: id, title: v.title, description: v.description,
            channel: .init(
                id: v.channel.id, handle: v.channel.handle, name: v.channel.name, logo_url: links.logoURL(v.channel.logoKey, site: site),
                subscribers_count: v.channel.subscribersCount),
            duration: v.duration, size: v.size, width: v.width, height: v.height, mime_type: v.mimeType, video_codec: v.videoCodec,
            audio_codec: v.audioCodec, views: v.views, visibility: v.visibility.rawValue, status: v.status.rawValue,
            created_at: v.createdAt, stream_url: links.url(key: v.mediaKey, of: v, for: viewer),
            app_stream_url: "\(site)/videos/\(id)/stream", download_url: "\(site)/videos/\(id)/download",
            thumbnail_url: links.url(key: v.thumbnailKey, of: v, for: viewer), watch_url: "\(site)/watch?v=\(id)",
            hls_url: v.renditions.isEmpty ? nil : "\(site)/videos/\(id)/hls/master.m3u8", renditions: v.renditions,
            storyboard_url: v.hasStoryboard ? "\(site)/videos/\(id)/hls/storyboard.vtt" : nil,
            takedown_reason: viewer.map { $0.isAdmin || ($0.id != nil && $0.id == v.channel.ownerID) } == true ? v.takedownReason : nil,
            tags: v.tags)
    }
}

extension Video {
    func toDTO(links: MediaLinks, site: String, viewer: User? = nil) throws -> VideoDTO {
        VideoDTO(record, links: links, site: site, viewer: viewer)
    }
}
