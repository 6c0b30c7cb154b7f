import Fluent
import SQLKit
import Foundation
import Media
import Vapor

/// The rules every way of bringing a video in shares (tus, a single POST, a URL import): who may upload where,
/// how much, and what counts as a video. An accepted file becomes a `processing` video with a queued job.
public struct UploadService: Sendable {
    public let db: any Database
    public let storage: any MediaStorage
    public let maxUploadBytes: Int64
    public let userQuotaBytes: Int64

    public init(db: any Database, storage: any MediaStorage, maxUploadBytes: Int64, userQuotaBytes: Int64) {
        self.db = db
        self.storage = storage
        self.maxUploadBytes = maxUploadBytes
        self.userQuotaBytes = userQuotaBytes
    }

    /// The channel `handle` names, which `user` must own (404 unknown, 403 someone else's). Without a handle,
    /// the user's channel when they have exactly one.
    public func channel(for user: User, handle: String?) async throws -> Channel {
        let userID = try user.requireID()
        guard let handle = handle?.trimmingCharacters(in: .whitespaces), !handle.isEmpty else {
            let mine = try await CatalogService(db: db).channels(ownedBy: userID)
            guard mine.count == 1 else {
                throw Abort(
                    .unprocessableEntity,
                    reason: mine.isEmpty
                        ? "You have no channel yet: create one in the studio first."
                        : "Say which channel: you own \(mine.map { "@" + $0.handle }.joined(separator: ", ")).")
            }
            return mine[0]
        }
        let bare = handle.hasPrefix("@") ? String(handle.dropFirst()) : handle
        guard let channel = try await Channel.query(on: db).filter(\.$handle == bare.lowercased()).first() else {
            throw Abort(.notFound, reason: "There is no channel @\(bare.prefix(40)).")
        }
        guard Policy.canEdit(channel, by: user) else {
            throw Abort(.forbidden, reason: "Only the owner of @\(channel.handle) can upload to it.")
        }
        return channel
    }

    /// A tus upload of `user`'s that has not expired (a finished one stays, to name its video); nil for anyone
    /// else's, so theirs look missing.
    public func upload(id: String, of user: User) async throws -> Upload? {
        guard id.count <= 64, let upload = try await Upload.find(id, on: db), upload.$user.id == user.id,
            upload.expiresAt > Date() || upload.videoID != nil
        else { return nil }
        return upload
    }

    /// Refuses (413, before any byte is stored) a body over the size limit.
    public func checkSize(length: Int64?) throws {
        if let length, length > maxUploadBytes {
            throw Abort(
                .payloadTooLarge,
                reason: "This file is \(Formatting.bytes(length)); uploads can be at most \(Formatting.bytes(maxUploadBytes)) (VIDEOTUBE_MAX_UPLOAD_BYTES).")
        }
    }

    /// Holds quota for a body about to arrive: `length` bytes, or all that is left when the length is unknown.
    /// Returns the hold (nil when users have no quota) and the most bytes the body may have.
    public func reserve(user: User, length: Int64?) async throws -> (hold: QuotaReservation?, limit: Int64) {
        try checkSize(length: length)
        guard userQuotaBytes > 0 else { return (nil, maxUploadBytes) }
        var bytes = length ?? 0
        if length == nil { bytes = try await remainingBytes(user: user) }
        guard bytes > 0 else { throw overQuota(used: try await usedBytes(user: user)) }
        let hold = QuotaReservation(
            id: Secrets.token(prefix: "q_"), userID: try user.requireID(), bytes: bytes, expiresAt: Date().addingTimeInterval(24 * 3600))
        try await holdQuota(user: user, insert: { try await hold.create(on: db) }, undo: { try? await hold.delete(on: db) })
        return (hold, bytes)
    }

    /// Gives a hold back (the video now counts its bytes itself, or the upload failed).
    public func release(_ hold: QuotaReservation?) async {
        try? await hold?.delete(on: db)
    }

    /// Saves a new tus upload, whose announced length holds quota as long as it is unfinished.
    public func start(_ upload: Upload, user: User) async throws {
        try checkSize(length: upload.length)
        try await holdQuota(user: user, insert: { try await upload.create(on: db) }, undo: { try? await upload.delete(on: db) })
    }

    /// Writes the hold first, then counts the user's bytes with it: of racing uploads that together go past the
    /// quota, at least one sees the other's row and gives up. No lock is needed, on SQLite or PostgreSQL.
    private func holdQuota(user: User, insert: () async throws -> Void, undo: () async -> Void) async throws {
        try await insert()
        guard userQuotaBytes > 0 else { return }
        let used: Int64
        do {
            used = try await usedBytes(user: user)
        } catch {
            await undo()
            throw error
        }
        if used > userQuotaBytes {
            await undo()
            throw overQuota(used: used)
        }
    }

    private func overQuota(used: Int64) -> Abort {
        Abort(
            .payloadTooLarge,
            reason: "This would take you over your storage quota of \(Formatting.bytes(userQuotaBytes)): you use \(Formatting.bytes(used)) with the uploads under way. Delete some videos first.")
    }

    /// The most bytes a body of unknown length may have for this user.
    public func remainingBytes(user: User) async throws -> Int64 {
        guard userQuotaBytes > 0 else { return maxUploadBytes }
        return max(0, min(maxUploadBytes, userQuotaBytes - (try await usedBytes(user: user))))
    }

    /// Everything the user's videos store (files, renditions, pictures), plus uploads under way: unfinished tus
    /// uploads by their announced length and the holds of single uploads and imports.
    func usedBytes(user: User) async throws -> Int64 {
        let userID = try user.requireID()
        let channelIDs = try await Channel.query(on: db).filter(\.$owner.$id == userID).all(\.$id)
        // Summed here, not with SUM(): PostgreSQL answers SUM(bigint) as NUMERIC, SQLite as an integer.
        let videos = channelIDs.isEmpty
            ? 0
            : try await Video.query(on: db).filter(\.$channel.$id ~~ channelIDs).field(\.$size).field(\.$storedBytes).all()
                .reduce(Int64(0)) { $0 + max($1.size, $1.storedBytes ?? 0) }
        let pending = try await Upload.query(on: db).filter(\.$user.$id == userID).filter(\.$videoID == nil).all(\.$length).reduce(0, +)
        let held = try await QuotaReservation.query(on: db).filter(\.$user.$id == userID).filter(\.$expiresAt > Date()).all(\.$bytes)
            .reduce(0, +)
        return videos + pending + held
    }

    /// Makes a video of a fully received file at `fileKey`: ffprobe must find moving pictures with a duration,
    /// otherwise the file is deleted and the refusal (422) says why. The file moves under `videos/` and a
    /// processing job is queued. `visibility` is what the uploader chose (public by default).
    public func accept(
        fileKey: String, filename: String, channel: Channel, title: String?, description: String, visibility: Visibility = .public
    ) async throws -> Video {
        do {
            try VideoLimits.check(title: title, description: description)
        } catch {
            storage.delete(fileKey)
            throw error
        }
        let path = try storage.localPath(for: fileKey)
        let probe: ProbeResult
        do {
            probe = try await FFmpeg.probeVideo(path)
        } catch let error as ProbeError {
            storage.delete(fileKey)
            throw Abort(.unprocessableEntity, reason: "\(filename.isEmpty ? "The file" : "“\(filename.prefix(80))”") was refused: \(error.description).")
        } catch {
            storage.delete(fileKey)
            throw error
        }
        let target = try storage.reserve(prefix: "videos", fileExtension: probe.container.rawValue)
        do {
            try FileManager.default.moveItem(atPath: path, toPath: target.path)
        } catch {
            storage.delete(fileKey)
            throw StorageError.io("could not move the upload into place: \(error.localizedDescription)")
        }
        let size = storage.representation(of: target.key)?.size ?? probe.size
        do {
            try await storage.store(target.key)
        } catch {
            storage.delete(target.key)
            throw error
        }
        let chosen = title?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        let video = Video(
            channelID: try channel.requireID(), title: chosen.isEmpty ? VideoLimits.title(fromFilename: filename) : chosen,
            description: description, mediaKey: target.key, thumbnailKey: nil, duration: probe.duration,
            size: size, width: probe.width, height: probe.height,
            mimeType: probe.container.mimeType, videoCodec: probe.videoCodec, audioCodec: probe.audioCodec,
            visibility: visibility, status: .processing)
        do {
            try await db.transaction { db in
                try await video.save(on: db)
                try await JobQueue(db: db).enqueue(videoID: try video.requireID())
            }
        } catch {
            storage.delete(target.key)
            throw error
        }
        video.$channel.value = channel
        return video
    }

    /// Downloads `url` into storage and accepts it like an upload. Refusals (a private address, a 404, too big,
    /// not a video) are 422 with the reason, and leave nothing behind.
    public func importURL(
        _ url: String, user: User, channel handle: String?, title: String?, description: String, visibility: String? = nil,
        downloader: URLDownloader
    ) async throws -> Video {
        try VideoLimits.check(title: title, description: description, visibility: visibility)
        let channel = try await channel(for: user, handle: handle)
        let (hold, limit) = try await reserve(user: user, length: nil)
        do {
            let video = try await download(
                url, channel: channel, title: title, description: description, visibility: VideoLimits.visibility(visibility),
                downloader: downloader, limit: limit)
            await release(hold)
            return video
        } catch {
            await release(hold)
            throw error
        }
    }

    private func download(
        _ url: String, channel: Channel, title: String?, description: String, visibility: Visibility, downloader: URLDownloader,
        limit: Int64
    ) async throws -> Video {
        var downloader = downloader
        downloader.maxBytes = min(downloader.maxBytes, limit)
        let file = try storage.reserve(prefix: "uploads", fileExtension: "part")
        let filename: String
        do {
            filename = try await downloader.download(url, to: file.path)
        } catch let failure as ImportFailure {
            storage.delete(file.key)
            throw Abort(.unprocessableEntity, reason: "The import was refused: \(failure.description).")
        } catch {
            storage.delete(file.key)
            throw error
        }
        return try await accept(
            fileKey: file.key, filename: filename, channel: channel, title: title, description: description, visibility: visibility)
    }

    // MARK: uploads through several nodes (media in a bucket)
    //
    // A node's staging file holds only what reached that node, so each PATCH body is also stored as a piece,
    // `uploads/ab/<file>/<start>-<end>-<random>.chunk`, before the upload's offset moves (conditionally: of two
    // nodes writing the same offset, one wins and the other drops its piece). A node that dies mid-PATCH loses only
    // the unacknowledged bytes; the client asks with HEAD and resumes through any node. The node that receives the
    // last byte puts the pieces together (unless it already holds them all) and accepts the file as usual.

    /// The folder of an upload's pieces (its staging file's key without `.part`).
    public static func piecesFolder(fileKey: String) -> String {
        fileKey.hasSuffix(".part") ? String(fileKey.dropLast(5)) : fileKey + "-pieces"
    }

    static func pieceKey(fileKey: String, start: Int64, end: Int64) -> String {
        let token = Secrets.token(prefix: "").lowercased().filter { $0.isLetter || $0.isNumber }.prefix(8)
        return "\(piecesFolder(fileKey: fileKey))/\(String(format: "%016lld", start))-\(String(format: "%016lld", end))-\(token).chunk"
    }

    /// Stores bytes `start..<start+count` of the staging file as a piece, then moves the offset from `start` if no
    /// other request moved it first. False (and the piece removed) when one did.
    public func storePiece(of upload: Upload, from start: Int64, count: Int64) async throws -> Bool {
        let key = Self.pieceKey(fileKey: upload.fileKey, start: start, end: start + count)
        try await storage.storeRegion(of: upload.fileKey, offset: start, length: count, as: key)
        struct Row: Decodable { var id: String }
        let moved = try await db.sql().update(Upload.schema)
            .set("offset", to: SQLBind(start + count))
            .set("expires_at", to: SQLBind(Date().addingTimeInterval(24 * 3600)))
            .where("id", .equal, SQLBind(upload.id ?? "")).where("offset", .equal, SQLBind(start))
            .returning("id").all(decoding: Row.self)
        guard !moved.isEmpty else {
            storage.delete(key)
            return false
        }
        upload.offset = start + count
        return true
    }

    /// Makes the staging file whole from the stored pieces (in order from byte 0; where two pieces start at the
    /// same byte, the longer: they hold the same bytes of the same file).
    public func assemblePieces(of upload: Upload) async throws {
        let folder = Self.piecesFolder(fileKey: upload.fileKey)
        var pieces: [(start: Int64, end: Int64, key: String)] = []
        for key in try await storage.list(folder: folder) {
            let name = key.split(separator: "/").last.map(String.init) ?? ""
            let parts = name.split(separator: "-")
            guard parts.count == 3, let start = Int64(parts[0]), let end = Int64(parts[1]), end > start else { continue }
            pieces.append((start, end, key))
        }
        let path = try storage.localPath(for: upload.fileKey)
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        guard FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600]) else {
            throw StorageError.io("cannot create \(path)")
        }
        var position: Int64 = 0
        while position < upload.length {
            guard let next = pieces.filter({ $0.start == position }).max(by: { $0.end < $1.end }) else {
                throw StorageError.io("the piece of upload \(upload.id ?? "") from byte \(position) is missing from storage")
            }
            try await storage.append(next.key, into: path)
            position = next.end
        }
    }

    /// Deletes uploads nobody finished before they expired, with their bytes, and quota holds left behind.
    public static func sweepExpired(db: any Database, storage: any MediaStorage, now: Date = Date()) async throws {
        for upload in try await Upload.query(on: db).filter(\.$expiresAt < now).all() {
            storage.delete(upload.fileKey)
            if storage.isRemote { storage.deleteFolder(piecesFolder(fileKey: upload.fileKey)) }
            try await upload.delete(on: db)
        }
        try await QuotaReservation.query(on: db).filter(\.$expiresAt < now).delete()
    }
}
