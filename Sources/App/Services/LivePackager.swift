import Fluent
import Foundation
import Logging
import Media
import NIOConcurrencyHelpers
import RTMP

/// Packages one published stream as live HLS: the RTMP frames go, as FLV, into an ffmpeg that copies them
/// (no re-encode) into fMP4 segments cut at keyframes, with a sliding-window playlist and program date-times.
/// The same ffmpeg also writes the source as fragmented MP4 of ~200 ms fragments on its stdout, which a reader
/// thread splits into `fragments` (the low-latency stream and LL-HLS are served from there, from memory).
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
    private let onEnd: @Sendable (String?) -> Void
    private let onOffline: @Sendable () -> Void
    private let logger: Logger
    private let record: Bool
    /// Where the low-latency fragments go.
    let fragments: LiveFragmentStore
    private let output = Pipe()
    static let maxBacklog = 32 << 20

    /// `onEnd` gets the recorded broadcast (`replay.mp4`) when `record` is on and ffmpeg finished it cleanly.
    init(
        channelID: Int, handle: String, folder: String, segmentSeconds: Int, record: Bool, ladder: [Int] = [], logger: Logger,
        fragments: LiveFragmentStore, onOffline: @escaping @Sendable () -> Void = {}, onEnd: @escaping @Sendable (String?) -> Void
    ) throws {
        self.fragments = fragments
        self.onOffline = onOffline
        self.record = record
        self.channelID = channelID
        self.folder = folder
        self.onEnd = onEnd
        self.logger = logger
        self.queue = DispatchQueue(label: "videotube.live.\(channelID)")
        try? FileManager.default.removeItem(atPath: folder)
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        guard let ffmpeg = ProcessRunner.which("ffmpeg") else { throw ProcessError.notFound("ffmpeg") }
        process.executableURL = URL(fileURLWithPath: ffmpeg)
        self.segmentSeconds = segmentSeconds
        self.ladder = ladder
        process.standardInput = stdin
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        if ladder.isEmpty {
            process.arguments = Self.arguments(folder: folder, segmentSeconds: segmentSeconds, record: record, variants: [])
            try process.run()
            launched.withLockedValue { $0 = true }
        }
        readFragments()
        // With a ladder, ffmpeg starts at the metadata (or the first frame), when the source's size is known;
        // the header waits in the pipe meanwhile.
        write(FLVWriter.header)
        previewTask = Task { [folder] in
            // A preview frame every ~10 s from the newest segment: decodes one GOP, not the whole stream.
            try? await Task.sleep(nanoseconds: 3_000_000_000)
            while !Task.isCancelled {
                _ = try? await ProcessRunner.run(
                    "ffmpeg",
                    ["-nostdin", "-v", "error", "-y", "-live_start_index", "-1"] + MediaInput.hlsPlaylist("\(folder)/index.m3u8").arguments + [
                        "-frames:v", "1",
                        "-vf", "scale=640:360:force_original_aspect_ratio=decrease,pad=640:360:(ow-iw)/2:(oh-ih)/2", "-q:v", "5",
                        "-f", "image2", "\(folder)/preview.tmp.jpg",
                    ], timeout: 20)
                _ = rename("\(folder)/preview.tmp.jpg", "\(folder)/preview.jpg")
                try? await Task.sleep(nanoseconds: 10_000_000_000)
            }
        }
    }

    private var previewTask: Task<Void, Never>?
    private let segmentSeconds: Int
    private let ladder: [Int]
    private let launched = NIOLockedValueBox(false)

    /// Copy into 1-second-ish fMP4 segments (cut at the next keyframe), 6 in the playlist, old ones deleted.
    /// `variants` adds transcoded renditions beside the copied source, with `index.m3u8` as their master playlist
    /// (the source's bandwidth taken from the encoder's metadata). With `record`, another output keeps the whole
    /// broadcast as a faststart MP4 for the replay.
    static func arguments(folder: String, segmentSeconds: Int, record: Bool, variants: [Rendition], sourceBitrate: Int = 6_000_000) -> [String] {
        // A short probe (0.1 s of stream; bytes up to 1 MB, since a 4 KB cap ended the probe at a 720p keyframe and
        // missed the audio): an encoder sends its codec headers first, and every second spent probing is a second of
        // latency at start-up. No `nobuffer`: it throws away what the probe read, the first keyframe's GOP, and the
        // first fragment then waits for the next keyframe (measured: first bytes 1.3 s after the encoder starts,
        // against 0.46 s without it).
        var args = ["-nostdin", "-v", "error", "-probesize", "1000000", "-analyzeduration", "100000"]
            + MediaInput.flvPipe.arguments
        let hls = [
            "-f", "hls", "-hls_time", "\(segmentSeconds)", "-hls_list_size", "6",
            "-hls_flags", "delete_segments+program_date_time+independent_segments+temp_file", "-hls_segment_type", "fmp4",
        ]
        if variants.isEmpty {
            args += ["-map", "0", "-c", "copy"] + hls + [
                "-hls_fmp4_init_filename", "init.mp4", "-hls_segment_filename", "\(folder)/seg_%06d.m4s", "\(folder)/index.m3u8",
            ]
        } else {
            let labels = variants.indices.map { "[r\($0)]" }
            let scales = variants.enumerated().map { "[s\($0)]scale=\($1.width):\($1.height)[r\($0)]" }
            args += ["-filter_complex", "[0:v]split=\(variants.count)" + variants.indices.map { "[s\($0)]" }.joined() + ";" + scales.joined(separator: ";")]
            args += ["-map", "0:v", "-map", "0:a?"]
            for label in labels { args += ["-map", label, "-map", "0:a?"] }
            args += ["-c:v:0", "copy", "-b:v:0", "\(sourceBitrate)", "-c:a", "copy"]
            for (i, r) in variants.enumerated() {
                args += [
                    "-c:v:\(i + 1)", "libx264", "-preset:v:\(i + 1)", "veryfast", "-tune:v:\(i + 1)", "zerolatency",
                    "-b:v:\(i + 1)", "\(r.videoBitrate)", "-maxrate:v:\(i + 1)", "\(r.videoBitrate * 107 / 100)",
                    "-bufsize:v:\(i + 1)", "\(r.videoBitrate)", "-pix_fmt:v:\(i + 1)", "yuv420p",
                    "-force_key_frames:v:\(i + 1)", "expr:gte(t,n_forced*\(segmentSeconds))",
                ]
            }
            let map = (["v:0,a:0,name:source"] + variants.enumerated().map { "v:\($0 + 1),a:\($0 + 1),name:\($1.name)" })
                .joined(separator: " ")
            args += hls + [
                "-master_pl_name", "index.m3u8", "-var_stream_map", map,
                "-hls_segment_filename", "\(folder)/%v_%06d.m4s", "\(folder)/%v.m3u8",
            ]
        }
        if record { args += ["-map", "0:v", "-map", "0:a?", "-c", "copy", "-f", "mp4", "-movflags", "+faststart", "\(folder)/replay.mp4"] }
        // The source again, as fragmented MP4 on stdout: a fragment every 200 ms and at every keyframe, written at once.
        args += [
            "-map", "0:v", "-map", "0:a?", "-c", "copy", "-f", "mp4", "-movflags", "empty_moov+default_base_moof+frag_keyframe",
            "-frag_duration", String(Int(LiveFragmentStore.fragmentSeconds * 1_000_000)), "-flush_packets", "1",
            "-max_interleave_delta", "0", "pipe:1",
        ]
        return args
    }

    /// Reads ffmpeg's stdout on a thread of its own (blocking reads, EINTR retried) into the fragment store until
    /// ffmpeg closes it. Bytes that are not fragmented MP4 end the low-latency stream, not the broadcast.
    private func readFragments() {
        let handle = output.fileHandleForReading
        let store = fragments
        let logger = logger
        let channelID = channelID
        let thread = Thread {
            var reader = FMP4Reader()
            var buffer = [UInt8](repeating: 0, count: 1 << 16)
            var broken = false
            while true {
                let count = buffer.withUnsafeMutableBytes { Foundation.read(handle.fileDescriptor, $0.baseAddress, $0.count) }
                if count < 0 && errno == EINTR { continue }
                guard count > 0 else { break }
                guard !broken else { continue }  // keep draining, so ffmpeg never blocks on a full pipe
                do {
                    for output in try reader.feed(buffer[0..<count]) {
                        switch output {
                        case .initSegment(let bytes, let info): store.setInit(bytes, info: info)
                        case .fragment(let fragment): store.append(fragment)
                        }
                    }
                } catch {
                    logger.warning("Live: channel \(channelID): the low-latency stream stopped: \(error)")
                    broken = true
                    store.end()
                }
            }
            store.end()
            try? handle.close()
        }
        thread.name = "videotube.live.fragments.\(channelID)"
        thread.start()
    }

    func metadata(_ value: AMF0Value) {
        launchIfNeeded(value)
        write(FLVWriter.metadataTag(value))
    }

    func media(_ message: RTMPMessage) {
        launchIfNeeded(nil)
        write(FLVWriter.tag(type: message.typeID, timestamp: message.timestamp, body: message.payload))
    }

    /// Starts a ladder's ffmpeg once the source's size is known: renditions below it, never above.
    private func launchIfNeeded(_ metadata: AMF0Value?) {
        guard !launched.withLockedValue({ let was = $0; $0 = true; return was }) else { return }
        // The publisher's own numbers: anything absent, odd or out of range falls back to a default.
        let width = metadata?["width"]?.integer(in: 16...8192) ?? 1920
        let height = metadata?["height"]?.integer(in: 16...8192) ?? 1080
        let variants = HLSLadder.plan(sourceWidth: width, sourceHeight: height, settings: EncoderSettings(rungs: ladder))
            .filter { min($0.width, $0.height) < min(width, height) }
        let kbps = metadata?["videodatarate"]?.integer(in: 1...1_000_000)
        process.arguments = Self.arguments(
            folder: folder, segmentSeconds: segmentSeconds, record: record, variants: variants,
            sourceBitrate: kbps.map { $0 * 1000 } ?? 6_000_000)
        do {
            try process.run()
        } catch {
            logger.error("Live: cannot start ffmpeg for channel \(channelID): \(error)")
            ended(reason: "packaging could not start")
        }
    }

    func ended(reason: String) {
        guard !finished.withLockedValue({ let was = $0; $0 = true; return was }) else { return }
        logger.info("Live: channel \(channelID) ended (\(reason))")
        previewTask?.cancel()
        onOffline()
        let replay = record ? "\(folder)/replay.mp4" : nil
        queue.async { [stdin, process, onEnd, output, fragments] in
            try? stdin.fileHandleForWriting.close()
            guard process.processIdentifier != 0 else {
                // ffmpeg never started: nobody else will close the pipe its reader waits on.
                try? output.fileHandleForWriting.close()
                fragments.end()
                onEnd(nil)
                return
            }
            process.waitUntilExit()
            let finished = process.terminationStatus == 0 && replay.map { FileManager.default.fileExists(atPath: $0) } == true
            onEnd(finished ? replay : nil)
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

