import Fluent
import Media
import Vapor

/// The signed-in user's studio: their channels and videos, channel settings and pictures, video edits.
struct StudioController {
    /// GET /studio
    func home(req: Request) async throws -> View {
        let user = try req.requireUser()
        let links = req.mediaLinks
        let channels = try await Channel.query(on: req.db).filter(\.$owner.$id == user.requireID()).sort(\.$id).all()
        let videos = try await Video.query(on: req.db).filter(\.$channel.$id ~~ channels.compactMap(\.id)).with(\.$channel)
            .sort(\.$createdAt, .descending).all()
        let page = StudioPage(
            channels: try channels.map {
                .init(
                    id: try $0.requireID(), name: $0.name, handle: $0.handle, url: "/@\($0.handle)", logoURL: $0.logoURL(links, site: ""),
                    subscribersText: Formatting.counted($0.subscribersCount, "subscriber"), settingsURL: "/studio/channels/\(try $0.requireID())")
            },
            videos: try videos.map {
                let id = try $0.requireID()
                return .init(
                    id: id, title: $0.title, channelHandle: $0.channel.handle, thumbnailURL: links.url(key: $0.thumbnailKey, of: $0, for: user),
                    visibility: $0.visibility.rawValue, status: $0.takedownReason == nil ? $0.status.rawValue : "taken down",
                    problem: $0.takedownReason ?? $0.failureReason, viewsText: Formatting.counted($0.views, "view"), dateText: Formatting.day($0.createdAt),
                    editURL: "/studio/videos/\(id)", watchURL: "/watch?v=\(id)")
            })
        return try await req.render("studio", page)
    }

    // MARK: uploads

    /// GET /studio/upload — pick or drop a file (resumable, with progress), or import from a URL.
    func upload(req: Request) async throws -> Response {
        let page = try await uploadPage(req, selected: req.query[String.self, at: "channel"])
        guard !page.channels.isEmpty else {
            return req.redirectAfterForm(to: "/studio/channels/new", notice: nil)
        }
        return try await req.render("upload", page).encodeResponse(for: req)
    }

    /// POST /studio/import — `url`, `channel`, `title`: download, then on to the video's studio page.
    func importURL(req: Request) async throws -> Response {
        let user = try req.requireUser()
        struct Form: Content {
            var url: String?
            var channel: String?
            var title: String?
        }
        let form = try req.content.decode(Form.self)
        do {
            let video = try await req.uploads.importURL(
                form.url ?? "", user: user, channel: form.channel, title: form.title, description: "", downloader: req.downloader)
            req.services.jobs.wake()
            return req.redirectAfterForm(to: "/studio/videos/\(try video.requireID())", notice: .imported)
        } catch let abort as any AbortError where abort.status.code < 500 && abort.status != .unauthorized {
            var page = try await uploadPage(req, selected: form.channel)
            page.importURL = form.url ?? ""
            page.errors = [abort.reason]
            return try await rendered("upload", page, status: abort.status, req)
        }
    }

    private func uploadPage(_ req: Request, selected: String?) async throws -> UploadPage {
        let user = try req.requireUser()
        let channels = try await Channel.query(on: req.db).filter(\.$owner.$id == user.requireID()).sort(\.$id).all()
        let config = req.services.config
        return UploadPage(
            channels: channels.enumerated().map { index, channel in
                .init(handle: channel.handle, name: channel.name, selected: selected.map { $0 == channel.handle } ?? (index == 0))
            },
            maxUploadText: Formatting.bytes(config.maxUploadBytes), maxUploadBytes: config.maxUploadBytes)
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
        return try await req.render("channel-settings", settingsPage(nil, req: req))
    }

    /// POST /studio/channels
    func createChannel(req: Request) async throws -> Response {
        let user = try req.requireUser()
        let form = try req.content.decode(ChannelForm.self)
        do {
            let channel = try await req.channels.create(owner: user, form.settings)
            return req.redirectAfterForm(to: "/studio/channels/\(try channel.requireID())", notice: .channelCreated)
        } catch let failure as ValidationFailure {
            var page = settingsPage(nil, req: req)
            page.handle = form.handle ?? ""
            page.name = form.name ?? ""
            page.description = form.description ?? ""
            page.linksText = form.links ?? ""
            page.errors = failure.problems
            return try await rendered("channel-settings", page, status: .badRequest, req)
        }
    }

    /// GET /studio/channels/:id
    func channelSettings(req: Request) async throws -> View {
        let channel = try await req.editableChannel(idStatus: .notFound)
        var page = settingsPage(channel, req: req)
        page.rtmpServer = req.rtmpServerURL
        page.streamKey = try await req.live.streamKey(for: channel)
        page.isLive = req.services.live.isLive(channelID: try channel.requireID())
        page.liveTitle = channel.liveTitle ?? ""
        page.liveTags = channel.liveTags ?? ""
        page.nextStream = channel.nextStreamText ?? ""
        page.saveReplays = channel.saveReplays != false
        return try await req.render("channel-settings", page)
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
            throw Abort(.badRequest, reason: failure.description)
        }
        return req.redirectAfterForm(to: "/studio/channels/\(try channel.requireID())#live", notice: .saved)
    }

    /// POST /studio/channels/:id/stream-key — a new key; a publisher using the old one is dropped.
    func regenerateStreamKey(req: Request) async throws -> Response {
        let channel = try await req.editableChannel(idStatus: .notFound)
        try await req.live.regenerate(channel)
        return req.redirectAfterForm(to: "/studio/channels/\(try channel.requireID())#live", notice: .streamKeyChanged)
    }

    /// POST /studio/channels/:id
    func updateChannel(req: Request) async throws -> Response {
        let channel = try await req.editableChannel(idStatus: .notFound)
        let form = try req.content.decode(ChannelForm.self)
        do {
            try await req.channels.apply(form.settings, to: channel)
            return req.redirectAfterForm(to: "/studio/channels/\(try channel.requireID())", notice: .saved)
        } catch let failure as ValidationFailure {
            // Show the stored settings with the errors, not the half-applied model.
            let fresh = try await req.editableChannel(idStatus: .notFound)
            var page = settingsPage(fresh, req: req)
            page.errors = failure.problems
            return try await rendered("channel-settings", page, status: .badRequest, req)
        }
    }

    /// POST /studio/channels/:id/images/:kind — multipart field `image`.
    func uploadImage(req: Request) async throws -> Response {
        let channel = try await req.editableChannel(idStatus: .notFound)
        guard let kind = ImageKind(rawValue: req.parameters.get("kind") ?? "") else {
            throw Abort(.notFound, reason: "Pictures are logo, banner or thumbnail.")
        }
        struct Upload: Content { var image: File? }
        guard let file = try req.content.decode(Upload.self).image, file.data.readableBytes > 0 else {
            throw Abort(.badRequest, reason: "Choose a picture file first.")
        }
        do {
            try await ImageUpload.apply(kind, bytes: file.data, to: channel, req: req)
        } catch let error as ImageError {
            var page = settingsPage(channel, req: req)
            page.errors = ["The \(kind.label) was not changed: \(error.description)."]
            return try await rendered("channel-settings", page, status: .unprocessableEntity, req)
        }
        return req.redirectAfterForm(to: "/studio/channels/\(try channel.requireID())", notice: .imageSaved)
    }

    /// GET /studio/channels/:id/delete — asks first.
    func confirmDeleteChannel(req: Request) async throws -> View {
        let channel = try await req.editableChannel(idStatus: .notFound)
        let id = try channel.requireID()
        let count = try await Video.query(on: req.db).filter(\.$channel.$id == id).count()
        return try await req.render(
            "confirm",
            ConfirmPage(
                title: "Delete @\(channel.handle) · Videotube", heading: "Delete the channel \(channel.name)?",
                detail: "Its \(Formatting.counted(count, "video")), pictures and subscribers go with it. This cannot be undone.",
                action: "/studio/channels/\(id)/delete", button: "Delete channel", cancelURL: "/studio/channels/\(id)"))
    }

    /// POST /studio/channels/:id/delete
    func deleteChannel(req: Request) async throws -> Response {
        let channel = try await req.editableChannel(idStatus: .notFound)
        try await req.channels.delete(channel)
        return req.redirectAfterForm(to: "/studio", notice: .deleted)
    }

    // MARK: videos

    /// GET /studio/videos/:id
    func editVideo(req: Request) async throws -> View {
        try await req.render("video-edit", videoPage(try await req.editableVideo(idStatus: .notFound), req: req))
    }

    /// POST /studio/videos/:id
    func updateVideo(req: Request) async throws -> Response {
        let video = try await req.editableVideo(idStatus: .notFound)
        let changes = try req.content.decode(VideoService.Changes.self)
        do {
            try await req.videos.update(video, changes)
            return req.redirectAfterForm(to: "/studio/videos/\(try video.requireID())", notice: .saved)
        } catch let failure as ValidationFailure {
            var page = videoPage(try await req.editableVideo(idStatus: .notFound), req: req)
            page.errors = failure.problems
            return try await rendered("video-edit", page, status: .badRequest, req)
        }
    }

    /// GET /studio/videos/:id/delete — asks first.
    func confirmDeleteVideo(req: Request) async throws -> View {
        let video = try await req.editableVideo(idStatus: .notFound)
        let id = try video.requireID()
        return try await req.render(
            "confirm",
            ConfirmPage(
                title: "Delete video · Videotube", heading: "Delete “\(video.title)”?",
                detail: "The video, its views and its files are removed for good.", action: "/studio/videos/\(id)/delete",
                button: "Delete video", cancelURL: "/studio/videos/\(id)"))
    }

    /// POST /studio/videos/:id/delete
    func deleteVideo(req: Request) async throws -> Response {
        try await req.videos.delete(try await req.editableVideo(idStatus: .notFound))
        return req.redirectAfterForm(to: "/studio", notice: .deleted)
    }

    // MARK: helpers

    private func rendered<Page: Encodable>(_ template: String, _ page: Page, status: HTTPResponseStatus, _ req: Request) async throws -> Response {
        let response = try await req.render(template, page).encodeResponse(for: req)
        response.status = status
        return response
    }

    private func settingsPage(_ channel: Channel?, req: Request) -> ChannelSettingsPage {
        let links = req.mediaLinks
        let id = channel?.id
        return ChannelSettingsPage(
            title: channel.map { "\($0.name) settings · Videotube" } ?? "New channel · Videotube", isNew: channel == nil,
            action: id.map { "/studio/channels/\($0)" } ?? "/studio/channels", id: id, handle: channel?.handle ?? "",
            name: channel?.name ?? "", description: channel?.description ?? "", linksText: channel?.linksText ?? "",
            languages: ChannelOptions.languages.map { .init(value: $0, selected: $0 == channel?.language) },
            categories: ChannelOptions.categories.map { .init(value: $0, selected: $0 == channel?.category) },
            pictures: channel.map { channel in
                ImageKind.allCases.map { kind in
                    let key: String? =
                        switch kind {
                        case .logo: channel.logoKey
                        case .banner: channel.bannerKey
                        case .thumbnail: channel.thumbnailKey
                        }
                    let (w, h) = kind.size
                    return .init(
                        kind: kind.rawValue, label: kind.label.capitalizedFirst,
                        hint: "JPEG, PNG, WebP or GIF; cropped to \(w)×\(h).", url: key.map { links.url(key: $0) },
                        action: "/studio/channels/\(channel.id ?? 0)/images/\(kind.rawValue)")
                }
            } ?? [],
            channelURL: channel.map { "/@\($0.handle)" }, deleteURL: id.map { "/studio/channels/\($0)/delete" })
    }

    private func videoPage(_ video: Video, req: Request) -> VideoEditPage {
        let id = video.id ?? 0
        return VideoEditPage(
            title: "Edit “\(video.title)” · Videotube", id: id, videoTitle: video.title, description: video.description,
            visibilities: [
                .init(value: "public", label: "Public: everyone can find and watch it", selected: video.visibility == .public),
                .init(value: "unlisted", label: "Unlisted: anyone with the link can watch it", selected: video.visibility == .unlisted),
                .init(value: "private", label: "Private: only you", selected: video.visibility == .private),
            ],
            thumbnailURL: req.mediaLinks.url(key: video.thumbnailKey, of: video, for: req.user), watchURL: "/watch?v=\(id)",
            deleteURL: "/studio/videos/\(id)/delete", takedownReason: video.takedownReason,
            statusText: "\(video.status.rawValue.capitalizedFirst) • \(Formatting.counted(video.views, "view")) • uploaded \(Formatting.day(video.createdAt))",
            processing: video.status == .processing, failureReason: video.failureReason)
    }
}

/// Writes an uploaded picture to a temporary file, then validates, re-encodes and stores it.
enum ImageUpload {
    static func apply(_ kind: ImageKind, bytes: ByteBuffer, to channel: Channel, req: Request) async throws {
        let temp = NSTemporaryDirectory() + "videotube-upload-\(UUID().uuidString)"
        try await req.fileio.writeFile(bytes, at: temp)
        defer { try? FileManager.default.removeItem(atPath: temp) }
        try await req.channels.setImage(kind, from: temp, on: channel)
    }
}

extension Request {
    var channels: ChannelService { ChannelService(db: db, storage: services.storage) }
    var videos: VideoService { VideoService(db: db, storage: services.storage, revisions: services.mediaRevisions) }
    var subscriptions: SubscriptionService { SubscriptionService(db: db) }
    var admin: AdminService { AdminService(db: db, storage: services.storage, revisions: services.mediaRevisions) }
}
