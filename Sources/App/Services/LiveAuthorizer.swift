import Fluent
import Foundation
import Logging
import Media
import NIOConcurrencyHelpers
import RTMP

/// Decides who may publish: the key must be a channel's current key, its owner not disabled, and the channel
/// not live already. An accepted publisher gets a `LivePackager`.
struct LiveAuthorizer: PublishAuthorizer {
    let database: @Sendable () -> any Database
    let registry: LiveRegistry
    let liveRoot: String
    let segmentSeconds: Int
    let storage: any MediaStorage
    let jobs: JobRunner
    /// Heights to transcode to beside the passed-through source (`VIDEOTUBE_LIVE_LADDER`); empty: passthrough.
    let ladder: [Int]
    let logger: Logger

    func authorize(_ request: PublishRequest) async -> PublishDecision {
        guard request.app == "live" else {
            return .reject(code: "NetStream.Publish.BadName", description: "Use the server rtmp://HOST/live, not /\(request.app).")
        }
        let service = LiveService(db: database(), registry: registry)
        guard let channel = try? await service.channel(forKey: request.key), let channelID = channel.id else {
            return .reject(
                code: "NetStream.Publish.BadName",
                description: "Unknown stream key: copy the current key from the studio (it changes when regenerated).")
        }
        guard registry.claim(channelID: channelID, disconnect: request.disconnect) else {
            return .reject(code: "NetStream.Publish.BadName", description: "@\(channel.handle) is already live from another encoder.")
        }
        let heartbeat = NIOLockedValueBox<Task<Void, Never>?>(nil)
        // With media in a bucket, the HLS folder is copied there as it is written, for viewers on other nodes.
        let mirror = storage.isRemote ? LiveMirror(storage: storage, channelID: channelID, folder: "\(liveRoot)/\(channelID)", logger: logger) : nil
        do {
            let startedAt = Date()
            let record = channel.saveReplays != false
            let packager = try LivePackager(
                channelID: channelID, handle: channel.handle, folder: "\(liveRoot)/\(channelID)", segmentSeconds: segmentSeconds,
                record: record, ladder: ladder, logger: logger, fragments: registry.openStream(channelID: channelID),
                onOffline: { [database, registry] in
                    // Offline at once; the replay (ffmpeg finishing its MP4) follows.
                    heartbeat.withLockedValue { $0?.cancel() }
                    mirror?.stop()
                    registry.release(channelID: channelID)
                    Task {
                        try? await Channel.query(on: database()).set(\.$liveStartedAt, to: nil).set(\.$liveSeenAt, to: nil)
                            .filter(\.$id == channelID).update()
                    }
                }
            ) { [database, storage, jobs, logger] replay in
                Task {
                    let db = database()
                    guard let replay else { return }
                    do {
                        try await LiveReplay.save(replay, channelID: channelID, startedAt: startedAt, db: db, storage: storage)
                        jobs.wake()
                    } catch {
                        logger.notice("Live: no replay for channel \(channelID): \(error)")
                    }
                }
            }
            try await Channel.query(on: database()).set(\.$liveStartedAt, to: startedAt).set(\.$liveSeenAt, to: startedAt)
                .filter(\.$id == channelID).update()
            // While this node has the publisher it says so every few seconds; when it dies, other nodes see it stop.
            heartbeat.withLockedValue {
                $0 = Task { [database, registry] in
                    while !Task.isCancelled {
                        try? await Task.sleep(nanoseconds: UInt64(LiveService.heartbeatInterval * 1e9))
                        guard !Task.isCancelled else { return }
                        try? await LiveService(db: database(), registry: registry).beat(channelID: channelID)
                    }
                }
            }
            mirror?.start()
            logger.info("Live: @\(channel.handle) started")
            return .accept(packager)
        } catch {
            heartbeat.withLockedValue { $0?.cancel() }
            registry.release(channelID: channelID)
            logger.error("Live: cannot start packaging for @\(channel.handle): \(error)")
            return .reject(code: "NetStream.Publish.Failed", description: "The server could not start the stream; try again.")
        }
    }
}
