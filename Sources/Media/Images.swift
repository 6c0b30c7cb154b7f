import Foundation

/// The pictures a channel carries, each re-encoded to a fixed shape so an upload is never served as sent.
public enum ImageKind: String, Sendable, CaseIterable {
    /// Square profile picture.
    case logo
    /// Wide cover across the top of the channel page.
    case banner
    /// 16:9 picture for channel cards.
    case thumbnail
    /// A video's own thumbnail, chosen by its owner instead of a frame (1280×720, as YouTube asks for).
    case videoThumbnail = "video-thumbnail"

    /// The pictures a channel has (its settings page and `…/images/:kind` routes).
    public static let channelPictures: [ImageKind] = [.logo, .banner, .thumbnail]

    /// A channel picture's kind from its name in a route; nil for anything else.
    public init?(channelPicture name: String) {
        guard let kind = ImageKind(rawValue: name), Self.channelPictures.contains(kind) else { return nil }
        self = kind
    }

    public var size: (width: Int, height: Int) {
        switch self {
        case .logo: (256, 256)
        case .banner: (2048, 512)
        case .thumbnail: (640, 360)
        case .videoThumbnail: (1280, 720)
        }
    }

    public var label: String {
        switch self {
        case .logo: "logo"
        case .banner: "banner"
        case .thumbnail: "channel thumbnail"
        case .videoThumbnail: "thumbnail"
        }
    }
}

public enum ImageError: Error, CustomStringConvertible, Equatable {
    case notImage(String)
    case tooLarge(width: Int, height: Int)

    public var description: String {
        switch self {
        case .notImage(let detail): "this file is not a picture we accept (\(detail)); upload a JPEG, PNG, WebP or GIF"
        case .tooLarge(let w, let h): "this picture is \(w)×\(h); upload one at most 8000 pixels on each side"
        }
    }
}

extension FFmpeg {
    /// Raster formats accepted for channel pictures. SVG and anything script-bearing are refused outright.
    public static let imageCodecs: Set<String> = ["mjpeg", "png", "webp", "gif", "bmp", "tiff"]
    /// The demuxers a picture may be read with: single images only, from the local file alone.
    static let imageDemuxers = ["image2", "jpeg_pipe", "png_pipe", "webp_pipe", "gif", "bmp_pipe", "tiff_pipe"]

    /// Checks with ffprobe that `input` is one still picture in an accepted format, then scales and crops it
    /// to `kind`'s shape and writes a JPEG to `output` (metadata stripped).
    public static func processImage(_ input: String, kind: ImageKind, to output: String) async throws {
        let probe = try await ProcessRunner.run(
            "ffprobe",
            [
                "-v", "error", "-protocol_whitelist", "file", "-format_whitelist", imageDemuxers.joined(separator: ","),
                "-print_format", "json", "-show_format", "-show_streams", "--", input,
            ], timeout: 30)
        guard probe.status == 0, !probe.timedOut else { throw ImageError.notImage("unreadable") }
        struct Output: Decodable {
            struct Stream: Decodable {
                var codec_type: String?
                var codec_name: String?
                var width: Int?
                var height: Int?
            }
            struct Format: Decodable { var format_name: String? }
            var streams: [Stream]?
            var format: Format?
        }
        guard let parsed = try? JSONDecoder().decode(Output.self, from: probe.stdout),
            let stream = parsed.streams?.first(where: { $0.codec_type == "video" })
        else { throw ImageError.notImage("no picture in it") }
        let codec = stream.codec_name ?? "unknown"
        guard imageCodecs.contains(codec) else { throw ImageError.notImage("it is \(codec)") }
        // A moving clip in an image container (an MP4 named .png) is not a picture.
        guard let format = parsed.format?.format_name, let demuxer = imageDemuxers.first(where: { format.split(separator: ",").contains(Substring($0)) })
        else { throw ImageError.notImage("it is a \(parsed.format?.format_name ?? "unknown") file") }
        let width = stream.width ?? 0, height = stream.height ?? 0
        guard width > 0, height > 0 else { throw ImageError.notImage("it has no size") }
        guard width <= 8000, height <= 8000 else { throw ImageError.tooLarge(width: width, height: height) }
        let (w, h) = kind.size
        try await ProcessRunner.check(
            "ffmpeg",
            ["-nostdin", "-v", "error", "-y"] + MediaInput(path: input, format: demuxer).arguments + [
                "-frames:v", "1", "-map_metadata", "-1",
                "-vf", "scale=\(w):\(h):force_original_aspect_ratio=increase,crop=\(w):\(h),setsar=1,format=yuvj420p",
                "-q:v", "3", "-f", "image2", "-c:v", "mjpeg", output,
            ], timeout: 60)
    }
}
