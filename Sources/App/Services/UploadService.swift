import Fluent
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
            let mine = try await Channel.query(on: db).filter(\.$owner.$id == userID).sort(\.$id).all()
            guard mine.count == 1 else {
                throw Abort(
                    .badRequest,
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

    /// Refuses (413, before any byte is stored) a body over the size limit or the user's remaining quota.
    /// `length` nil (a chunked body) checks only what is left of the quota; the writer stops at the limit.
    public func checkLimits(user: User, length: Int64?) async throws {
        if let length, length > maxUploadBytes {
            throw Abort(
                .payloadTooLarge,
                reason: "This file is \(Formatting.bytes(length)); uploads can be at most \(Formatting.bytes(maxUploadBytes)) (VIDEOTUBE_MAX_UPLOAD_BYTES).")
        }
        guard userQuotaBytes > 0 else { return }
        let used = try await usedBytes(user: user)
        if used + (length ?? 0) > userQuotaBytes {
            throw Abort(
                .payloadTooLarge,
                reason: "This would take you over your storage quota of \(Formatting.bytes(userQuotaBytes)): you use \(Formatting.bytes(used)). Delete some videos first.")
        }
    }

    /// The most bytes a body of unknown length may have for this user.
    public func remainingBytes(user: User) async throws -> Int64 {
        guard userQuotaBytes > 0 else { return maxUploadBytes }
        return max(0, min(maxUploadBytes, userQuotaBytes - (try await usedBytes(user: user))))
    }

    /// Stored video bytes in the user's channels plus uploads still arriving (their announced length).
    func usedBytes(user: User) async throws -> Int64 {
        let userID = try user.requireID()
        let channelIDs = try await Channel.query(on: db).filter(\.$owner.$id == userID).all(\.$id)
        // Summed here, not with SUM(): PostgreSQL answers SUM(bigint) as NUMERIC, SQLite as an integer.
        let videos = channelIDs.isEmpty ? 0 : try await Video.query(on: db).filter(\.$channel.$id ~~ channelIDs).all(\.$size).reduce(0, +)
        let pending = try await Upload.query(on: db).filter(\.$user.$id == userID).filter(\.$videoID == nil).all(\.$length).reduce(0, +)
        return videos + pending
    }

    /// Makes a video of a fully received file at `fileKey`: ffprobe must find moving pictures with a duration,
    /// otherwise the file is deleted and the refusal (422) says why. The file moves under `videos/` and a
    /// processing job is queued.
    public func accept(
        fileKey: String, filename: String, channel: Channel, title: String?, description: String
    ) async throws -> Video {
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
        let ext = MIMEType.storageExtension(formatName: probe.formatName, originalExtension: (filename as NSString).pathExtension)
        let target = try storage.reserve(prefix: "videos", fileExtension: ext)
        do {
            try FileManager.default.moveItem(atPath: path, toPath: target.path)
        } catch {
            storage.delete(fileKey)
            throw StorageError.io("could not move the upload into place: \(error.localizedDescription)")
        }
        let name = ((filename as NSString).lastPathComponent as NSString).deletingPathExtension
        let chosen = title?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        let video = Video(
            channelID: try channel.requireID(), title: String((chosen.isEmpty ? (name.isEmpty ? "Untitled video" : name) : chosen).prefix(100)),
            description: String(description.prefix(5000)), mediaKey: target.key, thumbnailKey: nil, duration: probe.duration,
            size: storage.representation(of: target.key)?.size ?? probe.size, width: probe.width, height: probe.height,
            mimeType: MIMEType.forExtension(ext), videoCodec: probe.videoCodec, audioCodec: probe.audioCodec,
            status: .processing)
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
        _ url: String, user: User, channel handle: String?, title: String?, description: String, downloader: URLDownloader
    ) async throws -> Video {
        try await checkLimits(user: user, length: nil)
        let channel = try await channel(for: user, handle: handle)
        var downloader = downloader
        downloader.maxBytes = try await remainingBytes(user: user)
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
        return try await accept(fileKey: file.key, filename: filename, channel: channel, title: title, description: description)
    }

    /// Deletes uploads nobody finished before they expired, with their bytes.
    public static func sweepExpired(db: any Database, storage: any MediaStorage, now: Date = Date()) async throws {
        for upload in try await Upload.query(on: db).filter(\.$expiresAt < now).all() {
            storage.delete(upload.fileKey)
            try await upload.delete(on: db)
        }
    }
}
