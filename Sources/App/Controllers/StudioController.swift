import Fluent
import Media
import Vapor

/// The signed-in user's studio: their channels and videos, channel settings and pictures, video edits.
struct StudioController {
    /// GET /studio
    func home(req: Request) async throws -> View {
        let user = try req.requireUser()
        let channels = try await req.catalog.channels(ownedBy: user.requireID())
        let videos = try await req.catalog.videos(ownedBy: user.requireID()).items
        return try await req.render("studio", try StudioPage(channels: channels, videos: videos, viewer: user, links: req.mediaLinks))
    }

    // MARK: uploads

    /// GET /studio/upload — pick or drop a file (resumable, with progress), or import from a URL.
    func upload(req: Request) async throws -> Response {
        let page = try await uploadPage(req, selected: req.query[String.self, at: "channel"])
        guard !page.channels.isEmpty else {
            return req.redirectAfterForm(to: SiteURL.studioNewChannel.path)
        }
        return try await req.render("upload", page).encodeResponse(for: req)
    }

    /// POST /studio/import — `url`, `channel`, `title`, `visibility`: download, then on to the video's studio page.
    func importURL(req: Request) async throws -> Response {
        let user = try req.requireUser()
        struct Form: Content {
            var url: String?
            var channel: String?
            var title: String?
            var visibility: String?
        }
        let form = try req.content.decode(Form.self)
        do {
            let video = try await req.uploads.importURL(
                form.url ?? "", user: user, channel: form.channel, title: form.title, description: "", visibility: form.visibility,
                downloader: req.downloader)
            req.services.jobs.wake()
            return req.redirectAfterForm(to: SiteURL.studioVideo(.value(try video.requireID())).path, notice: .imported)
        } catch let abort as any AbortError where abort.status.code < 500 && abort.status != .unauthorized {
            var page = try await uploadPage(req, selected: form.channel)
            page.importURL = form.url ?? ""
            page.errors = [abort.reason]
            return try await req.render("upload", page, status: abort.status)
        }
    }

    private func uploadPage(_ req: Request, selected: String?) async throws -> UploadPage {
        let user = try req.requireUser()
        let channels = try await req.catalog.channels(ownedBy: user.requireID())
        return UploadPage(channels: channels, selected: selected, maxUploadBytes: req.services.config.maxUploadBytes)
    }

    // MARK: channels

    struct ChannelForm: Content {
        var handle: String?
        var name: String?
        var description: String?
        var language: String?
        var category: String?
        var links: String?

        var settings: ChannelService.Settings {
            ChannelService.Settings(
                handle: handle, name: name, description: description, language: language, category: category,
                links: links.map { $0.split(whereSeparator: \.isNewline).map(String.init) })
        }
    }

    /// GET /studio/channels/new
    func newChannel(req: Request) async throws -> View {
        _ = try req.requireUser()
        return try await req.render("channel-settings", ChannelSettingsPage(nil, links: req.mediaLinks))
    }

    /// POST /studio/channels
    func createChannel(req: Request) async throws -> Response {
        let user = try req.requireUser()
        let form = try req.content.decode(ChannelForm.self)
        do {
            let channel = try await req.channels.create(owner: user, form.settings)
            return req.redirectAfterForm(to: SiteURL.studioChannel(.value(try channel.requireID())).path, notice: .channelCreated)
        } catch let failure as ValidationFailure {
            var page = ChannelSettingsPage(nil, links: req.mediaLinks)
            page.handle = form.handle ?? ""
            page.name = form.name ?? ""
            page.description = form.description ?? ""
            page.linksText = form.links ?? ""
            page.errors = failure.problems
            return try await req.render("channel-settings", page, status: .badRequest)
        }
    }

    /// GET /studio/channels/:id
    func channelSettings(req: Request) async throws -> View {
        let channel = try await req.editableChannel(idStatus: .notFound)
        return try await req.render("channel-settings", try await settingsPage(channel, req: req))
    }

    /// POST /studio/channels/:id/live — stream title, tags, next-stream text, replays on or off.
    func updateLiveSettings(req: Request) async throws -> Response {
        let channel = try await req.editableChannel(idStatus: .notFound)
        struct Form: Content {
            var title: String?
            var tags: String?
            var next_stream: String?
            var save_replays: String?
        }
        let form = try req.content.decode(Form.self)
        do {
            try await req.live.apply(
                .init(title: form.title ?? "", tags: form.tags ?? "", next_stream: form.next_stream ?? "", save_replays: form.save_replays == "on"),
                to: channel)
        } catch let failure as ValidationFailure {
            var page = try await settingsPage(try await req.editableChannel(idStatus: .notFound), req: req)
            page.errors = failure.problems
            return try await req.render("channel-settings", page, status: .badRequest)
        }
        return req.redirectAfterForm(to: SiteURL.studioChannel(.value(try channel.requireID())).path + "#live", notice: .saved)
    }

    /// POST /studio/channels/:id/stream-key — a new key; a publisher using the old one is dropped.
    func regenerateStreamKey(req: Request) async throws -> Response {
        let channel = try await req.editableChannel(idStatus: .notFound)
        try await req.live.regenerate(channel)
        return req.redirectAfterForm(to: SiteURL.studioChannel(.value(try channel.requireID())).path + "#live", notice: .streamKeyChanged)
    }

    /// POST /studio/channels/:id
    func updateChannel(req: Request) async throws -> Response {
        let channel = try await req.editableChannel(idStatus: .notFound)
        let form = try req.content.decode(ChannelForm.self)
        do {
            try await req.channels.apply(form.settings, to: channel)
            return req.redirectAfterForm(to: SiteURL.studioChannel(.value(try channel.requireID())).path, notice: .saved)
        } catch let failure as ValidationFailure {
            // Show the stored settings with the errors, not the half-applied model.
            let fresh = try await req.editableChannel(idStatus: .notFound)
            var page = try await settingsPage(fresh, req: req)
            page.errors = failure.problems
            return try await req.render("channel-settings", page, status: .badRequest)
        }
    }

    /// POST /studio/channels/:id/images/:kind — multipart field `image`.
    func uploadImage(req: Request) async throws -> Response {
        let channel = try await req.editableChannel(idStatus: .notFound)
        guard let kind = ImageKind(channelPicture: req.parameters.get("kind") ?? "") else {
            throw Abort(.notFound, reason: "Pictures are logo, banner or thumbnail.")
        }
        let picture = try req.formPicture()
        do {
            try await ImageUpload.apply(kind, bytes: picture, to: channel, req: req)
        } catch let refused as PictureRefused {
            var page = try await settingsPage(channel, req: req)
            page.errors = [refused.reason]
            return try await req.render("channel-settings", page, status: .unprocessableEntity)
        }
        return req.redirectAfterForm(to: SiteURL.studioChannel(.value(try channel.requireID())).path, notice: .imageSaved)
    }

    /// GET /studio/channels/:id/delete — asks first.
    func confirmDeleteChannel(req: Request) async throws -> View {
        let channel = try await req.editableChannel(idStatus: .notFound)
        let id = try channel.requireID()
        let count = try await req.catalog.videoCount(channelID: id)
        return try await req.render(
            "confirm",
            ConfirmPage(
                title: "Delete @\(channel.handle) · Videotube", heading: "Delete the channel \(channel.name)?",
                detail: "Its \(Formatting.counted(count, "video")), pictures and subscribers go with it. This cannot be undone.",
                action: SiteURL.studioChannelDelete(.value(id)).path, button: "Delete channel", cancelURL: SiteURL.studioChannel(.value(id)).path))
    }

    /// POST /studio/channels/:id/delete
    func deleteChannel(req: Request) async throws -> Response {
        let channel = try await req.editableChannel(idStatus: .notFound)
        try await req.channels.delete(channel)
        return req.redirectAfterForm(to: SiteURL.studio.path, notice: .deleted)
    }

    // MARK: videos

    /// GET /studio/videos/:id
    func editVideo(req: Request) async throws -> View {
        try await req.render("video-edit", try await req.videoEditPage())
    }

    /// POST /studio/videos/:id
    func updateVideo(req: Request) async throws -> Response {
        let video = try await req.editableVideo(idStatus: .notFound)
        let changes = try req.content.decode(VideoService.Changes.self)
        do {
            try await req.videos.update(video, changes)
            return req.redirectAfterForm(to: SiteURL.studioVideo(.value(try video.requireID())).path, notice: .saved)
        } catch let failure as ValidationFailure {
            var page = try await req.videoEditPage()
            page.errors = failure.problems
            return try await req.render("video-edit", page, status: .badRequest)
        }
    }

    /// POST /studio/videos/:id/thumbnail — multipart field `image`: the video's own thumbnail.
    func uploadThumbnail(req: Request) async throws -> Response {
        let video = try await req.editableVideo(idStatus: .notFound)
        let picture = try req.formPicture()
        do {
            try await ImageUpload.applyThumbnail(bytes: picture, to: video, req: req)
        } catch let refused as PictureRefused {
            var page = try await req.videoEditPage()
            page.errors = [refused.reason]
            return try await req.render("video-edit", page, status: .unprocessableEntity)
        }
        return req.redirectAfterForm(to: SiteURL.studioVideo(.value(try video.requireID())).path, notice: .thumbnailSaved)
    }

    /// GET /studio/videos/:id/delete — asks first.
    func confirmDeleteVideo(req: Request) async throws -> View {
        let video = try await req.editableVideo(idStatus: .notFound)
        let id = try video.requireID()
        return try await req.render(
            "confirm",
            ConfirmPage(
                title: "Delete video · Videotube", heading: "Delete “\(video.title)”?",
                detail: "The video, its views and its files are removed for good.", action: SiteURL.studioVideoDelete(.value(id)).path,
                button: "Delete video", cancelURL: SiteURL.studioVideo(.value(id)).path))
    }

    /// POST /studio/videos/:id/delete
    func deleteVideo(req: Request) async throws -> Response {
        try await req.videos.delete(try await req.editableVideo(idStatus: .notFound))
        return req.redirectAfterForm(to: SiteURL.studio.path, notice: .deleted)
    }

    // MARK: helpers

    /// The settings page of an existing channel, with its live-streaming section.
    private func settingsPage(_ channel: Channel, req: Request) async throws -> ChannelSettingsPage {
        var page = ChannelSettingsPage(channel, links: req.mediaLinks)
        page.addLive(
            channel, server: req.rtmpServerURL, key: try await req.live.streamKey(for: channel),
            isLive: req.services.live.isLive(channelID: try channel.requireID()))
        return page
    }
}

extension Request {
    /// The edit page of the video in the path, with its comment policy.
    fileprivate func videoEditPage() async throws -> VideoEditPage {
        let video = try await editableVideo(idStatus: .notFound)
        var page = VideoEditPage(video, viewer: user, links: mediaLinks)
        page.commentOptions = CommentOption.all(selected: try await comments.policy(videoID: try video.requireID()))
        return page
    }
}
