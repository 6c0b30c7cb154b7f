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
        let services = req.services
        guard let representation = services.storage.representation(of: video.mediaKey),
            let path = try? services.storage.localPath(for: video.mediaKey)
        else {
            req.logger.error("video \(id): its media file is missing from storage")
            throw Abort(.notFound, reason: "the file of video \(id) is missing; its owner may re-upload it")
        }
        let isHead = req.method == .HEAD
        let plan = services.responder.plan(
            MediaRequest(isHead: isHead, header: { req.headers.first(name: $0) }), for: representation)
        if let recorder = services.watchLog {
            await recorder.record(
                .init(
                    videoID: id, userID: req.user?.id, remoteAddress: req.remoteAddress?.ipAddress,
                    userAgent: req.headers.first(name: .userAgent), source: download ? "download" : "stream",
                    status: plan.status, at: Date()))
        }

        var headers = HTTPHeaders(plan.headers)
        headers.replaceOrAdd(name: .cacheControl, value: "private, max-age=3600")
        if download {
            let filename = downloadFilename(title: video.title, fileExtension: Media.StorageKey.fileExtension(of: video.mediaKey))
            headers.replaceOrAdd(name: .contentDisposition, value: attachmentDisposition(filename: filename))
        }
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
}
