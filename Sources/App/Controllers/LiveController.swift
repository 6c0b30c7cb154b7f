import Fluent
import Vapor

/// Stream keys (owner only) and, later, live pages and listings.
struct LiveController {
    /// GET /api/v1/channels/:id/stream-key — the key and the OBS settings.
    func streamKey(req: Request) async throws -> StreamKeyDTO {
        let channel = try await req.editableChannel(idStatus: .badRequest)
        let key = try await req.live.streamKey(for: channel)
        return StreamKeyDTO(channel: channel, key: key, req: req)
    }

    /// POST /api/v1/channels/:id/stream-key — a new key; the old one stops working and its publisher is dropped.
    func regenerateStreamKey(req: Request) async throws -> StreamKeyDTO {
        let channel = try await req.editableChannel(idStatus: .badRequest)
        let key = try await req.live.regenerate(channel)
        return StreamKeyDTO(channel: channel, key: key, req: req)
    }
}

/// A channel's stream key and where OBS sends it.
struct StreamKeyDTO: Content {
    var channel_id: Int
    var stream_key: String
    /// OBS "Server" (Settings → Stream → Custom).
    var server: String
    /// The whole publish URL, for ffmpeg and GStreamer.
    var url: String
    var live: Bool

    init(channel: Channel, key: String, req: Request) {
        channel_id = channel.id ?? 0
        stream_key = key
        server = req.rtmpServerURL
        url = "\(server)/\(key)"
        live = req.services.live.isLive(channelID: channel.id ?? 0)
    }
}

extension LiveController {
    /// GET /live/:handle/:file — the live playlist (`index.m3u8`, revalidated every time), `init.mp4` and the
    /// segments, while the channel is live.
    func hls(req: Request) async throws -> Response {
        let handle = (req.parameters.get("handle") ?? "").lowercased()
        let file = req.parameters.get("file") ?? ""
        guard file == "index.m3u8" || file == "init.mp4" || (file.hasPrefix("seg_") && file.hasSuffix(".m4s") && file.count <= 20
            && file.dropFirst(4).dropLast(4).allSatisfy(\.isNumber))
        else { throw Abort(.notFound, reason: "live streams have index.m3u8, init.mp4 and seg_NNNNNN.m4s") }
        guard let channel = try await req.catalog.channel(handle: handle), let id = channel.id, req.services.live.isLive(channelID: id)
        else { throw Abort(.notFound, reason: "@\(handle.prefix(30)) is not live") }
        let path = "\(req.services.config.liveDirectory)/\(id)/\(file)"
        guard let data = FileManager.default.contents(atPath: path) else {
            throw Abort(.notFound, reason: "\(file) is not there (yet): the stream is starting or moved on")
        }
        let type = file.hasSuffix(".m3u8") ? "application/vnd.apple.mpegurl" : file.hasSuffix(".m4s") ? "video/iso.segment" : "video/mp4"
        var headers = HTTPHeaders([("Content-Type", type)])
        headers.add(name: .cacheControl, value: file.hasSuffix(".m3u8") ? "no-cache" : "public, max-age=60")
        return Response(status: .ok, headers: headers, body: .init(data: data))
    }
}

extension Request {
    var live: LiveService { LiveService(db: db, registry: services.live) }

    /// `rtmp://HOST[:PORT]/live` for the host this request came in on.
    var rtmpServerURL: String {
        let host = (headers.first(name: .host) ?? "127.0.0.1").split(separator: ":").first.map(String.init) ?? "127.0.0.1"
        let port = services.rtmpPort == 0 ? services.config.rtmpPort : services.rtmpPort
        return "rtmp://\(MediaLinks.safeHost(host) ?? "127.0.0.1")\(port == 1935 ? "" : ":\(port)")/live"
    }
}
