import Foundation
import Vapor

// The JSON of the reference Django back end, key for key, so its Angular front end works unchanged.

/// An item of `/all_videos`.
struct ReferenceVideo: Content {
    var id: Int
    var channel_id: Int
    var name: String
    var description: String
    var video_url: String
    var thumbnail_url: String
    var created_at: Date
    var channel_logo_url: String
    var views: Int
}

/// `/video_metadata/{id}` and the items of `/videos_by_channel_id/{id}`: a video with its channel's name and subscribers.
struct ReferenceVideoWithChannel: Content {
    var id: Int
    var channel_id: Int
    var channel_name: String
    var channel_subs: Int
    var name: String
    var description: String
    var video_url: String
    var thumbnail_url: String
    var created_at: Date
    var channel_logo_url: String
    var views: Int
}

/// An item of `/all_channels`. Until accounts exist the owner is the channel itself: its handle and no id.
struct ReferenceChannel: Content {
    var id: Int
    var name: String
    var description: String
    var logo_url: String
    var subscribers_count: Int
    var owner_username: String
    var owner_id: Int?

    // `owner_id` is written as null rather than left out, so the key is always there.
    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(name, forKey: .name)
        try c.encode(description, forKey: .description)
        try c.encode(logo_url, forKey: .logo_url)
        try c.encode(subscribers_count, forKey: .subscribers_count)
        try c.encode(owner_username, forKey: .owner_username)
        try c.encode(owner_id, forKey: .owner_id)
    }
}

/// The object `/channel/{id}` serialises into a string, as the reference's `json.dumps` did.
struct ReferenceChannelDetail: Content {
    var id: Int
    var name: String
    var description: String
    var logo_url: String
    var subscribers_count: Int
    var owner_username: String
    var owner_id: Int?
    var created_at: String

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(name, forKey: .name)
        try c.encode(description, forKey: .description)
        try c.encode(logo_url, forKey: .logo_url)
        try c.encode(subscribers_count, forKey: .subscribers_count)
        try c.encode(owner_username, forKey: .owner_username)
        try c.encode(owner_id, forKey: .owner_id)
        try c.encode(created_at, forKey: .created_at)
    }
}

struct AllVideosDTO: Content { var all_videos: [ReferenceVideo] }
struct VideoMetadataDTO: Content { var video: ReferenceVideoWithChannel }
struct VideosByChannelDTO: Content { var videos: [ReferenceVideoWithChannel] }
struct AllChannelsDTO: Content { var all_channels: [ReferenceChannel] }
struct ChannelStringDTO: Content { var channel: String }

extension Video {
    func toReference(links: MediaLinks, site: String) throws -> ReferenceVideo {
        let id = try requireID()
        return ReferenceVideo(
            id: id, channel_id: try channel.requireID(), name: title, description: description,
            video_url: links.url(key: mediaKey, videoID: id),
            thumbnail_url: thumbnailKey.map { links.url(key: $0) } ?? "", created_at: createdAt,
            channel_logo_url: channel.logoURL(links, site: site), views: views)
    }

    func toReferenceWithChannel(links: MediaLinks, site: String) throws -> ReferenceVideoWithChannel {
        let v = try toReference(links: links, site: site)
        return ReferenceVideoWithChannel(
            id: v.id, channel_id: v.channel_id, channel_name: channel.name, channel_subs: channel.subscribersCount,
            name: v.name, description: v.description, video_url: v.video_url, thumbnail_url: v.thumbnail_url,
            created_at: v.created_at, channel_logo_url: v.channel_logo_url, views: v.views)
    }
}

extension Channel {
    func toReference(links: MediaLinks, site: String) throws -> ReferenceChannel {
        ReferenceChannel(
            id: try requireID(), name: name, description: description, logo_url: logoURL(links, site: site),
            subscribers_count: subscribersCount, owner_username: handle, owner_id: nil)
    }
}
