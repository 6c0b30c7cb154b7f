import Fluent
import Media
import MultipartKit
import NIOCore
import NIOPosix
import Vapor

/// Uploads: resumable ones with the tus 1.0 protocol (core, creation and termination; https://tus.io/protocols/resumable-upload),
/// a single-request `POST /api/v1/videos` (raw body or multipart) for scripts, and the processing state.
/// Bodies go to disk chunk by chunk as they arrive, so memory stays flat whatever the size.
struct UploadController {
    static let tusVersion = "1.0.0"

    // MARK: tus

    /// OPTIONS /api/v1/uploads — what this server speaks.
    func tusOptions(req: Request) async throws -> Response {
        let response = Response(status: .noContent)
        response.headers.replaceOrAdd(name: "Tus-Version", value: Self.tusVersion)
        response.headers.replaceOrAdd(name: "Tus-Extension", value: "creation,termination,expiration")
        response.headers.replaceOrAdd(name: "Tus-Max-Size", value: "\(req.services.config.maxUploadBytes)")
        return tus(response)
    }

    /// POST /api/v1/uploads — `Upload-Length` and `Upload-Metadata` (`filename`, `channel`, `title`, `description`,
    /// base64 values). 201 with the upload's URL in `Location`.
    func tusCreate(req: Request) async throws -> Response {
        try checkTusVersion(req)
        let user = try req.requireUser()
        guard let raw = req.headers.first(name: "Upload-Length") else {
            throw Abort(.badRequest, reason: "Send Upload-Length with the file's size in bytes (deferred lengths are not supported).")
        }
        guard let length = Int64(raw), length > 0 else {
            throw Abort(.badRequest, reason: "Upload-Length must be a positive whole number of bytes, not '\(raw.prefix(30))'.")
        }
        let metadata = try Self.parseMetadata(req.headers.first(name: "Upload-Metadata") ?? "")
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
        upload.title = String((metadata["title"] ?? "").prefix(100))
        upload.description = String((metadata["description"] ?? "").prefix(5000))
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
        guard let claimed = req.headers.first(name: "Upload-Offset").flatMap(Int64.init), claimed == upload.offset else {
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
        guard await req.services.uploadLocks.lock(id) else {
            throw Abort(.conflict, reason: "Another request is writing this upload; wait for it to finish, then ask with HEAD.")
        }
        let path = try req.services.storage.localPath(for: upload.fileKey)
        let outcome = await BodyWriter.write(req.body, to: path, at: upload.offset, limit: remaining, pool: req.application.threadPool)
        upload.offset += outcome.written
        upload.expiresAt = Date().addingTimeInterval(Self.lifetime)
        do {
            try await upload.save(on: req.db)
        } catch {
            await req.services.uploadLocks.unlock(id)
            throw error
        }
        await req.services.uploadLocks.unlock(id)
        if let failure = outcome.failure {
            req.logger.info("upload \(id): stopped at \(upload.offset) of \(upload.length) bytes (\(failure))")
            if failure is any AbortError { throw failure }
            throw Abort(.badRequest, reason: "The body ended early; the server kept \(upload.offset) bytes. Ask with HEAD and resume from there.")
        }
        if upload.offset == upload.length {
            let channel = try await Channel.find(upload.$channel.id, on: req.db)
            guard let channel else { throw Abort(.notFound, reason: "The channel of this upload was deleted.") }
            do {
                let video = try await req.uploads.accept(
                    fileKey: upload.fileKey, filename: upload.filename, channel: channel,
                    title: upload.title, description: upload.description)
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
        guard await req.services.uploadLocks.lock(upload.id!) else {
            throw Abort(.conflict, reason: "A request is still writing this upload; try again in a moment.")
        }
        if upload.videoID == nil { req.services.storage.delete(upload.fileKey) }
        try await upload.delete(on: req.db)
        await req.services.uploadLocks.unlock(upload.id!)
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

    private func checkTusVersion(_ req: Request) throws {
        guard req.headers.first(name: "Tus-Resumable") == Self.tusVersion else {
            throw Abort(
                .preconditionFailed, headers: ["Tus-Version": Self.tusVersion, "Tus-Resumable": Self.tusVersion],
                reason: "Send Tus-Resumable: 1.0.0; this server speaks tus 1.0.0.")
        }
    }

    /// The caller's upload; someone else's is 404 like a missing one.
    private func ownUpload(_ req: Request) async throws -> Upload {
        let user = try req.requireUser()
        let id = req.parameters.get("id") ?? ""
        guard id.count <= 64, let upload = try await Upload.find(id, on: req.db), upload.$user.id == user.id,
            upload.expiresAt > Date() || upload.videoID != nil
        else {
            throw Abort(.notFound, reason: "No such upload (it may have expired after a day): start it again.")
        }
        return upload
    }

    /// `Upload-Metadata: key base64,key2 base64` (tus §creation). Keys are ASCII without spaces or commas.
    static func parseMetadata(_ header: String) throws -> [String: String] {
        var out: [String: String] = [:]
        for pair in header.split(separator: ",") {
            let parts = pair.trimmingCharacters(in: .whitespaces).split(separator: " ", maxSplits: 1)
            guard let key = parts.first, !key.isEmpty else { continue }
            var value = ""
            if parts.count == 2 {
                guard let data = Data(base64Encoded: String(parts[1])), let text = String(data: data, encoding: .utf8) else {
                    throw Abort(.badRequest, reason: "Upload-Metadata value of '\(key.prefix(30))' is not base64-encoded UTF-8.")
                }
                value = text
            }
            out[String(key)] = value
        }
        return out
    }

    // MARK: single request

    /// POST /api/v1/videos — the file as the raw body (`?channel=&title=&description=&filename=`) or as the
    /// `file` field of a multipart form (with `channel`, `title`, `description` fields). 201 with the video.
    func create(req: Request) async throws -> Response {
        let user = try req.requireUser()
        let uploads = req.uploads
        let declared = req.headers.first(name: .contentLength).flatMap(Int64.init)
        try uploads.checkSize(length: declared)
        var fields: [String: String] = [:]
        for name in ["channel", "title", "description", "filename"] {
            if let value = req.query[String.self, at: name] { fields[name] = value }
        }
        // Refuse someone else's channel before reading a byte, when the query names it.
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
        let response = try await video.toDTO(links: req.mediaLinks, site: req.siteBase, viewer: user).encodeResponse(for: req)
        response.status = .created
        response.headers.replaceOrAdd(name: .location, value: "/api/v1/videos/\(try video.requireID())")
        return response
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
            for (name, value) in parsed.fields where ["channel", "title", "description"].contains(name) { fields[name] = value }
            if let filename = parsed.filename { fields["filename"] = filename }
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
            throw Abort(.badRequest, reason: "The body is empty: send the video file as the body or as the `file` field.")
        }
        let channel: Channel
        do {
            channel = try await uploads.channel(for: user, handle: fields["channel"])
        } catch {
            req.services.storage.delete(file.key)
            throw error
        }
        return try await uploads.accept(
            fileKey: file.key, filename: fields["filename"] ?? "", channel: channel, title: fields["title"],
            description: fields["description"] ?? "")
    }

    /// POST /api/v1/videos/import — `{"url", "channel", "title", "description"}`: the server downloads the file
    /// (public addresses only, unless allowed) and it becomes a video like an upload. 201 with the video.
    func importURL(req: Request) async throws -> Response {
        let user = try req.requireUser()
        struct Body: Content {
            var url: String
            var channel: String?
            var title: String?
            var description: String?
        }
        let body = try req.content.decode(Body.self)
        let video = try await req.uploads.importURL(
            body.url, user: user, channel: body.channel, title: body.title, description: body.description ?? "",
            downloader: req.downloader)
        req.services.jobs.wake()
        let response = try await video.toDTO(links: req.mediaLinks, site: req.siteBase, viewer: user).encodeResponse(for: req)
        response.status = .created
        response.headers.replaceOrAdd(name: .location, value: "/api/v1/videos/\(try video.requireID())")
        return response
    }

    // MARK: processing

    /// GET /api/v1/videos/:id/processing — stage, percentage and outcome (the owner's and admins' view).
    func processing(req: Request) async throws -> ProcessingDTO {
        let video = try await req.editableVideo(idStatus: .badRequest)
        let job = try await JobQueue(db: req.db).job(videoID: try video.requireID())
        return ProcessingDTO(video: video, job: job, site: req.siteBase)
    }
}

extension Request {
    var uploads: UploadService {
        let config = services.config
        return UploadService(
            db: db, storage: services.storage, maxUploadBytes: config.maxUploadBytes, userQuotaBytes: config.userQuotaBytes)
    }
}

extension Request {
    var downloader: URLDownloader {
        let config = services.config
        return URLDownloader(
            allowPrivate: config.importAllowPrivate, maxBytes: config.maxUploadBytes, timeout: TimeInterval(config.importTimeout),
            eventLoopGroup: application.eventLoopGroup, logger: logger)
    }
}

/// Which uploads a request in this process is writing; a second writer of the same upload gets 409.
actor UploadLocks {
    private var busy: Set<String> = []
    func lock(_ id: String) -> Bool { busy.insert(id).inserted }
    func unlock(_ id: String) { busy.remove(id) }
}

/// Streams a request body into a file, chunk by chunk, never holding more than a chunk in memory.
enum BodyWriter {
    struct Outcome {
        /// Bytes stored, including those before a failure.
        var written: Int64
        /// Why it stopped early: the client went away, or the body went past the limit (413).
        var failure: (any Error)?
    }

    static func tooLarge(_ limit: Int64) -> Abort {
        Abort(.payloadTooLarge, reason: "The body went past \(Formatting.bytes(limit)), the most this upload may have (VIDEOTUBE_MAX_UPLOAD_BYTES or your quota).")
    }

    /// Writes `body` to `path` from byte `offset`; stops with 413 past `limit` bytes.
    static func write(_ body: Request.Body, to path: String, at offset: Int64, limit: Int64, pool: NIOThreadPool) async -> Outcome {
        let sink: FileSink
        do {
            sink = try FileSink(path: path, offset: offset, limit: limit, pool: pool)
        } catch {
            return Outcome(written: 0, failure: error)
        }
        defer { sink.close() }
        do {
            for try await chunk in body { try await sink.write(chunk) }
            return Outcome(written: sink.written, failure: nil)
        } catch {
            return Outcome(written: sink.written, failure: error)
        }
    }

    struct Multipart {
        var outcome: Outcome
        var fields: [String: String]
        var filename: String?
        var sawFile: Bool
    }

    /// Parses a multipart body as it streams: the `fileField` part's bytes go to `path`, small text fields
    /// (64 KiB in all) are collected.
    static func writeMultipart(
        _ body: Request.Body, boundary: String, fileField: String, to path: String, limit: Int64, pool: NIOThreadPool
    ) async -> Multipart {
        final class State {
            var headers: [String: String] = [:]
            var fieldBytes: [UInt8] = []
            var fields: [String: String] = [:]
            var pending: [ByteBuffer] = []
            var inFile = false
            var decided = false
            var sawFile = false
            var filename: String?
            var textTotal = 0
            var tooMuchText = false
        }
        let state = State()
        let parser = MultipartParser(boundary: boundary)
        parser.onHeader = { name, value in state.headers[name.lowercased()] = value }
        parser.onBody = { buffer in
            if !state.decided {
                state.decided = true
                let disposition = state.headers["content-disposition"] ?? ""
                if Self.parameter("name", in: disposition) == fileField, Self.parameter("filename", in: disposition) != nil {
                    state.inFile = true
                    state.sawFile = true
                    state.filename = Self.parameter("filename", in: disposition)
                }
            }
            if state.inFile {
                state.pending.append(buffer)
            } else {
                state.textTotal += buffer.readableBytes
                if state.textTotal > 64 << 10 { state.tooMuchText = true } else { state.fieldBytes += buffer.readableBytesView }
            }
        }
        parser.onPartComplete = {
            if !state.inFile, let name = Self.parameter("name", in: state.headers["content-disposition"] ?? "") {
                state.fields[name] = String(decoding: state.fieldBytes, as: UTF8.self)
            }
            state.headers = [:]
            state.fieldBytes = []
            state.inFile = false
            state.decided = false
        }
        let sink: FileSink
        do {
            sink = try FileSink(path: path, offset: 0, limit: limit, pool: pool)
        } catch {
            return Multipart(outcome: Outcome(written: 0, failure: error), fields: [:], filename: nil, sawFile: false)
        }
        defer { sink.close() }
        do {
            for try await chunk in body {
                do {
                    try parser.execute(chunk)
                } catch {
                    throw Abort(.badRequest, reason: "The multipart body is malformed (\(error)).")
                }
                if state.tooMuchText { throw Abort(.payloadTooLarge, reason: "The form's text fields are over 64 KiB.") }
                for buffer in state.pending { try await sink.write(buffer) }
                state.pending = []
            }
        } catch {
            return Multipart(outcome: Outcome(written: sink.written, failure: error), fields: state.fields, filename: state.filename, sawFile: state.sawFile)
        }
        return Multipart(outcome: Outcome(written: sink.written, failure: nil), fields: state.fields, filename: state.filename, sawFile: state.sawFile)
    }

    /// A file written from a position on, each write on the thread pool (disk writes never block an event loop),
    /// refusing (413) a write that would take it past `limit` bytes.
    final class FileSink: @unchecked Sendable {
        let handle: FileHandle
        let pool: NIOThreadPool
        let limit: Int64
        /// Bytes written so far.
        private(set) var written: Int64 = 0

        init(path: String, offset: Int64, limit: Int64, pool: NIOThreadPool) throws {
            self.limit = limit
            if !FileManager.default.fileExists(atPath: path) {
                _ = FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600])
            }
            guard let handle = FileHandle(forWritingAtPath: path) else { throw StorageError.io("cannot open \(path) for writing") }
            try handle.seek(toOffset: UInt64(offset))
            self.handle = handle
            self.pool = pool
        }

        func write(_ buffer: ByteBuffer) async throws {
            guard written + Int64(buffer.readableBytes) <= limit else { throw BodyWriter.tooLarge(limit) }
            try await pool.runIfActive { [handle] in try handle.write(contentsOf: buffer.readableBytesView) }
            written += Int64(buffer.readableBytes)
        }

        func close() { try? handle.close() }
    }

    /// `name="file"` or `filename="a b.mp4"` from a Content-Disposition value.
    static func parameter(_ key: String, in header: String) -> String? {
        for piece in header.split(separator: ";") {
            let trimmed = piece.trimmingCharacters(in: .whitespaces)
            guard trimmed.lowercased().hasPrefix(key + "=") else { continue }
            var value = String(trimmed.dropFirst(key.count + 1))
            if value.hasPrefix("\""), value.hasSuffix("\""), value.count >= 2 { value = String(value.dropFirst().dropLast()) }
            return value
        }
        return nil
    }
}
