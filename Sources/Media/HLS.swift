import Foundation

/// One rung of the adaptive ladder: a size and the bitrates it is encoded at.
public struct Rendition: Sendable, Equatable, Codable {
    /// `240p`, `720p`…: the short side, also used in file names.
    public var name: String
    public var width: Int
    public var height: Int
    /// Target video bitrate in bits per second (capped VBR: maxrate is 7 % above it).
    public var videoBitrate: Int
    public var audioBitrate: Int

    public init(name: String, width: Int, height: Int, videoBitrate: Int, audioBitrate: Int) {
        self.name = name
        self.width = width
        self.height = height
        self.videoBitrate = videoBitrate
        self.audioBitrate = audioBitrate
    }
}

/// Encoder choices an operator may change (`VIDEOTUBE_X264_PRESET`, `VIDEOTUBE_HLS_SEGMENT_SECONDS`, `VIDEOTUBE_LADDER`).
public struct EncoderSettings: Sendable, Equatable {
    /// x264 preset: `ultrafast` … `veryslow`; slower is smaller at the same quality and costs CPU.
    public var preset: String
    /// Target segment length; keyframes are forced on this grid so every rendition switches at the same points.
    public var segmentSeconds: Int
    /// Short-side heights to offer, lowest first; only those at or below the source are made.
    public var rungs: [Int]

    public static let presets = ["ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow"]
    public static let standardRungs = [240, 360, 480, 720, 1080, 1440, 2160]

    public init(preset: String = "veryfast", segmentSeconds: Int = 4, rungs: [Int] = EncoderSettings.standardRungs) {
        self.preset = preset
        self.segmentSeconds = segmentSeconds
        self.rungs = rungs.sorted()
    }
}

/// What a finished rendition measured, for its line in the master playlist (RFC 8216 §4.3.4.2).
public struct VariantInfo: Sendable, Equatable, Codable {
    /// Peak segment bitrate (bits per second) — what BANDWIDTH must not be below.
    public var peakBandwidth: Int
    public var averageBandwidth: Int
    /// RFC 6381 codec string, e.g. `avc1.64001f,mp4a.40.2`.
    public var codecs: String

    public init(peakBandwidth: Int, averageBandwidth: Int, codecs: String) {
        self.peakBandwidth = peakBandwidth
        self.averageBandwidth = averageBandwidth
        self.codecs = codecs
    }
}

/// HLS packaging for uploaded videos: the ladder, the ffmpeg commands, and the master playlist.
public enum HLSLadder {
    /// Video bitrates per short side, in kbit/s (close to what YouTube and Apple's authoring guide use for H.264).
    static let bitrates: [Int: Int] = [144: 200, 240: 400, 360: 800, 480: 1400, 720: 2800, 1080: 5000, 1440: 8000, 2160: 14000]

    /// The renditions for a source: every rung up to the source's short side (never upscaled), lowest first.
    /// A source smaller than the lowest rung gets one rendition at its own size.
    public static func plan(sourceWidth: Int, sourceHeight: Int, settings: EncoderSettings = .init()) -> [Rendition] {
        let short = min(sourceWidth, sourceHeight)
        var rungs = settings.rungs.filter { $0 <= short }
        if rungs.isEmpty { rungs = [even(short)] }
        return rungs.map { rung in
            let scale = Double(rung) / Double(short)
            let width = sourceWidth <= sourceHeight ? rung : even(Double(sourceWidth) * scale)
            let height = sourceWidth <= sourceHeight ? even(Double(sourceHeight) * scale) : rung
            let kbps = bitrates[rung] ?? max(150, Int(Double(rung * rung) * 0.0055))
            return Rendition(
                name: "\(rung)p", width: width, height: height, videoBitrate: kbps * 1000,
                audioBitrate: rung <= 360 ? 96_000 : 128_000)
        }
    }

    private static func even(_ value: Double) -> Int { max(2, Int((value / 2).rounded()) * 2) }
    private static func even(_ value: Int) -> Int { max(2, value / 2 * 2) }

    /// ffmpeg arguments that encode one rendition as fMP4 HLS into `folder`:
    /// `NAME.m3u8`, `NAME_init.mp4` and `NAME_0000.m4s`…, with `-progress pipe:1` for progress reports.
    public static func renditionArguments(
        input: MediaInput, rendition r: Rendition, folder: String, hasAudio: Bool, settings: EncoderSettings
    ) -> [String] {
        let seg = settings.segmentSeconds
        var args = ["-nostdin", "-v", "error", "-y", "-progress", "pipe:1", "-nostats"] + input.arguments + ["-map", "0:v:0"]
        if hasAudio { args += ["-map", "0:a:0"] }
        args += [
            "-vf", "scale=\(r.width):\(r.height),setsar=1", "-c:v", "libx264", "-preset", settings.preset,
            "-profile:v", r.height <= 480 && r.width <= 854 ? "main" : "high", "-pix_fmt", "yuv420p",
            "-b:v", "\(r.videoBitrate)", "-maxrate", "\(r.videoBitrate * 107 / 100)", "-bufsize", "\(r.videoBitrate * 3 / 2)",
            "-force_key_frames", "expr:gte(t,n_forced*\(seg))", "-sc_threshold", "0",
        ]
        if hasAudio { args += ["-c:a", "aac", "-b:a", "\(r.audioBitrate)", "-ac", "2", "-ar", "48000"] }
        args += [
            "-f", "hls", "-hls_time", "\(seg)", "-hls_playlist_type", "vod", "-hls_segment_type", "fmp4",
            "-hls_fmp4_init_filename", "\(r.name)_init.mp4", "-hls_segment_filename", "\(folder)/\(r.name)_%04d.m4s",
            "-hls_flags", "independent_segments", "\(folder)/\(r.name).m3u8",
        ]
        return args
    }

    /// Measures a finished rendition: segment bitrates from the playlist's EXTINF durations and the files' sizes,
    /// and the codec string from the init segment's `avcC` box.
    public static func measure(rendition: Rendition, folder: String, hasAudio: Bool) throws -> VariantInfo {
        let playlistPath = "\(folder)/\(rendition.name).m3u8"
        guard let text = try? String(contentsOfFile: playlistPath, encoding: .utf8) else {
            throw StorageError.missing(playlistPath)
        }
        var peak = 0
        var totalBits = 0.0
        var totalSeconds = 0.0
        var pendingDuration: Double?
        for line in text.split(whereSeparator: \.isNewline) {
            if line.hasPrefix("#EXTINF:") {
                pendingDuration = Double(line.dropFirst(8).split(separator: ",").first ?? "")
            } else if !line.hasPrefix("#"), let duration = pendingDuration, duration > 0 {
                let size = (try? FileManager.default.attributesOfItem(atPath: "\(folder)/\(line)")[.size] as? Int) ?? 0
                let bits = Double(size * 8)
                peak = max(peak, Int(bits / max(duration, 0.5)))
                totalBits += bits
                totalSeconds += duration
                pendingDuration = nil
            }
        }
        guard totalSeconds > 0 else { throw StorageError.io("\(rendition.name) playlist lists no segments") }
        let initData = FileManager.default.contents(atPath: "\(folder)/\(rendition.name)_init.mp4") ?? Data()
        let video = avcCodecString(initSegment: initData) ?? "avc1.640028"
        return VariantInfo(
            peakBandwidth: peak, averageBandwidth: Int(totalBits / totalSeconds),
            codecs: hasAudio ? "\(video),mp4a.40.2" : video)
    }

    /// `avc1.PPCCLL` from the first `avcC` box: profile, constraint flags and level, as RFC 6381 §3.3 spells them.
    public static func avcCodecString(initSegment: Data) -> String? {
        let bytes = [UInt8](initSegment)
        let tag: [UInt8] = Array("avcC".utf8)
        guard bytes.count > 8 else { return nil }
        for i in 0..<(bytes.count - 8) where bytes[i] == tag[0] && Array(bytes[i..<(i + 4)]) == tag {
            // avcC: configurationVersion, AVCProfileIndication, profile_compatibility, AVCLevelIndication
            return "avc1." + bytes[(i + 5)...(i + 7)].map { String(format: "%02x", $0) }.joined()
        }
        return nil
    }

    /// The multivariant (master) playlist listing the finished renditions, lowest first (RFC 8216 §4.3.4.2).
    public static func masterPlaylist(_ variants: [(Rendition, VariantInfo)]) -> String {
        var lines = ["#EXTM3U", "#EXT-X-VERSION:7", "#EXT-X-INDEPENDENT-SEGMENTS"]
        for (r, info) in variants {
            lines.append(
                "#EXT-X-STREAM-INF:BANDWIDTH=\(info.peakBandwidth),AVERAGE-BANDWIDTH=\(info.averageBandwidth),"
                    + "RESOLUTION=\(r.width)x\(r.height),CODECS=\"\(info.codecs)\",NAME=\"\(r.name)\"")
            lines.append("\(r.name).m3u8")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// ffmpeg arguments for the download MP4 with its index at the front (`+faststart`), copied without re-encoding
    /// from `input` — the source when browsers can play its codecs, otherwise the top rendition's playlist.
    public static func faststartArguments(input: MediaInput, output: String, hasAudio: Bool) -> [String] {
        var args = ["-nostdin", "-v", "error", "-y", "-progress", "pipe:1", "-nostats"] + input.arguments + ["-map", "0:v:0"]
        if hasAudio { args += ["-map", "0:a:0"] }
        return args + ["-c", "copy", "-movflags", "+faststart", "-f", "mp4", output]
    }

    /// Whether an MP4/MOV file has its index (`moov`) before its media (`mdat`), so playback starts before the
    /// whole file is fetched. Reads only the top-level box headers (ISO/IEC 14496-12 §4.2).
    public static func isFastStart(path: String) -> Bool {
        guard let handle = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? handle.close() }
        var offset: UInt64 = 0
        for _ in 0..<64 {
            guard (try? handle.seek(toOffset: offset)) != nil, let header = try? handle.read(upToCount: 16), header.count >= 8 else {
                return false
            }
            let bytes = [UInt8](header)
            let type = String(decoding: bytes[4..<8], as: UTF8.self)
            if type == "moov" { return true }
            if type == "mdat" { return false }
            var size = UInt64(bytes[0..<4].reduce(0) { $0 << 8 | UInt32($1) })
            if size == 1, bytes.count >= 16 { size = bytes[8..<16].reduce(0) { $0 << 8 | UInt64($1) } }
            guard size >= 8 else { return false }
            offset += size
        }
        return false
    }

    /// Whether the source's own streams can go into the download MP4 as they are (H.264 and AAC play everywhere).
    public static func canCopyToMP4(videoCodec: String, audioCodec: String?) -> Bool {
        videoCodec == "h264" && (audioCodec == nil || audioCodec == "aac")
    }
}

/// Reads ffmpeg's `-progress` key=value lines and turns `out_time_us` into a fraction of the input's duration.
public struct FFmpegProgress: Sendable {
    public let duration: Double
    public private(set) var fraction: Double = 0
    public private(set) var finished = false

    public init(duration: Double) { self.duration = duration }

    /// Feeds one line; returns the new fraction (0…1) when the line moved it.
    public mutating func feed(_ line: Substring) -> Double? {
        guard let eq = line.firstIndex(of: "=") else { return nil }
        let key = line[..<eq]
        let value = line[line.index(after: eq)...].trimmingCharacters(in: .whitespaces)
        switch key {
        case "out_time_us", "out_time_ms":  // both are microseconds (the _ms name is a historical mistake in ffmpeg)
            guard let us = Double(value), us >= 0, duration > 0 else { return nil }
            let next = min(1, max(fraction, us / 1_000_000 / duration))
            guard next != fraction else { return nil }
            fraction = next
            return fraction
        case "progress" where value == "end":
            finished = true
            fraction = 1
            return 1
        default:
            return nil
        }
    }
}

/// The hover storyboard: one sprite of small frames every few seconds and a WebVTT index of where each frame sits.
public struct Storyboard: Sendable, Equatable {
    public static let tileWidth = 160
    public static let tileHeight = 90
    public static let columns = 10

    /// Seconds between frames, how many frames, and the sprite's grid.
    public var interval: Double
    public var count: Int
    public var rows: Int

    /// A frame every 2 s for short videos, spread to at most `maxFrames` for long ones.
    public init(duration: Double, maxFrames: Int = 100) {
        let interval = max(2, (duration / Double(maxFrames)).rounded(.up))
        self.interval = interval
        self.count = max(1, min(maxFrames, Int((duration / interval).rounded(.up))))
        self.rows = (count + Storyboard.columns - 1) / Storyboard.columns
    }

    public func arguments(input: MediaInput, output: String) -> [String] {
        let w = Storyboard.tileWidth
        let h = Storyboard.tileHeight
        return ["-nostdin", "-v", "error", "-y", "-progress", "pipe:1", "-nostats"] + input.arguments + [
            "-an", "-vf",
            "fps=1/\(Int(interval)),scale=\(w):\(h):force_original_aspect_ratio=decrease,pad=\(w):\(h):(ow-iw)/2:(oh-ih)/2,setsar=1,"
                + "tile=\(Storyboard.columns)x\(rows)",
            "-frames:v", "1", "-q:v", "5", "-f", "image2", output,
        ]
    }

    /// WebVTT cues `start --> end` pointing at `sprite#xywh=x,y,w,h` (the media-fragment form players understand).
    public func webVTT(spriteURL: String, duration: Double) -> String {
        var out = "WEBVTT\n"
        for i in 0..<count {
            let start = Double(i) * interval
            let end = min(duration, start + interval)
            let x = (i % Storyboard.columns) * Storyboard.tileWidth
            let y = (i / Storyboard.columns) * Storyboard.tileHeight
            out += "\n\(Storyboard.timestamp(start)) --> \(Storyboard.timestamp(max(end, start + 0.001)))\n"
            out += "\(spriteURL)#xywh=\(x),\(y),\(Storyboard.tileWidth),\(Storyboard.tileHeight)\n"
        }
        return out
    }

    static func timestamp(_ seconds: Double) -> String {
        let ms = Int((seconds * 1000).rounded())
        return String(format: "%02d:%02d:%02d.%03d", ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60, ms % 1000)
    }
}
