import Fluent
import Media
import NIOCore
import NIOPosix
import Vapor

/// Resumable uploads with the tus 1.0 protocol (core, creation, termination and expiration;
/// https://tus.io/protocols/resumable-upload). Bodies go to disk chunk by chunk as they arrive; one request at a
/// time writes an upload (`UploadLocks`), and the PATCH that brings the last byte makes the video.
struct TusController {
    static let tusVersion = "1.0.0"

    /// OPTIONS /api/v1/uploads — what this server speaks.
    func tusOptions(req: Request) async throws -> Response {
        let response = Response(status: .noContent)
        response.headers.replaceOrAdd(name: "Tus-Version", value: Self.tusVersion)
        response.headers.replaceOrAdd(name: "Tus-Extension", value: "creation,termination,expiration")
        response.headers.replaceOrAdd(name: "Tus-Max-Size", value: "\(req.services.config.maxUploadBytes)")
        return tus(response)
    }

    /// POST /api/v1/uploads — `Upload-Length` and `Upload-Metadata` (`filename`, `channel`, `title`, `description`, `visibility`,
    /// base64 values). 201 with the upload's URL in `Location`.
    func tusCreate(req: Request) async throws -> Response {
        try checkTusVersion(req)
        let user = try req.requireUser()
        guard let raw = req.headers.first(name: "Upload-Length") else {
            throw Abort(.badRequest, reason: "Send Upload-Length with the file's size in bytes (deferred lengths are not supported).")
        }
        guard let length = TusHeaders.size(raw), length > 0 else {
            throw Abort(.badRequest, reason: "Upload-Length must be a positive whole number of bytes, not '\(raw.prefix(30))'.")
        }
        let metadata: [String: String]
        do {
            metadata = try TusHeaders.metadata(req.headers.first(name: "Upload-Metadata") ?? "")
        } catch {
            throw Abort(error.isNotText ? .unprocessableEntity : .badRequest, reason: error.description)
        }
        try VideoLimits.check(title: metadata["title"], description: metadata["description"], visibility: metadata["visibility"])
        let uploads = req.uploads
        try uploads.checkSize(length: length)
        let channel = try await uploads.channel(for: user, handle: metadata["channel"])
        let file = try req.services.storage.reserve(prefix: "uploads", fileExtension: "part")
        guard FileManager.default.createFile(atPath: file.path, contents: nil, attributes: [.posixPermissions: 0o600]) else {
            throw Abort(.internalServerError, reason: "could not create the upload file")
        }
        let upload = Upload()
        upload.id = Secrets.token(prefix: "up_")
        upload.$user.id = try user.requireID()
        upload.$channel.id = try channel.requireID()
        upload.filename = String((metadata["filename"] ?? "").prefix(255))
        upload.title = metadata["title"] ?? ""
        upload.description = metadata["description"] ?? ""
        upload.visibility = VideoLimits.visibility(metadata["visibility"])
        upload.length = length
        upload.offset = 0
        upload.fileKey = file.key
        upload.createdAt = Date()
        upload.expiresAt = Date().addingTimeInterval(Self.lifetime)
        do {
            try await uploads.start(upload, user: user)
        } catch {
            req.services.storage.delete(file.key)
            throw error
        }
        let response = Response(status: .created)
        response.headers.replaceOrAdd(name: .location, value: "\(req.siteBase)/api/v1/uploads/\(upload.id!)")
        response.headers.replaceOrAdd(name: "Upload-Expires", value: HTTPDate.format(Int64(upload.expiresAt.timeIntervalSince1970)))
        return tus(response)
    }

    /// An unfinished upload is kept for a day after it was started.
    static let lifetime: TimeInterval = 24 * 3600

    /// HEAD /api/v1/uploads/:id — how many bytes the server has (the client resumes from there).
    func tusHead(req: Request) async throws -> Response {
        try checkTusVersion(req)
        let upload = try await ownUpload(req)
        let response = Response(status: .ok)
        describe(upload, in: response)
        response.headers.replaceOrAdd(name: .cacheControl, value: "no-store")
        return tus(response)
    }

    /// PATCH /api/v1/uploads/:id — bytes from `Upload-Offset` on (`Content-Type: application/offset+octet-stream`).
    /// Bytes that arrived before a dropped connection are kept. The last byte turns the upload into a video:
    /// `Videotube-Video-Id` names it (or 422 says why the file is not a video, and nothing is kept).
    func tusPatch(req: Request) async throws -> Response {
        try checkTusVersion(req)
        guard req.headers.first(name: .contentType)?.lowercased() == "application/offset+octet-stream" else {
            throw Abort(.unsupportedMediaType, reason: "tus PATCH bodies are sent as Content-Type: application/offset+octet-stream.")
        }
        let upload = try await ownUpload(req)
        let id = upload.id!
        guard upload.videoID == nil else {
            throw Abort(.conflict, reason: "This upload is complete; it became video \(upload.videoID!).")
        }
        guard let claimed = req.headers.first(name: "Upload-Offset").flatMap(TusHeaders.size) else {
            throw Abort(.badRequest, reason: "Send Upload-Offset with the byte the body starts at (ask with HEAD: it is \(upload.offset)).")
        }
        guard claimed == upload.offset else {
            let response = Response(status: .conflict)
            response.headers.replaceOrAdd(name: "Upload-Offset", value: "\(upload.offset)")
            try response.content.encode(
                ErrorDTO(error: .init(code: "conflict", message: "Upload-Offset must be \(upload.offset), the bytes the server has; ask with HEAD and resume from there.")))
            return tus(response)
        }
        let remaining = upload.length - upload.offset
        if let declared = req.headers.first(name: .contentLength).flatMap(Int64.init), declared > remaining {
            throw Abort(.payloadTooLarge, reason: "This body has \(declared) bytes but only \(remaining) are left of Upload-Length \(upload.length).")
        }
        let busy = Abort(.conflict, reason: "Another request is writing this upload; wait for it to finish, then ask with HEAD.")
        let storage = req.services.storage
        let outcome = try await req.services.uploadLocks.withLock(id, otherwise: busy) {
            let path = try storage.localPath(for: upload.fileKey)
            let start = upload.offset
            if storage.isRemote {
                // The upload may have been started, or continued, through another node.
                try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            }
            let outcome = await BodyWriter.write(req.body, to: path, at: start, limit: remaining, pool: req.application.threadPool)
            guard storage.isRemote else {
                upload.offset += outcome.written
                upload.expiresAt = Date().addingTimeInterval(Self.lifetime)
                try await upload.save(on: req.db)
                return outcome
            }
            guard outcome.written > 0 else { return outcome }
            guard try await req.uploads.storePiece(of: upload, from: start, count: outcome.written) else {
                throw Abort(.conflict, reason: "Another request wrote this upload meanwhile; ask with HEAD and resume from there.")
            }
            req.services.uploadCoverage.wrote(id, from: start, to: upload.offset)
            return outcome
        }
        if let failure = outcome.failure {
            req.logger.info("upload \(id): stopped at \(upload.offset) of \(upload.length) bytes (\(failure))")
            if failure is any AbortError { throw failure }
            throw Abort(.badRequest, reason: "The body ended early; the server kept \(upload.offset) bytes. Ask with HEAD and resume from there.")
        }
        if upload.offset == upload.length {
            guard let channel = try await req.catalog.channel(id: upload.$channel.id) else { throw Abort(.notFound, reason: "The channel of this upload was deleted.") }
            if storage.isRemote {
                if !req.services.uploadCoverage.holdsAll(id, length: upload.length) { try await req.uploads.assemblePieces(of: upload) }
                req.services.uploadCoverage.forget(id)
                storage.deleteFolder(UploadService.piecesFolder(fileKey: upload.fileKey))
            }
            do {
                let video = try await req.uploads.accept(
                    fileKey: upload.fileKey, filename: upload.filename, channel: channel,
                    title: upload.title, description: upload.description, visibility: upload.visibility ?? .public)
                upload.videoID = try video.requireID()
                try await upload.save(on: req.db)
                req.services.jobs.wake()
            } catch {
                try? await upload.delete(on: req.db)
                throw error
            }
        }
        let response = Response(status: .noContent)
        describe(upload, in: response)
        return tus(response)
    }

    /// DELETE /api/v1/uploads/:id — stops an upload and throws its bytes away (a finished upload's video stays).
    func tusDelete(req: Request) async throws -> Response {
        try checkTusVersion(req)
        let upload = try await ownUpload(req)
        let busy = Abort(.conflict, reason: "A request is still writing this upload; try again in a moment.")
        try await req.services.uploadLocks.withLock(upload.id!, otherwise: busy) {
            if upload.videoID == nil {
                req.services.storage.delete(upload.fileKey)
                if req.services.storage.isRemote { req.services.storage.deleteFolder(UploadService.piecesFolder(fileKey: upload.fileKey)) }
            }
            try await upload.delete(on: req.db)
        }
        return tus(Response(status: .noContent))
    }

    /// GET /api/v1/uploads/:id — the same facts as HEAD, as JSON.
    func uploadStatus(req: Request) async throws -> UploadDTO {
        let upload = try await ownUpload(req)
        return UploadDTO(
            id: upload.id!, filename: upload.filename, length: upload.length, offset: upload.offset,
            expires_at: upload.expiresAt, video_id: upload.videoID,
            video_url: upload.videoID.map { "\(req.siteBase)/api/v1/videos/\($0)" })
    }

    private func describe(_ upload: Upload, in response: Response) {
        response.headers.replaceOrAdd(name: "Upload-Offset", value: "\(upload.offset)")
        response.headers.replaceOrAdd(name: "Upload-Length", value: "\(upload.length)")
        response.headers.replaceOrAdd(name: "Upload-Expires", value: HTTPDate.format(Int64(upload.expiresAt.timeIntervalSince1970)))
        if let videoID = upload.videoID {
            response.headers.replaceOrAdd(name: "Videotube-Video-Id", value: "\(videoID)")
            response.headers.replaceOrAdd(name: .link, value: "</api/v1/videos/\(videoID)>; rel=\"video\"")
        }
    }

    private func tus(_ response: Response) -> Response {
        response.headers.replaceOrAdd(name: "Tus-Resumable", value: Self.tusVersion)
        return response
    }

    /// A missing `Tus-Resumable` is a malformed request (400); another version is 412 with the one we speak (tus §Tus-Resumable).
    private func checkTusVersion(_ req: Request) throws {
        guard let version = req.headers.first(name: "Tus-Resumable") else {
            throw Abort(.badRequest, headers: ["Tus-Version": Self.tusVersion, "Tus-Resumable": Self.tusVersion],
                reason: "Send Tus-Resumable: 1.0.0 with every tus request.")
        }
        guard version == Self.tusVersion else {
            throw Abort(
                .preconditionFailed, headers: ["Tus-Version": Self.tusVersion, "Tus-Resumable": Self.tusVersion],
                reason: "Send Tus-Resumable: 1.0.0; this server speaks tus 1.0.0.")
        }
    }

    /// The caller's upload; someone else's is 404 like a missing one.
    private func ownUpload(_ req: Request) async throws -> Upload {
        let user = try req.requireUser()
        let id = req.parameters.get("id") ?? ""
        guard let upload = try await req.uploads.upload(id: id, of: user) else {
            throw Abort(.notFound, reason: "No such upload (it may have expired after a day): start it again.")
        }
        return upload
    }
}
