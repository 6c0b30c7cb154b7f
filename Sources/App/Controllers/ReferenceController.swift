import Fluent
import Foundation
import Vapor

/// The reference Django back end's JSON routes, with its exact keys, for its Angular front end.
struct ReferenceController {
    /// GET /all_videos
    func allVideos(req: Request) async throws -> Response {
        try await req.shared("all_videos") {
            let videos = try await req.catalog.listedVideos(page: 1, perPage: 500).items
            let links = req.mediaLinks, site = req.siteBase
            return AllVideosDTO(all_videos: videos.map { $0.toReference(links: links, site: site) })
        }
    }

    /// GET /video_metadata/:id
    func videoMetadata(req: Request) async throws -> VideoMetadataDTO {
        let id = try req.numericID(what: "video")
        guard let video = try await req.catalog.watchableVideo(id: id, viewer: req.user) else {
            throw Abort(.notFound, reason: "Error 404 - Video not found.")
        }
        return VideoMetadataDTO(video: video.toReferenceWithChannel(links: req.mediaLinks, site: req.siteBase, viewer: req.user))
    }

    /// GET /videos_by_channel_id/:id
    func videosByChannel(req: Request) async throws -> VideosByChannelDTO {
        let id = try req.numericID(what: "channel")
        guard try await req.catalog.channel(id: id) != nil else { throw Abort(.notFound, reason: "Code 404 - Channel Not Found") }
        let videos = try await req.catalog.listedVideos(channelID: id, page: 1, perPage: 500).items
        let links = req.mediaLinks, site = req.siteBase
        return VideosByChannelDTO(videos: videos.map { $0.toReferenceWithChannel(links: links, site: site) })
    }

    /// GET /all_channels
    func allChannels(req: Request) async throws -> Response {
        try await req.shared("all_channels") {
            let links = req.mediaLinks, site = req.siteBase
            return AllChannelsDTO(all_channels: try await req.catalog.channels().map { try $0.toReference(links: links, site: site) })
        }
    }

    /// GET /channel/:id — `{"channel": "<JSON string>"}`, a string the front end parses again, as the reference did.
    func channel(req: Request) async throws -> ChannelStringDTO {
        let id = try req.numericID(what: "channel")
        guard let channel = try await req.catalog.channel(id: id) else { throw Abort(.notFound, reason: "Error 404 - Channel not found.") }
        let detail = ReferenceChannelDetail(
            channel: try channel.toReference(links: req.mediaLinks, site: req.siteBase),
            created_at: Formatting.iso8601(channel.createdAt))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return ChannelStringDTO(channel: String(decoding: try encoder.encode(detail), as: UTF8.self))
    }
}
