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

    do {  // accounts: sign-up, sign-in, sign-out (pages; cookie sessions)
        let auth = AuthController()
        app.get("signup", use: auth.signUpPage)
        app.post("signup", use: auth.signUp)
        app.get("login", use: auth.loginPage)
        app.post("login", use: auth.login)
        app.post("logout", use: auth.logout)
    }

    do {  // subscriptions (pages)
        let subscriptions = SubscriptionPageController()
        app.post("channels", ":id", "subscribe", use: subscriptions.change)
        app.post("channels", ":id", "unsubscribe", use: subscriptions.change)
        app.get("feed", "subscriptions", use: subscriptions.feed)
    }

    do {  // studio: the signed-in user's channels and videos
        let studio = StudioController()
        let s = app.grouped("studio")
        s.get(use: studio.home)
        s.get("upload", use: studio.upload)
        s.post("import", use: studio.importURL)
        s.get("channels", "new", use: studio.newChannel)
        s.post("channels", use: studio.createChannel)
        s.get("channels", ":id", use: studio.channelSettings)
        s.post("channels", ":id", use: studio.updateChannel)
        s.on(.POST, "channels", ":id", "images", ":kind", body: .collect(maxSize: "10mb"), use: studio.uploadImage)
        s.get("channels", ":id", "delete", use: studio.confirmDeleteChannel)
        s.post("channels", ":id", "delete", use: studio.deleteChannel)
        s.get("videos", ":id", use: studio.editVideo)
        s.post("videos", ":id", use: studio.updateVideo)
        s.get("videos", ":id", "delete", use: studio.confirmDeleteVideo)
        s.post("videos", ":id", "delete", use: studio.deleteVideo)
    }

    do {  // admin (admins only)
        let admin = AdminController()
        let a = app.grouped("admin")
        a.get(use: admin.home)
        a.get("users", use: admin.users)
        a.get("users", ":id", "delete", use: admin.confirmDeleteUser)
        a.post("users", ":id", "delete", use: admin.deleteUser)
        a.post("users", ":id", ":action", use: admin.userAction)
        a.get("channels", use: admin.channels)
        a.get("videos", use: admin.videos)
        a.get("videos", ":id", "takedown", use: admin.confirmTakedown)
        a.post("videos", ":id", "takedown", use: admin.takedown)
        a.post("videos", ":id", "restore", use: admin.restore)
        a.get("watch-log", use: admin.watchLog)
    }

    do {  // bytes: range streaming and download (the media listener serves the same files faster)
        let stream = StreamController()
        app.get("videos", ":id", "stream", use: stream.stream)
        app.get("video_stream", ":id", use: stream.stream)
        app.get("videos", ":id", "download", use: stream.download)
        app.get("videos", ":id", "hls", ":file", use: stream.asset)  // HLS playlists, segments, storyboard
    }

    do {  // uploads (tus 1.0 and single requests), URL imports, processing state
        let uploads = UploadController()
        let v1 = app.grouped("api", "v1")
        v1.on(.OPTIONS, "uploads", use: uploads.tusOptions)
        v1.post("uploads", use: uploads.tusCreate)
        v1.on(.HEAD, "uploads", ":id", use: uploads.tusHead)
        v1.on(.PATCH, "uploads", ":id", body: .stream, use: uploads.tusPatch)
        v1.delete("uploads", ":id", use: uploads.tusDelete)
        v1.get("uploads", ":id", use: uploads.uploadStatus)
        v1.on(.POST, "videos", body: .stream, use: uploads.create)
        v1.post("videos", "import", use: uploads.importURL)
        v1.get("videos", ":id", "processing", use: uploads.processing)
    }

    do {  // JSON API
        let api = APIController()
        let writes = AccountAPIController()
        let auth = AuthController()
        let v1 = app.grouped("api", "v1")
        v1.post("auth", "signup", use: auth.apiSignUp)
        v1.post("auth", "token", use: auth.issueToken)
        v1.delete("auth", "token", use: auth.revokeToken)
        v1.get("me", use: auth.me)
        v1.get("me", "subscriptions", use: writes.mySubscriptions)
        v1.get("me", "feed", use: writes.myFeed)
        v1.get("me", "videos", use: writes.myVideos)

        v1.get("videos", use: api.videos)
        v1.get("videos", ":id", use: api.video)
        v1.patch("videos", ":id", use: writes.updateVideo)
        v1.delete("videos", ":id", use: writes.deleteVideo)
        v1.post("videos", ":id", "views", use: writes.recordView)

        v1.get("channels", use: api.channels)
        v1.post("channels", use: writes.createChannel)
        v1.get("channels", ":id", use: api.channel)
        v1.patch("channels", ":id", use: writes.updateChannel)
        v1.delete("channels", ":id", use: writes.deleteChannel)
        v1.on(.PUT, "channels", ":id", "images", ":kind", body: .collect(maxSize: "10mb"), use: writes.putImage)
        v1.get("channels", ":id", "videos", use: api.channelVideos)
        v1.get("channels", ":id", "subscription", use: writes.subscription)
        v1.put("channels", ":id", "subscription", use: writes.subscribe)
        v1.delete("channels", ":id", "subscription", use: writes.unsubscribe)
    }

    do {  // live: stream keys
        let live = LiveController()
        let v1 = app.grouped("api", "v1")
        v1.get("channels", ":id", "stream-key", use: live.streamKey)
        v1.post("channels", ":id", "stream-key", use: live.regenerateStreamKey)
        v1.patch("channels", ":id", "live", use: live.updateSettings)
        app.get("live", ":handle", use: live.page)
        app.get("live", ":handle", "events", use: live.events)
        app.get("live", ":handle", ":file", use: live.hls)
        v1.get("live", use: live.list)
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
