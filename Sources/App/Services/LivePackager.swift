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
        do {
            let packager = try LivePackager(
                channelID: channelID, handle: channel.handle, folder: "\(liveRoot)/\(channelID)", segmentSeconds: segmentSeconds,
                logger: logger
            ) { [database, registry] in
                registry.release(channelID: channelID)
                Task {
                    try? await Channel.query(on: database()).set(\.$liveStartedAt, to: nil).filter(\.$id == channelID).update()
                }
            }
            try await Channel.query(on: database()).set(\.$liveStartedAt, to: Date()).filter(\.$id == channelID).update()
            logger.info("Live: @\(channel.handle) started")
            return .accept(packager)
        } catch {
            registry.release(channelID: channelID)
            logger.error("Live: cannot start packaging for @\(channel.handle): \(error)")
            return .reject(code: "NetStream.Publish.Failed", description: "The server could not start the stream; try again.")
        }
    }
}

/// Packages one published stream as live HLS: the RTMP frames go, as FLV, into an ffmpeg that copies them
/// (no re-encode) into fMP4 segments cut at keyframes, with a sliding-window playlist and program date-times.
/// Writes happen on a queue of their own, so the event loop never waits for ffmpeg; a backlog over 32 MB
/// means ffmpeg cannot keep up, and the stream is stopped rather than buffered without end.
final class LivePackager: PublishSink, @unchecked Sendable {
    let channelID: Int
    let folder: String
    private let process = Process()
    private let stdin = Pipe()
    private let queue: DispatchQueue
    private let backlog = NIOLockedValueBox(0)
    private let finished = NIOLockedValueBox(false)
    private let onEnd: @Sendable () -> Void
    private let logger: Logger
    static let maxBacklog = 32 << 20

    init(channelID: Int, handle: String, folder: String, segmentSeconds: Int, logger: Logger, onEnd: @escaping @Sendable () -> Void) throws {
        self.channelID = channelID
        self.folder = folder
        self.onEnd = onEnd
        self.logger = logger
        self.queue = DispatchQueue(label: "videotube.live.\(channelID)")
        try? FileManager.default.removeItem(atPath: folder)
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        guard let ffmpeg = ProcessRunner.which("ffmpeg") else { throw ProcessError.notFound("ffmpeg") }
        process.executableURL = URL(fileURLWithPath: ffmpeg)
        process.arguments = Self.arguments(folder: folder, segmentSeconds: segmentSeconds)
        process.standardInput = stdin
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        write(FLVWriter.header)
    }

    /// Copy into 1-second-ish fMP4 segments (cut at the next keyframe), 6 in the playlist, old ones deleted.
    static func arguments(folder: String, segmentSeconds: Int) -> [String] {
        [
            "-nostdin", "-v", "error", "-fflags", "+nobuffer", "-f", "flv", "-i", "pipe:0", "-map", "0", "-c", "copy",
            "-f", "hls", "-hls_time", "\(segmentSeconds)", "-hls_list_size", "6",
            "-hls_flags", "delete_segments+program_date_time+independent_segments+temp_file",
            "-hls_segment_type", "fmp4", "-hls_fmp4_init_filename", "init.mp4",
            "-hls_segment_filename", "\(folder)/seg_%06d.m4s", "\(folder)/index.m3u8",
        ]
    }

    func metadata(_ value: AMF0Value) { write(FLVWriter.metadataTag(value)) }

    func media(_ message: RTMPMessage) {
        write(FLVWriter.tag(type: message.typeID, timestamp: message.timestamp, body: message.payload))
    }

    func ended(reason: String) {
        guard !finished.withLockedValue({ let was = $0; $0 = true; return was }) else { return }
        logger.info("Live: channel \(channelID) ended (\(reason))")
        queue.async { [stdin, process, onEnd] in
            try? stdin.fileHandleForWriting.close()
            process.waitUntilExit()
            onEnd()
        }
    }

    private func write(_ bytes: [UInt8]) {
        guard !finished.withLockedValue({ $0 }) else { return }
        let size = bytes.count
        let pending = backlog.withLockedValue { $0 += size; return $0 }
        if pending > Self.maxBacklog {
            logger.warning("Live: channel \(channelID): ffmpeg is \(pending >> 20) MB behind; stopping the stream")
            ended(reason: "packaging fell behind")
            return
        }
        queue.async { [stdin, backlog] in
            try? stdin.fileHandleForWriting.write(contentsOf: bytes)
            backlog.withLockedValue { $0 -= size }
        }
    }
}
