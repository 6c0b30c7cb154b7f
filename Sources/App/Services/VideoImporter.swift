import Fluent
import Foundation
import Media

/// Brings a video file into the catalog: probe, copy into storage, poster thumbnail, database rows.
/// A file that is not a video is refused before anything is written; a failure later removes what was made.
public struct VideoImporter: Sendable {
    public let db: any Database
    public let storage: any MediaStorage

    public init(db: any Database, storage: any MediaStorage) {
        self.db = db
        self.storage = storage
    }

    public struct Options: Sendable {
        public var channelHandle: String
        public var title: String?
        public var description: String = ""
        public var createdAt: Date = Date()
        public var views: Int = 0
        public var visibility: Visibility = .public
        /// Used when the channel does not exist yet.
        public var channelName: String?
        public var channelDescription: String = ""
        public var channelLogoKey: String?
        /// Owner of the channel when this import creates it; an existing channel must already be theirs.
        public var ownerID: Int?

        public init(channelHandle: String, title: String? = nil, description: String = "") {
            self.channelHandle = channelHandle
            self.title = title
            self.description = description
        }
    }

    public func importFile(at path: String, _ options: Options) async throws -> Video {
        let handle = try Channel.normalizedHandle(options.channelHandle)
        try VideoLimits.check(title: options.title, description: options.description)
        guard FileManager.default.isReadableFile(atPath: path) else {
            throw ValidationFailure("cannot read '\(path)': check the path and its permissions")
        }
        if let ownerID = options.ownerID, let existing = try await Channel.query(on: db).filter(\.$handle == handle).first(),
            existing.$owner.id != ownerID
        {
            throw ValidationFailure("the channel @\(handle) exists and belongs to someone else; choose another --channel")
        }
        let probe = try await FFmpeg.probeVideo(path)
        let mediaKey = try storage.importFile(at: path, prefix: "videos", fileExtension: probe.container.rawValue)
        var thumbnailKey: String?
        do {
            let thumb = try storage.reserve(prefix: "thumbnails", fileExtension: "jpg")
            thumbnailKey = thumb.key
            try await FFmpeg.thumbnail(
                of: MediaInput(path: try storage.localPath(for: mediaKey), container: probe.container), duration: probe.duration,
                to: thumb.path)

            let size = storage.representation(of: mediaKey)?.size ?? probe.size
            try await storage.store(thumb.key)
            try await storage.store(mediaKey)
            let channel = try await channelFor(handle: handle, options)
            let title = options.title.flatMap { $0.isEmpty ? nil : $0 } ?? VideoLimits.title(fromFilename: path)
            let video = Video(
                channelID: try channel.requireID(), title: title, description: options.description,
                mediaKey: mediaKey, thumbnailKey: thumbnailKey, duration: probe.duration, size: size, width: probe.width,
                height: probe.height, mimeType: probe.container.mimeType, videoCodec: probe.videoCodec,
                audioCodec: probe.audioCodec, views: options.views, visibility: options.visibility, status: .ready,
                createdAt: options.createdAt)
            try await db.transaction { db in
                try await video.save(on: db)
                // Playable at once as a file; HLS renditions and the storyboard follow in the background.
                try await JobQueue(db: db).enqueue(videoID: try video.requireID())
            }
            video.$channel.value = channel
            return video
        } catch {
            storage.delete(mediaKey)
            if let thumbnailKey { storage.delete(thumbnailKey) }
            throw error
        }
    }

    private func channelFor(handle: String, _ options: Options) async throws -> Channel {
        if let existing = try await Channel.query(on: db).filter(\.$handle == handle).first() { return existing }
        let channel = Channel(
            handle: handle, name: options.channelName ?? handle, description: options.channelDescription,
            logoKey: options.channelLogoKey, createdAt: options.createdAt)
        channel.$owner.id = options.ownerID
        do {
            try await channel.save(on: db)
            return channel
        } catch {
            // Another import created it meanwhile: the unique handle wins, use that one.
            if let existing = try await Channel.query(on: db).filter(\.$handle == handle).first() { return existing }
            throw error
        }
    }
}
