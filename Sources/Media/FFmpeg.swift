import Foundation

/// What ffprobe says about a media file.
public struct ProbeResult: Sendable, Equatable {
    public var formatName: String
    /// The container the file is stored as; its demuxer reads it from now on.
    public var container: VideoContainer
    public var duration: Double
    public var size: Int64
    public var width: Int
    public var height: Int
    public var videoCodec: String
    public var audioCodec: String?
}

public enum ProbeError: Error, CustomStringConvertible, Equatable {
    case notMedia(String)
    case noVideo
    case noDuration
    case notAContainer(String)

    public var description: String {
        switch self {
        case .notMedia(let detail):
            "this file is not a video Videotube can read; upload an MP4, WebM, MKV or MOV file (the reader said: \(detail))"
        case .noVideo:
            "this file has no video stream (audio only or a still image); upload a file with moving pictures"
        case .noDuration:
            "this video has no duration (empty or truncated); re-export it and try again"
        case .notAContainer(let format):
            "this is a \(format) file (a playlist or list of other files, not a video container); upload an MP4, WebM, MKV or MOV file"
        }
    }
}

/// ffprobe and ffmpeg, run as subprocesses for probing, thumbnails and generated demo media.
public enum FFmpeg {
    /// Probes a file and insists on a real video: a video stream that is not cover art, and a duration. Only the
    /// video containers' demuxers may read it, from the local file alone, so a playlist, a concat list or an image
    /// pattern is refused instead of followed.
    public static func probeVideo(_ path: String, timeout: Double = 60) async throws -> ProbeResult {
        let result = try await ProcessRunner.run(
            "ffprobe",
            [
                "-v", "error", "-protocol_whitelist", "file", "-format_whitelist", VideoContainer.uploadDemuxers.joined(separator: ","),
                "-print_format", "json", "-show_format", "-show_streams", "--", path,
            ],
            timeout: timeout)
        if result.timedOut { throw ProbeError.notMedia("ffprobe gave up after \(Int(timeout)) s") }
        guard result.status == 0 else {
            // `[hls @ 0x…] Format not on whitelist …`: a playlist, concat list or the like, refused unread.
            if let line = result.stderrTail.split(separator: "\n").first(where: { $0.contains("not on whitelist") }),
                line.hasPrefix("["), let end = line.firstIndex(of: " ")
            {
                throw ProbeError.notAContainer(String(line[line.index(after: line.startIndex)..<end]))
            }
            let reason = result.stderrTail.split(separator: "\n").last.map { String($0) } ?? "unreadable"
            throw ProbeError.notMedia(reason.replacingOccurrences(of: path, with: "input"))
        }
        return try parseProbe(result.stdout)
    }

    /// Turns ffprobe's JSON into a `ProbeResult`, refusing audio-only, still images and zero durations.
    public static func parseProbe(_ json: Data) throws -> ProbeResult {
        struct Output: Decodable {
            struct Format: Decodable {
                var format_name: String?
                var duration: String?
                var size: String?
            }
            struct Stream: Decodable {
                struct Disposition: Decodable { var attached_pic: Int? }
                var codec_type: String?
                var codec_name: String?
                var width: Int?
                var height: Int?
                var duration: String?
                var disposition: Disposition?
                var avg_frame_rate: String?
            }
            var format: Format?
            var streams: [Stream]?
        }
        guard let output = try? JSONDecoder().decode(Output.self, from: json), let format = output.format else {
            throw ProbeError.notMedia("no container format")
        }
        let streams = output.streams ?? []
        let stillImageCodecs: Set<String> = ["png", "mjpeg", "bmp", "gif", "webp", "tiff", "jpeg2000", "ansi", "tty"]
        guard
            let video = streams.first(where: {
                $0.codec_type == "video" && ($0.disposition?.attached_pic ?? 0) == 0
                    && !stillImageCodecs.contains($0.codec_name ?? "")
            }), let width = video.width, let height = video.height, width > 0, height > 0
        else { throw ProbeError.noVideo }
        let duration = Double(format.duration ?? "") ?? Double(video.duration ?? "") ?? 0
        guard duration > 0, duration.isFinite else { throw ProbeError.noDuration }
        let audioCodec = streams.first(where: { $0.codec_type == "audio" })?.codec_name
        guard let container = VideoContainer(formatName: format.format_name ?? "", videoCodec: video.codec_name ?? "", audioCodec: audioCodec)
        else { throw ProbeError.notAContainer(format.format_name ?? "unknown") }
        return ProbeResult(
            formatName: format.format_name ?? "", container: container, duration: duration, size: Int64(format.size ?? "") ?? 0,
            width: width, height: height, videoCodec: video.codec_name ?? "unknown",
            audioCodec: audioCodec)
    }

    /// A 16:9 JPEG poster (640×360, letterboxed) from a frame near a quarter of the way in.
    public static func thumbnail(of input: MediaInput, duration: Double, to output: String) async throws {
        let at = max(0, min(duration * 0.25, duration - 0.1, 30))
        try await ProcessRunner.check(
            "ffmpeg",
            ["-nostdin", "-v", "error", "-y", "-ss", String(format: "%.2f", at)] + input.arguments + [
                "-frames:v", "1",
                "-vf",
                "scale=640:360:force_original_aspect_ratio=decrease,pad=640:360:(ow-iw)/2:(oh-ih)/2:color=black,setsar=1",
                "-q:v", "4", "-f", "image2", output,
            ], timeout: 120)
    }

    /// A generated H.264/AAC MP4 (test pattern and tone) for demo content and tests.
    public static func generateTestVideo(
        to output: String, width: Int, height: Int, seconds: Double, pattern: String = "testsrc2", toneHz: Int = 440
    ) async throws {
        try await ProcessRunner.check(
            "ffmpeg",
            [
                "-nostdin", "-v", "error", "-y",
                "-f", "lavfi", "-i", "\(pattern)=size=\(width)x\(height):rate=25",
                "-f", "lavfi", "-i", "sine=frequency=\(toneHz):sample_rate=44100:duration=\(seconds)",
                "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-g", "50",
                "-c:a", "aac", "-b:a", "96k", "-t", String(seconds), "-movflags", "+faststart", output,
            ], timeout: 300)
    }

    /// A square PNG logo: a coloured disc-like tile with a lighter inner square.
    public static func generateLogo(to output: String, color: String, size: Int = 256) async throws {
        let inner = size / 2
        try await ProcessRunner.check(
            "ffmpeg",
            [
                "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", "color=c=\(color):s=\(size)x\(size)",
                "-vf", "drawbox=x=\(size / 4):y=\(size / 4):w=\(inner):h=\(inner):color=white@0.75:t=fill",
                "-frames:v", "1", output,
            ], timeout: 60)
    }
}
