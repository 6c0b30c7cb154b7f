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

/// `/video_metadata/{id}` and the items of `/videos_by_channel_id/{id}`: a video with its channel's name and
/// subscribers, flat in one object as the reference wrote it.
struct ReferenceVideoWithChannel: Content {
    var video: ReferenceVideo
    var channel_name: String
    var channel_subs: Int

    private enum Extra: String, CodingKey { case channel_name, channel_subs }

    init(video: ReferenceVideo, channel_name: String, channel_subs: Int) {
        self.video = video
        self.channel_name = channel_name
        self.channel_subs = channel_subs
    }

    init(from decoder: any Decoder) throws {
        video = try ReferenceVideo(from: decoder)
        let c = try decoder.container(keyedBy: Extra.self)
        channel_name = try c.decode(String.self, forKey: .channel_name)
        channel_subs = try c.decode(Int.self, forKey: .channel_subs)
    }

    func encode(to encoder: any Encoder) throws {
        try video.encode(to: encoder)
        var c = encoder.container(keyedBy: Extra.self)
        try c.encode(channel_name, forKey: .channel_name)
        try c.encode(channel_subs, forKey: .channel_subs)
    }
}

/// An item of `/all_channels`. A channel without an owner (demo or imported without `--owner`) names its own
/// handle as `owner_username` and has a null `owner_id`.
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

/// The object `/channel/{id}` serialises into a string, as the reference's `json.dumps` did: the channel plus `created_at`.
struct ReferenceChannelDetail: Encodable {
    var channel: ReferenceChannel
    var created_at: String

    private enum Extra: String, CodingKey { case created_at }

    func encode(to encoder: any Encoder) throws {
        try channel.encode(to: encoder)
        var c = encoder.container(keyedBy: Extra.self)
        try c.encode(created_at, forKey: .created_at)
    }
}

struct AllVideosDTO: Content { var all_videos: [ReferenceVideo] }
struct VideoMetadataDTO: Content { var video: ReferenceVideoWithChannel }
struct VideosByChannelDTO: Content { var videos: [ReferenceVideoWithChannel] }
struct AllChannelsDTO: Content { var all_channels: [ReferenceChannel] }
struct ChannelStringDTO: Content { var channel: String }

extension Video {
    func toReferenceWithChannel(links: MediaLinks, site: String, viewer: User? = nil) -> ReferenceVideoWithChannel {
        record.toReferenceWithChannel(links: links, site: site, viewer: viewer)
    }
}

extension VideoRecord {
    func toReference(links: MediaLinks, site: String, viewer: User? = nil) -> ReferenceVideo {
        ReferenceVideo(
            id: id, channel_id: channel.id, name: title, description: description,
            video_url: links.url(key: mediaKey, of: self, for: viewer) ?? "",
            thumbnail_url: links.url(key: thumbnailKey, of: self, for: viewer) ?? "", created_at: createdAt,
            channel_logo_url: links.logoURL(channel.logoKey, site: site), views: views)
    }

    func toReferenceWithChannel(links: MediaLinks, site: String, viewer: User? = nil) -> ReferenceVideoWithChannel {
        ReferenceVideoWithChannel(
            video: toReference(links: links, site: site, viewer: viewer), channel_name: channel.name, channel_subs: channel.subscribersCount)
    }
}

extension Channel {
    func toReference(links: MediaLinks, site: String) throws -> ReferenceChannel {
        ReferenceChannel(
            id: try requireID(), name: name, description: description, logo_url: logoURL(links, site: site),
            subscribers_count: subscribersCount, owner_username: loadedOwner?.username ?? handle, owner_id: $owner.id)
    }
}
