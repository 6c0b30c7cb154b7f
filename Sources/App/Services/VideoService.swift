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
        /// The new tags (replacing the old): a JSON array of strings, or one comma-separated string (a form's).
        public var tags: TagList?
        /// Who may comment: `on`, `hold` (each new comment waits for approval) or `off`.
        public var comments: String?
        public init(title: String? = nil, description: String? = nil, visibility: String? = nil, tags: [String]? = nil) {
            self.title = title
            self.description = description
            self.visibility = visibility
            self.tags = tags.map(TagList.init)
        }
    }

    /// Tags as a request gives them: `["a", "b"]` or `"a, b"`.
    public struct TagList: Sendable, Codable {
        public var values: [String]
        public init(_ values: [String]) { self.values = values }
        public init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let list = try? container.decode([String].self) {
                values = list
            } else {
                values = [try container.decode(String.self)]
            }
        }
        public func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            try container.encode(values)
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
        if let tags = changes.tags {
            do {
                video.tags = try VideoLimits.tags(tags.values)
            } catch let failure as ValidationFailure {
                problems += failure.problems
            }
        }
        var policy: CommentPolicy?
        if let raw = changes.comments {
            policy = CommentPolicy(rawValue: raw)
            if policy == nil { problems.append("Comments are on, hold or off; '\(raw.prefix(40))' is none of them.") }
        }
        if let visibility = changes.visibility.flatMap(Visibility.init(rawValue:)) {
            if visibility != video.visibility { video.revokeMediaURLs() }
            video.visibility = visibility
        }
        guard problems.isEmpty else { throw ValidationFailure(problems: problems) }
        try await video.save(on: db)
        if let policy { try await CommentService(db: db).setPolicy(videoID: try video.requireID(), policy) }
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
