import Fluent
import Media
import NIOCore
import Vapor

/// The app's own byte routes: `/videos/:id/stream`, `/video_stream/:id` and `/videos/:id/download`.
/// They use the same planner as the media listener and stream the planned bytes in chunks.
struct StreamController {
    /// GET/HEAD /videos/:id/stream and /video_stream/:id
    func stream(req: Request) async throws -> Response {
        try await respond(req, download: false)
    }

    /// GET/HEAD /videos/:id/download — the same bytes as an attachment named after the title.
    func download(req: Request) async throws -> Response {
        try await respond(req, download: true)
    }

    private func respond(_ req: Request, download: Bool) async throws -> Response {
        let id = try req.numericID(what: "video")
        guard let video = try await req.catalog.watchableVideo(id: id, viewer: req.user) else {
            throw Abort(.notFound, reason: "no video with id \(id)")
        }
        let key = video.mediaKey
        var extra = HTTPHeaders()
        extra.replaceOrAdd(name: .cacheControl, value: "private, max-age=3600")
        if download {
            let filename = downloadFilename(title: video.title, fileExtension: Media.StorageKey.fileExtension(of: key))
            extra.replaceOrAdd(name: .contentDisposition, value: attachmentDisposition(filename: filename))
        }
        return try await req.sendStored(
            key: key, what: "the file of video \(id)", extra: extra, served: req.watchLogger(.video(id), download ? .download : .stream))
    }

    /// GET/HEAD /videos/:id/hls/:file — the master playlist, rendition playlists, init and media segments, and
    /// the storyboard (`storyboard.jpg`, `storyboard.vtt`), under the same visibility rules as the stream.
    /// Segments never change, so they are cacheable for a year; playlists are revalidated, since the master grows
    /// while renditions are still being made.
    func asset(req: Request) async throws -> Response {
        let id = try req.numericID(what: "video")
        let file = req.parameters.get("file") ?? ""
        guard Media.StorageKey.isPlainFileName(file, extensions: ["m3u8", "m4s", "mp4", "jpg", "vtt"]) else {
            throw Abort(.notFound, reason: "video assets are playlists (.m3u8), segments (.m4s, .mp4) and the storyboard")
        }
        guard let video = try await req.catalog.watchableVideo(id: id, viewer: req.user), let folder = video.assetsKey else {
            throw Abort(.notFound, reason: "no streaming assets for video \(id)")
        }
        let scope = video.isListed || video.visibility == .unlisted ? "public" : "private"
        let immutable = file.hasSuffix(".m4s") || file.hasSuffix(".mp4")
        var extra = HTTPHeaders()
        extra.replaceOrAdd(
            name: .cacheControl, value: immutable ? "\(scope), max-age=31536000, immutable" : "\(scope), no-cache")
        // Playlists and the storyboard are no playback; the init and media segments are the session's bytes.
        return try await req.sendStored(
            key: "\(folder)/\(file)", what: "\(file) of video \(id)", extra: extra,
            served: immutable ? req.watchLogger(.video(id), .hls) : nil)
    }

}

extension Request {
    /// Serves a stored object with ranges and conditional requests, streamed in chunks: videos, HLS assets, live
    /// segments. `served` sees the status the plan chose and the body's length (the watch log's entry). `missing` is the 404's reason;
    /// without one, a missing object is also logged as an error (it should be there).
    func sendStored(
        key: String, what: String, extra: HTTPHeaders, missing: String? = nil, served: (@Sendable (Int, Int64) -> Void)? = nil
    ) async throws -> Response {
        let req = self
        let services = req.services
        // Live segments stay on the publishing node's disk (`live/…`); everything else may be in a bucket.
        if services.storage.isRemote, !key.hasPrefix("live/") {
            return try await sendRemote(key: key, what: what, extra: extra, missing: missing, served: served)
        }
        guard let representation = services.storage.representation(of: key),
            let path = try? services.storage.localPath(for: key)
        else {
            if let missing { throw Abort(.notFound, reason: missing) }
            req.logger.error("\(what) is missing from storage (\(key))")
            throw Abort(.notFound, reason: "\(what) is missing; its owner may re-upload it")
        }
        let isHead = req.method == .HEAD
        let plan = services.responder.plan(
            MediaRequest(isHead: isHead, header: { req.headers.first(name: $0) }), for: representation)
        served?(plan.status, isHead ? 0 : plan.contentLength)
        var headers = HTTPHeaders(plan.headers)
        for (name, value) in extra { headers.replaceOrAdd(name: name, value: value) }
        let status = HTTPResponseStatus(statusCode: plan.status)
        let segments = plan.body
        let length = Int(plan.contentLength)
        guard !isHead, length > 0 else {
            let response = Response(status: status, headers: headers)
            if length > 0 {
                // HEAD: Vapor leaves the body out but keeps the length it declares.
                response.body = .init(stream: { $0.write(.end, promise: nil) }, count: length)
            }
            return response
        }
        let fileio = req.fileio
        let body = Response.Body(
            asyncStream: { writer in
                do {
                    for segment in segments {
                        switch segment {
                        case .text(let text):
                            try await writer.writeBuffer(ByteBuffer(string: text))
                        case .file(let range):
                            let chunks = try await fileio.readFile(
                                at: path, chunkSize: 256 * 1024, offset: range.start, byteCount: Int(range.count))
                            do {
                                for try await chunk in chunks { try await writer.writeBuffer(chunk) }
                            } catch {
                                try? await chunks.closeHandle()
                                throw error
                            }
                        }
                    }
                    try await writer.write(.end)
                } catch {
                    try? await writer.write(.error(error))
                }
            }, count: length)
        return Response(status: status, headers: headers, body: body)
    }

    /// `sendStored` for objects in a bucket: playlists and captions (small, and naming their neighbours by relative
    /// URLs, which must resolve here) are read and answered by the app; everything else is a redirect to a
    /// presigned URL, so the bytes go from the store to the viewer.
    func sendRemote(
        key: String, what: String, extra: HTTPHeaders, missing: String?, served: (@Sendable (Int, Int64) -> Void)?
    ) async throws -> Response {
        let storage = services.storage
        let fileExtension = Media.StorageKey.fileExtension(of: key)
        if ["m3u8", "vtt"].contains(fileExtension) {
            guard let bytes = await storage.readSmall(key, limit: 4 << 20) else {
                throw Abort(.notFound, reason: missing ?? "\(what) is missing; its owner may re-upload it")
            }
            var headers = extra
            headers.replaceOrAdd(name: .contentType, value: MIMEType.forExtension(fileExtension))
            served?(200, Int64(bytes.count))
            return Response(status: .ok, headers: headers, body: .init(buffer: ByteBuffer(bytes: bytes)))
        }
        let lifetime = Int(services.config.mediaURLLifetime)
        guard
            let url = storage.presignedURL(
                for: key, expires: lifetime, contentType: MIMEType.forExtension(fileExtension),
                disposition: extra.first(name: .contentDisposition))
        else { throw Abort(.notFound, reason: missing ?? "\(what) is missing") }
        served?(302, 0)
        var headers = HTTPHeaders()
        headers.replaceOrAdd(name: .location, value: url)
        headers.replaceOrAdd(name: .cacheControl, value: "private, max-age=\(min(lifetime, 3600))")
        return Response(status: .found, headers: headers)
    }

    /// What `sendStored` reports a served request with: the watch log's entry for this viewer, or nil when the
    /// watch log is off.
    func watchLogger(_ target: WatchLogRecorder.Entry.Target, _ source: WatchSession.Source) -> (@Sendable (Int, Int64) -> Void)? {
        guard let recorder = services.watchLog else { return nil }
        let viewer = viewerKey, userID = user?.id, address = clientAddress, agent = headers.first(name: .userAgent)
        return { status, bytes in
            recorder.record(
                .init(
                    target: target, viewer: viewer, userID: userID, remoteAddress: address, userAgent: agent, source: source,
                    status: status, bytes: bytes))
        }
    }
}
