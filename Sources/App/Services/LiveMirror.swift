import Foundation
import Logging
import Media
import NIOConcurrencyHelpers

/// With media in a bucket, a live stream's HLS folder is copied into it as ffmpeg writes it, so viewers on any app
/// node can watch (the publisher's node serves from its own disk; others read the playlist from the bucket and
/// redirect segment requests to it). Four times a second: new segments and init files go up first, then the
/// playlists and preview that changed, so a playlist in the bucket never names a segment that is not there yet;
/// segments ffmpeg deleted from its window are deleted from the bucket. When the stream ends, the folder goes.
final class LiveMirror: Sendable {
    let storage: any MediaStorage
    let channelID: Int
    let folder: String
    let logger: Logger
    private let task = NIOLockedValueBox<Task<Void, Never>?>(nil)
    /// What is in the bucket now (name → size and modification time).
    private let sent = NIOLockedValueBox<[String: (Int64, Int64)]>([:])

    static let interval: UInt64 = 250_000_000

    init(storage: any MediaStorage, channelID: Int, folder: String, logger: Logger) {
        self.storage = storage
        self.channelID = channelID
        self.folder = folder
        self.logger = logger
    }

    func start() {
        let loop = Task { [self] in
            while !Task.isCancelled {
                do {
                    let now = try await mirrorOnce(sent: sent.withLockedValue { $0 })
                    sent.withLockedValue { $0 = now }
                } catch {
                    logger.warning("Live: channel \(channelID): copying to object storage failed (\(error)); retrying")
                }
                try? await Task.sleep(nanoseconds: Self.interval)
            }
        }
        task.withLockedValue { $0 = loop }
    }

    /// Stops copying and removes the stream's objects (the replay, if any, is saved as a video of its own).
    func stop() {
        let running = task.withLockedValue { t -> Task<Void, Never>? in defer { t = nil }; return t }
        running?.cancel()
        Task { [self] in
            await running?.value
            // Object by object: the local folder still holds the replay ffmpeg is finishing.
            for name in sent.withLockedValue({ $0.keys }) { storage.delete(LiveService.storageKey(channelID: channelID, file: name)) }
        }
    }

    /// One pass; returns what is in the bucket now (name → size and modification time).
    func mirrorOnce(sent: [String: (Int64, Int64)]) async throws -> [String: (Int64, Int64)] {
        var sent = sent
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        var present: [String: (Int64, Int64)] = [:]
        for name in names where Self.isMirrored(name) {
            var st = stat()
            guard stat("\(folder)/\(name)", &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { continue }
            present[name] = (Int64(st.st_size), Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec))
        }
        let media = present.keys.filter { !$0.hasSuffix(".m3u8") && $0 != "preview.jpg" }.sorted()
        let described = present.keys.filter { $0.hasSuffix(".m3u8") || $0 == "preview.jpg" }.sorted()
        for name in media + described {
            guard let stamp = present[name], sent[name].map({ $0 != stamp }) ?? true else { continue }
            let key = LiveService.storageKey(channelID: channelID, file: name)
            try await storage.storeRegion(of: key, offset: 0, length: stamp.0, as: key)
            sent[name] = stamp
        }
        for name in sent.keys where present[name] == nil {
            storage.delete(LiveService.storageKey(channelID: channelID, file: name))
            sent[name] = nil
        }
        return sent
    }

    /// Playlists, init files, segments and the preview (not ffmpeg's temporary files or the replay being recorded).
    static func isMirrored(_ name: String) -> Bool {
        StorageKey.isPlainFileName(name, extensions: ["m3u8", "m4s", "mp4", "jpg"], maxStem: 30) && name != "replay.mp4"
            && !name.contains(".tmp")
    }
}
