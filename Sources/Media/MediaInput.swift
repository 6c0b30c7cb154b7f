/// A file ffmpeg or ffprobe may read, and the one demuxer it must be read with.
///
/// Every ffmpeg run names its input this way: an explicit `-f FORMAT` and `-protocol_whitelist`, so a file that is
/// really an HLS playlist, a concat list or an image pattern cannot make ffmpeg open other files (an uploaded
/// `.m3u8` listing `../../videos/…` would otherwise copy someone else's video into a new one).
public struct MediaInput: Sendable, Equatable {
    public var path: String
    /// ffmpeg's demuxer name (`mov`, `matroska`, `hls`, `flv`…).
    public var format: String
    /// `file`, or `pipe` for `pipe:0`.
    public var protocols: String

    public init(path: String, format: String, protocols: String = "file") {
        self.path = path
        self.format = format
        self.protocols = protocols
    }

    /// A stored video file, read with the demuxer of its container.
    public init(path: String, container: VideoContainer) {
        self.init(path: path, format: container.demuxer)
    }

    /// One of our own HLS playlists (renditions, live): its segments are local files beside it.
    public static func hlsPlaylist(_ path: String) -> MediaInput { MediaInput(path: path, format: "hls") }

    /// FLV frames written to ffmpeg's standard input.
    public static let flvPipe = MediaInput(path: "pipe:0", format: "flv", protocols: "pipe")

    /// The arguments that open it: `-protocol_whitelist P -f FORMAT -i PATH`.
    public var arguments: [String] { ["-protocol_whitelist", protocols, "-f", format, "-i", path] }
}

/// The containers Videotube accepts and stores videos in. A stored file's extension is always the one of its
/// probed container, never the uploader's, and it decides the demuxer every later ffmpeg run uses.
public enum VideoContainer: String, Sendable, CaseIterable {
    case mp4, mkv, webm, avi, ts, ogv

    /// ffmpeg's demuxer for it.
    public var demuxer: String {
        switch self {
        case .mp4: "mov"
        case .mkv, .webm: "matroska"
        case .avi: "avi"
        case .ts: "mpegts"
        case .ogv: "ogg"
        }
    }

    public var mimeType: String { MIMEType.forExtension(rawValue) }

    /// The demuxers an upload may be probed with: no playlists (hls, concat), no image sequences, no network.
    public static let uploadDemuxers = ["mov", "matroska", "avi", "mpegts", "ogg"]

    /// The container of a probed file. ffprobe's `format_name` is the demuxer's name list (`mov,mp4,m4a,3gp,3g2,mj2`,
    /// `matroska,webm`); WebM is Matroska holding only WebM codecs.
    public init?(formatName: String, videoCodec: String, audioCodec: String?) {
        let names = Set(formatName.split(separator: ",").map(String.init))
        if names.contains("mov") {
            self = .mp4
        } else if names.contains("matroska") {
            let webmVideo: Set = ["vp8", "vp9", "av1"]
            let webmAudio: Set = ["opus", "vorbis"]
            self = webmVideo.contains(videoCodec) && (audioCodec.map { webmAudio.contains($0) } ?? true) ? .webm : .mkv
        } else if names.contains("avi") {
            self = .avi
        } else if names.contains("mpegts") {
            self = .ts
        } else if names.contains("ogg") {
            self = .ogv
        } else {
            return nil
        }
    }

    /// The container of a stored key, by its extension (`.mov` and `.m4v` from before every file became `.mp4`
    /// are MP4 too); nil for anything else, which is then never handed to ffmpeg.
    public init?(storageKey: String) {
        let ext = StorageKey.fileExtension(of: storageKey).lowercased()
        switch ext {
        case "mov", "m4v": self = .mp4
        default:
            guard let container = VideoContainer(rawValue: ext) else { return nil }
            self = container
        }
    }
}
