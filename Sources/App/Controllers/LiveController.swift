import Fluent
import Media
import Vapor

/// Stream keys (owner only) and, later, live pages and listings.
struct LiveController {
    /// GET /api/v1/channels/:id/stream-key — the key and the OBS settings.
    func streamKey(req: Request) async throws -> StreamKeyDTO {
        let channel = try await req.editableChannel(idStatus: .badRequest)
        let key = try await req.live.streamKey(for: channel)
        return StreamKeyDTO(channel: channel, key: key, req: req)
    }

    /// PATCH /api/v1/channels/:id/live — `title`, `tags` (comma-separated), `next_stream`, `save_replays`.
    func updateSettings(req: Request) async throws -> ChannelDTO {
        let channel = try await req.editableChannel(idStatus: .badRequest)
        try await req.live.apply(try req.content.decode(LiveService.Settings.self), to: channel)
        return try channel.toDTO(links: req.mediaLinks, site: req.siteBase)
    }

    /// POST /api/v1/channels/:id/stream-key — a new key; the old one stops working and its publisher is dropped.
    func regenerateStreamKey(req: Request) async throws -> StreamKeyDTO {
        let channel = try await req.editableChannel(idStatus: .badRequest)
        let key = try await req.live.regenerate(channel)
        return StreamKeyDTO(channel: channel, key: key, req: req)
    }
}

extension LiveController {
    /// GET /live/:handle — the live page: player at the live edge, title, category, tags, viewers; or the
    /// offline state with the next stream's text.
    func page(req: Request) async throws -> View {
        let handle = (req.parameters.get("handle") ?? "").lowercased()
        guard let channel = try await req.catalog.channel(handle: handle), let id = channel.id else {
            throw Abort(.notFound, reason: "There is no channel @\(handle.prefix(30)).")
        }
        // Viewers are counted once per person: signed out, per browser, so this page gives the browser its visitor
        // id (the chat socket it opens then carries it). The page is made per request anyway (viewer counts).
        _ = req.visitorForForms()
        var replay: Video?
        if channel.liveStartedAt == nil, let latest = try await req.chat.latestReplay(channelID: id) {
            replay = try await req.catalog.watchableVideo(id: latest, viewer: req.user)
        }
        var page = LivePage(
            channel, viewers: req.services.viewers.count(id), links: req.mediaLinks,
            subscribe: try await req.subscribeBox(channel, back: SiteURL.live(.value(channel.handle)).path), latestReplay: replay)
        page.player = req.services.config.livePlayer
        return try await req.render("live", page)
    }

    /// GET /live/:handle/events — server-sent events: `{"live", "viewers"}` now and every 2 seconds. Each open
    /// stream is one viewer of the channel while it lasts.
    func events(req: Request) async throws -> Response {
        let handle = (req.parameters.get("handle") ?? "").lowercased()
        guard let channel = try await req.catalog.channel(handle: handle), let id = channel.id else {
            throw Abort(.notFound, reason: "There is no channel @\(handle.prefix(30)).")
        }
        let viewers = req.services.viewers
        let registry = req.services.live
        let database = req.db
        let viewerKey = req.viewerKey
        var headers = HTTPHeaders([("Content-Type", "text/event-stream"), ("Cache-Control", "no-cache")])
        headers.add(name: "X-Accel-Buffering", value: "no")
        let body = Response.Body(asyncStream: { writer in
            viewers.join(id, key: viewerKey)
            defer { viewers.leave(id, key: viewerKey) }
            var ticks = 0
            var live = registry.isLive(channelID: id)
            do {
                while true {
                    if ticks % 5 == 0, !registry.isLive(channelID: id) {
                        // Another node may hold the publisher: the database says.
                        live = (try? await LiveService(db: database, registry: registry).isFlaggedLive(channelID: id)) ?? false
                    } else if registry.isLive(channelID: id) {
                        live = true
                    }
                    let event = "data: {\"live\":\(live),\"viewers\":\(viewers.count(id))}\n\n"
                    try await writer.writeBuffer(ByteBuffer(string: event))
                    ticks += 1
                    try await Task.sleep(nanoseconds: 2_000_000_000)
                }
            } catch {
                try? await writer.write(.end)
            }
        })
        return Response(status: .ok, headers: headers, body: body)
    }

    /// GET /api/v1/live?category=&language=&tag=&sort=viewers|rating — live channels, most watched (or best rated)
    /// first.
    func list(req: Request) async throws -> ListDTO<LiveChannelDTO> {
        let sort = req.query[String.self, at: "sort"] ?? "viewers"
        guard sort == "viewers" || sort == "rating" else {
            throw Abort(.badRequest, reason: "sort must be 'viewers' or 'rating', got '\(sort.prefix(40))'")
        }
        let channels = try await req.live.liveChannels(
            category: req.query[String.self, at: "category"], language: req.query[String.self, at: "language"],
            tag: req.query[String.self, at: "tag"])
        let viewers = req.services.viewers
        let links = req.mediaLinks, site = req.siteBase
        var items = try channels.map { try LiveChannelDTO($0, viewers: viewers.count($0.requireID()), links: links, site: site) }
        if sort == "rating" {
            let ratings = try await req.ratings.channelRatings()
            for index in items.indices { items[index].channel.rating = ratings[items[index].channel.id] ?? 0 }
            return ListDTO(data: items.sorted { ($0.channel.rating ?? 0, $0.viewers, $1.channel.id) > ($1.channel.rating ?? 0, $1.viewers, $0.channel.id) })
        }
        return ListDTO(data: items.sorted { ($0.viewers, $1.channel.id) > ($1.viewers, $0.channel.id) })
    }

    /// GET /live/:handle/:file — the live playlist (`index.m3u8`, revalidated every time), `init.mp4` and the
    /// segments, while the channel is live.
    func hls(req: Request) async throws -> Response {
        let handle = (req.parameters.get("handle") ?? "").lowercased()
        let file = req.parameters.get("file") ?? ""
        // `index.m3u8`, `source.m3u8`, `480p.m3u8`, `init.mp4`, `init_1.mp4`, `seg_000012.m4s`, `480p_000012.m4s`, `preview.jpg`
        guard Media.StorageKey.isPlainFileName(file, extensions: ["m3u8", "m4s", "mp4", "jpg"], maxStem: 30) else {
            throw Abort(.notFound, reason: "live streams have index.m3u8, variant playlists, init and .m4s segments, preview.jpg")
        }
        // Live by the database (any node may hold the publisher) and with a playlist written in the last 15 s: on
        // this node's disk (it has the publisher, or shares the folder), or else in the bucket the publisher's node
        // copies its folder to.
        guard let channel = try await req.catalog.channel(handle: handle), let id = channel.id, channel.liveStartedAt != nil else {
            throw Abort(.notFound, reason: "@\(handle.prefix(30)) is not live")
        }
        let storage = req.services.storage
        let local = LiveService.isFresh(folder: "\(req.services.config.liveDirectory)/\(id)")
        var extra = HTTPHeaders()
        extra.add(name: .cacheControl, value: file.hasSuffix(".m3u8") ? "no-cache" : file.hasSuffix(".jpg") ? "public, max-age=10" : "public, max-age=60")
        let key = LiveService.storageKey(channelID: id, file: file)
        if !local, storage.isRemote {
            guard let playlist = await storage.describe(LiveService.storageKey(channelID: id, file: "index.m3u8")),
                Date().timeIntervalSince1970 - Double(playlist.lastModified) < 15
            else { throw Abort(.notFound, reason: "@\(handle.prefix(30)) is not live") }
            return try await req.sendRemote(
                key: key, what: "\(file) of @\(handle)", extra: extra, missing: "\(file) is not there (yet): the stream is starting or moved on",
                served: file.hasSuffix(".m4s") || file.hasSuffix(".mp4") ? req.watchLogger(.live(channelID: id), .live) : nil)
        }
        guard local else { throw Abort(.notFound, reason: "@\(handle.prefix(30)) is not live") }
        // The live folder is inside media storage (`live/{id}/…`), so the usual file serving applies.
        return try await req.sendStored(
            key: key, what: "\(file) of @\(handle)", extra: extra,
            missing: "\(file) is not there (yet): the stream is starting or moved on",
            served: file.hasSuffix(".m4s") || file.hasSuffix(".mp4") ? req.watchLogger(.live(channelID: id), .live) : nil)
    }
}

extension Request {
    /// `rtmp://HOST[:PORT]/live` for the host this request came in on.
    var rtmpServerURL: String {
        let host = services.config.publicURL.flatMap { URLComponents(string: $0)?.host }
            ?? (headers.first(name: .host) ?? "127.0.0.1").split(separator: ":").first.map(String.init) ?? "127.0.0.1"
        let port = services.rtmpPort == 0 ? services.config.rtmpPort : services.rtmpPort
        return "rtmp://\(MediaLinks.safeHost(host) ?? "127.0.0.1")\(port == 1935 ? "" : ":\(port)")/live"
    }
}
