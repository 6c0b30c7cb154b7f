import Vapor

/// The one route map: the site's table of contents.
func routes(_ app: Application) throws {
    do {  // pages
        let pages = PageController()
        app.get(use: pages.home)
        app.get("channels", use: pages.channels)
        app.get("watch", use: pages.watch)
        app.get(":handle", use: pages.channel)  // /@handle; anything else answers 404
    }

    do {  // bytes: range streaming and download (the media listener serves the same files faster)
        let stream = StreamController()
        app.get("videos", ":id", "stream", use: stream.stream)
        app.get("video_stream", ":id", use: stream.stream)
        app.get("videos", ":id", "download", use: stream.download)
    }

    do {  // JSON API
        let api = APIController()
        let v1 = app.grouped("api", "v1")
        v1.get("videos", use: api.videos)
        v1.get("videos", ":id", use: api.video)
        v1.get("channels", use: api.channels)
        v1.get("channels", ":id", use: api.channel)
        v1.get("channels", ":id", "videos", use: api.channelVideos)
    }

    do {  // the reference back end's JSON routes, keys unchanged
        let reference = ReferenceController()
        app.get("all_videos", use: reference.allVideos)
        app.get("video_metadata", ":id", use: reference.videoMetadata)
        app.get("videos_by_channel_id", ":id", use: reference.videosByChannel)
        app.get("all_channels", use: reference.allChannels)
        app.get("channel", ":id", use: reference.channel)
    }
}
