import Fluent
import Foundation
import Media
import SQLKit
import Vapor

/// Changing and deleting videos.
public struct VideoService: Sendable {
    public let db: any Database
    public let storage: any MediaStorage
    /// Told when a change revokes a video's signed URLs, so this node's media listener refuses them at once.
    public let revisions: MediaRevisions?

    public init(db: any Database, storage: any MediaStorage, revisions: MediaRevisions? = nil) {
        self.db = db
        self.storage = storage
        self.revisions = revisions
    }

    public struct Changes: Sendable, Content {
        public var title: String?
        public var description: String?
        public var visibility: String?
        public init(title: String? = nil, description: String? = nil, visibility: String? = nil) {
            self.title = title
            self.description = description
            self.visibility = visibility
        }
    }

    public func update(_ video: Video, _ changes: Changes) async throws {
        var problems = VideoLimits.problems(
            title: changes.title?.trimmingCharacters(in: .whitespacesAndNewlines), description: changes.description,
            visibility: changes.visibility)
        if let title = changes.title?.trimmingCharacters(in: .whitespacesAndNewlines) {
            if title.isEmpty { problems.append("A title cannot be empty.") }
            video.title = title
        }
        if let description = changes.description {
            video.description = description.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        if let visibility = changes.visibility.flatMap(Visibility.init(rawValue:)) {
            if visibility != video.visibility { video.revokeMediaURLs() }
            video.visibility = visibility
        }
        guard problems.isEmpty else { throw ValidationFailure(problems: problems) }
        try await video.save(on: db)
        revisions?.note(video)
    }

    /// Replaces the video's thumbnail (a generated frame or an earlier choice) with a picture its owner uploaded.
    /// Processing keeps it: its thumbnail step only fills an empty one.
    public func setThumbnail(from upload: String, on video: Video) async throws {
        let key = try await PictureStore.store(.videoThumbnail, from: upload, storage: storage, prefix: "thumbnails")
        let old = try await Video.find(video.requireID(), on: db)?.thumbnailKey ?? video.thumbnailKey
        video.thumbnailKey = key
        do {
            try await video.save(on: db)
        } catch {
            storage.delete(key)
            throw error
        }
        if let old, old != key { storage.delete(old) }
    }

    /// Deletes the row, then its files.
    public func delete(_ video: Video) async throws {
        try await video.delete(on: db)
        video.removeFiles(from: storage)
    }
}
