import Fluent
import Foundation
import Logging
import Media
import NIOConcurrencyHelpers
import RTMP

/// Saves a finished broadcast as a video of its channel: it goes through the same acceptance and processing as
/// an upload (probe, poster, HLS ladder, storyboard), titled after the stream and its date.
enum LiveReplay {
    static func save(_ path: String, channelID: Int, startedAt: Date, db: any Database, storage: any MediaStorage) async throws {
        guard let channel = try await Channel.find(channelID, on: db) else { return }
        let target = try storage.reserve(prefix: "uploads", fileExtension: "mp4")
        try FileManager.default.moveItem(atPath: path, toPath: target.path)
        let title = channel.streamTitle ?? "\(channel.name) live"
        let uploads = UploadService(db: db, storage: storage, maxUploadBytes: .max, userQuotaBytes: 0)
        let video = try await uploads.accept(
            fileKey: target.key, filename: "replay.mp4", channel: channel, title: "\(title) (\(Formatting.day(startedAt)))",
            description: "Recorded live on \(Formatting.day(startedAt)).")
        // The broadcast's chat stays with its replay, and plays in step on the replay's watch page.
        try await ChatService(db: db).recordReplay(videoID: try video.requireID(), channelID: channelID, startedAt: startedAt)
    }

    /// Broadcasts a crash of this node cut short. ffmpeg finishes its recording when the pipe from the dead server
    /// closes, but nobody saved it; at start, before ingest opens, each recording left in a channel's live folder
    /// becomes that channel's replay (once: the file moves into storage). Returns how many were saved.
    static func recoverInterrupted(liveRoot: String, db: any Database, storage: any MediaStorage, logger: Logger) async -> Int {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: liveRoot)) ?? []
        var saved = 0
        for entry in entries {
            guard let channelID = Int(entry), channelID > 0 else { continue }
            let path = "\(liveRoot)/\(entry)/replay.mp4"
            guard FileManager.default.fileExists(atPath: path) else { continue }
            // The orphaned ffmpeg may still be writing the end of the file: wait for it to settle (at most 10 s).
            for _ in 0..<20 {
                let modified = (try? FileManager.default.attributesOfItem(atPath: path)[.modificationDate] as? Date) ?? .distantPast
                if Date().timeIntervalSince(modified) > 2 { break }
                try? await Task.sleep(nanoseconds: 500_000_000)
            }
            do {
                guard let channel = try await Channel.find(channelID, on: db), channel.saveReplays != false else {
                    try? FileManager.default.removeItem(atPath: path)
                    continue
                }
                let created = (try? FileManager.default.attributesOfItem(atPath: path)[.creationDate] as? Date) ?? nil
                let startedAt = channel.liveStartedAt ?? created ?? Date()
                try await save(path, channelID: channelID, startedAt: startedAt, db: db, storage: storage)
                saved += 1
                logger.notice("Live: saved the replay of @\(channel.handle)'s broadcast that a crash interrupted")
            } catch {
                logger.warning("Live: the recording a crash interrupted in \(entry) is not a video (\(error)); removed")
                try? FileManager.default.removeItem(atPath: path)
            }
        }
        return saved
    }
}
