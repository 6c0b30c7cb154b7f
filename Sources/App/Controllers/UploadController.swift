import Fluent
import Media
import NIOCore
import NIOPosix
import Vapor

/// Uploads in one request: `POST /api/v1/videos` (raw body or multipart) for scripts, URL imports, and the
/// processing state. Bodies go to disk chunk by chunk as they arrive, so memory stays flat whatever the size.
struct UploadController {
    /// POST /api/v1/videos — the file as the raw body (`?channel=&title=&description=&visibility=&filename=`) or as
    /// the `file` field of a multipart form (with `channel`, `title`, `description`, `visibility` fields). 201 with the
    /// video.
    func create(req: Request) async throws -> Response {
        let user = try req.requireUser()
        let uploads = req.uploads
        let declared = req.headers.first(name: .contentLength).flatMap(Int64.init)
        try uploads.checkSize(length: declared)
        var fields: [String: String] = [:]
        for name in ["channel", "title", "description", "visibility", "filename"] {
            if let value = req.query[String.self, at: name] { fields[name] = value }
        }
        // Refuse overlong text and someone else's channel before reading a byte, when the query names them.
        try VideoLimits.check(title: fields["title"], description: fields["description"], visibility: fields["visibility"])
        if let handle = fields["channel"] { _ = try await uploads.channel(for: user, handle: handle) }
        // The quota is held before the first byte and given back once the video counts its own bytes.
        let (hold, limit) = try await uploads.reserve(user: user, length: declared)
        let video: Video
        do {
            video = try await receive(req, user: user, fields: fields, limit: limit)
            await uploads.release(hold)
        } catch {
            await uploads.release(hold)
            throw error
        }
        req.services.jobs.wake()
        return try await req.created(
            video.toDTO(links: req.mediaLinks, site: req.siteBase, viewer: user), location: "/api/v1/videos/\(try video.requireID())")
    }

    /// Writes a single-request body (raw or multipart) to storage and accepts it as a video.
    private func receive(_ req: Request, user: User, fields: [String: String], limit: Int64) async throws -> Video {
        let uploads = req.uploads
        var fields = fields
        let file = try req.services.storage.reserve(prefix: "uploads", fileExtension: "part")
        let outcome: BodyWriter.Outcome
        if let type = req.headers.contentType, type.type == "multipart", type.subType == "form-data" {
            guard let boundary = type.parameters["boundary"] else {
                throw Abort(.badRequest, reason: "A multipart body needs a boundary in its Content-Type.")
            }
            let parsed = await BodyWriter.writeMultipart(
                req.body, boundary: boundary, fileField: "file", to: file.path, limit: limit, pool: req.application.threadPool)
            outcome = parsed.outcome
            for (name, value) in parsed.fields where ["channel", "title", "description", "visibility"].contains(name) {
                fields[name] = value
            }
            if let filename = parsed.filename { fields["filename"] = filename }
            let known: Set<String> = ["channel", "title", "description", "visibility", "file"]
            if outcome.failure == nil, let unknown = parsed.fields.keys.sorted().first(where: { !known.contains($0) }) {
                req.services.storage.delete(file.key)
                throw ValidationFailure(
                    "The form has a field '\(unknown.prefix(40))' this upload does not take; send file, channel, title, description and visibility.",
                    field: String(unknown.prefix(40)))
            }
            if outcome.failure == nil && !parsed.sawFile {
                req.services.storage.delete(file.key)
                throw Abort(.badRequest, reason: "The multipart form has no `file` field with the video.")
            }
        } else {
            outcome = await BodyWriter.write(req.body, to: file.path, at: 0, limit: limit, pool: req.application.threadPool)
        }
        if let failure = outcome.failure {
            req.services.storage.delete(file.key)
            throw failure
        }
        guard outcome.written > 0 else {
            req.services.storage.delete(file.key)
            throw Abort(.unprocessableEntity, reason: "The file is empty: send the video file as the body or as the `file` field.")
        }
        let channel: Channel
        do {
            // Multipart fields arrive with the body: checked once it is in.
            try VideoLimits.check(title: fields["title"], description: fields["description"], visibility: fields["visibility"])
            channel = try await uploads.channel(for: user, handle: fields["channel"])
        } catch {
            req.services.storage.delete(file.key)
            throw error
        }
        return try await uploads.accept(
            fileKey: file.key, filename: fields["filename"] ?? "", channel: channel, title: fields["title"],
            description: fields["description"] ?? "", visibility: VideoLimits.visibility(fields["visibility"]))
    }

    /// POST /api/v1/videos/import — `{"url", "channel", "title", "description", "visibility"}`: the server downloads the file
    /// (public addresses only, unless allowed) and it becomes a video like an upload. 201 with the video.
    func importURL(req: Request) async throws -> Response {
        let user = try req.requireUser()
        struct Body: Content {
            var url: String
            var channel: String?
            var title: String?
            var description: String?
            var visibility: String?
        }
        let body = try req.content.decode(Body.self)
        let video = try await req.uploads.importURL(
            body.url, user: user, channel: body.channel, title: body.title, description: body.description ?? "",
            visibility: body.visibility, downloader: req.downloader)
        req.services.jobs.wake()
        return try await req.created(
            video.toDTO(links: req.mediaLinks, site: req.siteBase, viewer: user), location: "/api/v1/videos/\(try video.requireID())")
    }

    // MARK: processing

    /// GET /api/v1/videos/:id/processing — stage, percentage and outcome (the owner's and admins' view).
    func processing(req: Request) async throws -> ProcessingDTO {
        let owned = try await req.editableVideo(idStatus: .badRequest)
        let id = try owned.requireID()
        let job = try await JobQueue(db: req.db).job(videoID: id)
        // A job is marked done after its video is saved ready: the video read after the job never pairs a done
        // job with a video still processing.
        let video = try await req.catalog.anyVideo(id: id) ?? owned
        return ProcessingDTO(video: video, job: job, site: req.siteBase)
    }
}

