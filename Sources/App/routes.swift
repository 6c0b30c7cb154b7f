import NIOConcurrencyHelpers
import Vapor

/// The one route map: the site's table of contents.
func routes(_ app: Application) throws {
    do {  // operations: for load balancers (metrics have a listener of their own)
        let operations = OperationsController()
        app.get("healthz", use: operations.health)
        app.get("readyz", use: operations.ready)
    }

    do {  // pages
        let pages = PageController()
        app.get(SiteURL.home.pathComponents, use: pages.home)
        app.get(SiteURL.channels.pathComponents, use: pages.channels)
        app.get(SiteURL.watch.pathComponents, use: pages.watch)
        app.get(SiteURL.channel(.key).pathComponents, use: pages.channel)  // /@handle; anything else answers 404
    }

    do {  // categories and tags: the list, a page each, the API's list
        let categories = CategoryController()
        app.get(SiteURL.categories.pathComponents, use: categories.index)
        app.get(SiteURL.category(.key).pathComponents, use: categories.show)
        app.get(SiteURL.tag(.key).pathComponents, use: categories.tag)
        app.grouped("api", "v1").get("categories", use: categories.list)
    }

    do {  // search: the results page, the API and the search box's suggestions
        let search = SearchController()
        app.get(SiteURL.search.pathComponents, use: search.page)
        let v1 = app.grouped("api", "v1")
        v1.get("search", use: search.api)
        v1.get("search", "suggest", use: search.suggest)
    }

    do {  // accounts: sign-up, sign-in, sign-out (pages; cookie sessions)
        let auth = AuthController()
        app.get(SiteURL.signup.pathComponents, use: auth.signUpPage)
        app.post(SiteURL.signup.pathComponents, use: auth.signUp)
        app.get(SiteURL.login.pathComponents, use: auth.loginPage)
        app.post(SiteURL.login.pathComponents, use: auth.login)
        app.post(SiteURL.logout.pathComponents, use: auth.logout)
    }

    do {  // subscriptions (pages)
        let subscriptions = SubscriptionPageController()
        app.post(SiteURL.subscribe(.key).pathComponents, use: subscriptions.change)
        app.post(SiteURL.unsubscribe(.key).pathComponents, use: subscriptions.change)
        app.get(SiteURL.subscriptionsFeed.pathComponents, use: subscriptions.feed)
    }

    do {  // studio: the signed-in user's channels and videos
        let studio = StudioController()
        app.get(SiteURL.studio.pathComponents, use: studio.home)
        app.get(SiteURL.studioUpload.pathComponents, use: studio.upload)
        app.post(SiteURL.studioImport.pathComponents, use: studio.importURL)
        app.get(SiteURL.studioNewChannel.pathComponents, use: studio.newChannel)
        app.post(SiteURL.studioChannels.pathComponents, use: studio.createChannel)
        app.get(SiteURL.studioChannel(.key).pathComponents, use: studio.channelSettings)
        app.post(SiteURL.studioChannel(.key).pathComponents, use: studio.updateChannel)
        app.post(SiteURL.studioChannelLive(.key).pathComponents, use: studio.updateLiveSettings)
        app.post(SiteURL.studioChannelStreamKey(.key).pathComponents, use: studio.regenerateStreamKey)
        app.on(.POST, SiteURL.studioChannelImage(.key, .key).pathComponents, body: .collect(maxSize: "10mb"), use: studio.uploadImage).maxBody(10 << 20)
        app.get(SiteURL.studioChannelDelete(.key).pathComponents, use: studio.confirmDeleteChannel)
        app.post(SiteURL.studioChannelDelete(.key).pathComponents, use: studio.deleteChannel)
        app.get(SiteURL.studioVideo(.key).pathComponents, use: studio.editVideo)
        app.post(SiteURL.studioVideo(.key).pathComponents, use: studio.updateVideo)
        app.get(SiteURL.studioVideoDelete(.key).pathComponents, use: studio.confirmDeleteVideo)
        app.post(SiteURL.studioVideoDelete(.key).pathComponents, use: studio.deleteVideo)
        app.on(.POST, SiteURL.studioVideoThumbnail(.key).pathComponents, body: .collect(maxSize: "10mb"), use: studio.uploadThumbnail).maxBody(10 << 20)
    }

    do {  // admin (admins only)
        let admin = AdminController()
        app.get(SiteURL.admin.pathComponents, use: admin.home)
        app.get(SiteURL.adminUsers.pathComponents, use: admin.users)
        app.get(SiteURL.adminUserDelete(.key).pathComponents, use: admin.confirmDeleteUser)
        app.post(SiteURL.adminUserDelete(.key).pathComponents, use: admin.deleteUser)
        app.post(SiteURL.adminUserAction(.key, .key).pathComponents, use: admin.userAction)
        app.get(SiteURL.adminChannels.pathComponents, use: admin.channels)
        app.get(SiteURL.adminVideos.pathComponents, use: admin.videos)
        app.get(SiteURL.adminVideoTakedown(.key).pathComponents, use: admin.confirmTakedown)
        app.post(SiteURL.adminVideoTakedown(.key).pathComponents, use: admin.takedown)
        app.post(SiteURL.adminVideoRestore(.key).pathComponents, use: admin.restore)
        app.get(SiteURL.adminWatchLog.pathComponents, use: admin.watchLog)
    }

    do {  // bytes: range streaming and download (the media listener serves the same files faster)
        let stream = StreamController()
        app.get("videos", ":id", "stream", use: stream.stream)
        app.get("video_stream", ":id", use: stream.stream)
        app.get("videos", ":id", "download", use: stream.download)
        app.get("videos", ":id", "hls", ":file", use: stream.asset)  // HLS playlists, segments, storyboard
    }

    do {  // uploads (tus 1.0 and single requests), URL imports, processing state
        let tus = TusController()
        let uploads = UploadController()
        let v1 = app.grouped("api", "v1")
        v1.on(.OPTIONS, "uploads", use: tus.tusOptions)
        v1.post("uploads", use: tus.tusCreate)
        v1.on(.HEAD, "uploads", ":id", use: tus.tusHead)
        v1.on(.PATCH, "uploads", ":id", body: .stream, use: tus.tusPatch).maxBody(.max)
        v1.delete("uploads", ":id", use: tus.tusDelete)
        v1.get("uploads", ":id", use: tus.uploadStatus)
        v1.on(.POST, "videos", body: .stream, use: uploads.create).maxBody(.max)
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
        v1.put("videos", ":id", "rating", use: RatingController().rate)
        v1.on(.PUT, "videos", ":id", "thumbnail", body: .collect(maxSize: "10mb"), use: writes.putThumbnail).maxBody(10 << 20)
        v1.post("videos", ":id", "views", use: writes.recordView)

        v1.get("channels", use: api.channels)
        v1.post("channels", use: writes.createChannel)
        v1.get("channels", ":id", use: api.channel)
        v1.patch("channels", ":id", use: writes.updateChannel)
        v1.delete("channels", ":id", use: writes.deleteChannel)
        v1.on(.PUT, "channels", ":id", "images", ":kind", body: .collect(maxSize: "10mb"), use: writes.putImage).maxBody(10 << 20)
        v1.get("channels", ":id", "videos", use: api.channelVideos)
        v1.get("channels", ":id", "subscription", use: writes.subscription)
        v1.put("channels", ":id", "subscription", use: writes.subscribe)
        v1.delete("channels", ":id", "subscription", use: writes.unsubscribe)
    }

    do {  // comments and reports
        let comments = CommentController()
        let reports = ReportController()
        let v1 = app.grouped("api", "v1")
        v1.get("videos", ":id", "comments", use: comments.list)
        v1.post("videos", ":id", "comments", use: comments.create)
        v1.patch("comments", ":id", use: comments.update)
        v1.delete("comments", ":id", use: comments.delete)
        v1.post("comments", ":id", "approve", use: comments.approve)
        v1.post("reports", use: reports.file)
        app.get(SiteURL.adminReports.pathComponents, use: reports.queue)
        app.post(SiteURL.adminReportAction(.key, .key).pathComponents, use: reports.resolve)
    }

    do {  // live: stream keys
        let live = LiveController()
        let v1 = app.grouped("api", "v1")
        v1.get("channels", ":id", "stream-key", use: live.streamKey)
        v1.post("channels", ":id", "stream-key", use: live.regenerateStreamKey)
        v1.patch("channels", ":id", "live", use: live.updateSettings)
        app.get(SiteURL.live(.key).pathComponents, use: live.page)
        app.get(SiteURL.liveEvents(.key).pathComponents, use: live.events)
        app.get(SiteURL.liveFile(.key, .key).pathComponents, use: live.hls)
        let lowLatency = LowLatencyController()
        app.get(SiteURL.liveStream(.key).pathComponents, use: lowLatency.stream)
        app.get(SiteURL.liveLowLatencyPlaylist(.key).pathComponents, use: lowLatency.playlist)
        app.get(SiteURL.liveLowLatencyFile(.key, .key).pathComponents, use: lowLatency.file)
        v1.get("live", use: live.list)
    }

    do {  // live chat: the socket, history, settings, moderation (docs/CHAT.md), the pop-out, the studio page
        let chat = ChatController()
        let v1 = app.grouped("api", "v1")
        v1.get("channels", ":id", "chat", use: chat.socketOrSettings)  // a WebSocket with `Upgrade`, else the settings
        v1.patch("channels", ":id", "chat", use: chat.updateSettings)
        v1.get("channels", ":id", "chat", "messages", use: chat.history)
        v1.delete("channels", ":id", "chat", "messages", ":message_id", use: chat.deleteMessage)
        v1.get("channels", ":id", "chat", "bans", use: chat.bans)
        v1.put("channels", ":id", "chat", "bans", ":user_id", use: chat.ban)
        v1.delete("channels", ":id", "chat", "bans", ":user_id", use: chat.unban)
        v1.get("channels", ":id", "chat", "log", use: chat.moderationLog)
        v1.get("channels", ":id", "moderators", use: chat.moderators)
        v1.put("channels", ":id", "moderators", ":user_id", use: chat.addModerator)
        v1.delete("channels", ":id", "moderators", ":user_id", use: chat.removeModerator)
        v1.get("videos", ":id", "chat", use: chat.replay)
        app.get(SiteURL.liveChat(.key).pathComponents, use: chat.popout)
        app.get(SiteURL.studioChannelChat(.key).pathComponents, use: chat.studioPage)
        app.post(SiteURL.studioChannelChat(.key).pathComponents, use: chat.studioUpdate)
        app.post(SiteURL.studioChannelModerators(.key).pathComponents, use: chat.studioAddModerator)
        app.post(SiteURL.studioChannelModeratorRemove(.key, .key).pathComponents, use: chat.studioRemoveModerator)
        app.post(SiteURL.studioChannelUnban(.key, .key).pathComponents, use: chat.studioUnban)
    }

    if app.videotube.config.benchFloor {  // benchmarks only: the stack's floor (see AppConfig.benchFloor)
        let floor = NIOLockedValueBox<ByteBuffer?>(nil)
        app.get("bench", "floor") { req async throws -> Response in
            var body = floor.withLockedValue { $0 }
            if body == nil {
                let made = try await ReferenceController().allVideos(req: req).encodeResponse(for: req)
                body = made.body.buffer
                floor.withLockedValue { $0 = body }
            }
            return Response(status: .ok, headers: ["Content-Type": "application/json; charset=utf-8"], body: .init(buffer: body ?? ByteBuffer()))
        }
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
