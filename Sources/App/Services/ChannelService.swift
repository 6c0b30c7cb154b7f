import Fluent
import Foundation
import Media
import SQLKit
import Vapor

/// Fixed choices for channel settings, as the reference's language and category fields had.
public enum ChannelOptions {
    public static let languages = [
        "English", "Spanish", "Portuguese", "French", "German", "Italian", "Dutch", "Polish", "Ukrainian", "Russian",
        "Turkish", "Arabic", "Hindi", "Chinese", "Japanese", "Korean", "Other",
    ]
    public static let categories = [
        "Gaming", "Just Chatting", "Music", "Art", "Education", "Science & Technology", "Sports", "Entertainment",
        "Film & Animation", "News & Politics", "Travel & Events", "Food & Drink", "Other",
    ]

    /// A category's address: lowercase words joined by hyphens ("Science & Technology" → `science-technology`).
    public static func slug(of category: String) -> String {
        category.lowercased().split { !($0.isLetter || $0.isNumber) }.joined(separator: "-")
    }

    /// The category whose slug this is; nil for anything else.
    public static func category(slug: String) -> String? {
        categories.first { Self.slug(of: $0) == slug.lowercased() }
    }
}

/// Creating and changing channels, their pictures, and deleting them with their files.
public struct ChannelService: Sendable {
    public let db: any Database
    public let storage: any MediaStorage

    public init(db: any Database, storage: any MediaStorage) {
        self.db = db
        self.storage = storage
    }

    /// The editable fields; `nil` leaves a field unchanged.
    public struct Settings: Sendable, Content {
        public var handle: String?
        public var name: String?
        public var description: String?
        public var language: String?
        public var category: String?
        public var links: [String]?
        public init(handle: String? = nil, name: String? = nil, description: String? = nil, language: String? = nil, category: String? = nil, links: [String]? = nil) {
            self.handle = handle
            self.name = name
            self.description = description
            self.language = language
            self.category = category
            self.links = links
        }
    }

    public func create(owner: User, _ settings: Settings) async throws -> Channel {
        guard let rawHandle = settings.handle, !rawHandle.isEmpty else {
            throw ValidationFailure("Choose a handle: 3 to 25 letters, digits, '_', '.' or '-'.")
        }
        let channel = Channel(handle: "", name: "")
        channel.$owner.id = try owner.requireID()
        try await apply(Settings(handle: rawHandle, name: settings.name ?? rawHandle, description: settings.description,
                                 language: settings.language, category: settings.category, links: settings.links), to: channel)
        return channel
    }

    /// Checks every field, then saves; a taken handle is a clear 409-style message, not a database error.
    public func apply(_ settings: Settings, to channel: Channel) async throws {
        var problems: [String] = []
        var fields: [String] = []
        if let raw = settings.handle {
            let normalized: String?
            do { normalized = try Channel.normalizedHandle(raw) } catch {
                normalized = nil
                problems.append(error.description.capitalizedFirst + ".")
                fields.append("handle")
            }
            if let handle = normalized {
                if handle != channel.handle {
                    if Self.reservedHandles.contains(handle) {
                        problems.append("The handle @\(handle) is reserved; choose another.")
                        fields.append("handle")
                    } else if try await Channel.query(on: db).filter(\.$handle == handle).first() != nil {
                        problems.append("The handle @\(handle) is taken; choose another.")
                        fields.append("handle")
                    }
                    channel.handle = handle
                }
            }
        }
        if let name = settings.name?.trimmingCharacters(in: .whitespacesAndNewlines) {
            if name.isEmpty || name.count > 100 {
                problems.append("A channel name has 1 to 100 characters.")
                fields.append("name")
            }
            channel.name = name
        }
        if let bio = settings.description {
            if bio.count > 5000 {
                problems.append("The description can have at most 5000 characters; it has \(bio.count).")
                fields.append("description")
            }
            channel.description = bio.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        if let language = settings.language {
            if !language.isEmpty && !ChannelOptions.languages.contains(language) {
                problems.append("Choose a language from the list.")
                fields.append("language")
            }
            channel.language = language
        }
        if let category = settings.category {
            if !category.isEmpty && !ChannelOptions.categories.contains(category) {
                problems.append("Choose a category from the list.")
                fields.append("category")
            }
            channel.category = category
        }
        if let links = settings.links {
            let cleaned = links.map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            if cleaned.count > 10 {
                problems.append("A channel can list at most 10 links.")
                fields.append("links")
            }
            for link in cleaned where !Self.isWebLink(link) {
                problems.append("'\(link.prefix(80))' is not a web link; links start with https:// or http://.")
                fields.append("links")
            }
            channel.linksText = cleaned.joined(separator: "\n")
        }
        guard problems.isEmpty else { throw ValidationFailure(problems: problems, fields: fields) }
        do {
            try await channel.save(on: db)
        } catch let error as any DatabaseError where error.isConstraintFailure {
            throw ValidationFailure("The handle @\(channel.handle) was taken a moment ago; choose another.")
        }
    }

    /// Paths of the site itself, which a handle may not shadow.
    static let reservedHandles: Set<String> = ["admin", "api", "studio", "login", "logout", "signup", "feed", "watch", "videos", "channels", "live"]

    static func isWebLink(_ text: String) -> Bool {
        guard text.count <= 500, let url = URL(string: text), let scheme = url.scheme?.lowercased(),
            scheme == "https" || scheme == "http", let host = url.host, !host.isEmpty
        else { return false }
        return true
    }

    /// Validates and re-encodes a picture from a temporary file, stores it, and drops the one it replaces.
    public func setImage(_ kind: ImageKind, from upload: String, on channel: Channel) async throws {
        let key = try await PictureStore.store(kind, from: upload, storage: storage, prefix: "img")
        let old = channel.imageKey(kind)
        channel.setImageKey(kind, key)
        try await channel.save(on: db)
        if let old { storage.delete(old) }
    }

    /// Deletes a channel, its videos and every stored file of both.
    public func delete(_ channel: Channel) async throws {
        let videos = try await Video.query(on: db).filter(\.$channel.$id == channel.requireID()).all()
        let keys = [channel.logoKey, channel.bannerKey, channel.thumbnailKey].compactMap { $0 }
        try await db.transaction { db in
            for video in videos { try await video.delete(on: db) }
            try await channel.delete(on: db)
        }
        for video in videos { video.removeFiles(from: storage) }
        for key in keys { storage.delete(key) }
    }
}

