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
}
