/// Content types of the media kinds Videotube stores, by file extension.
public enum MIMEType {
    public static func forExtension(_ ext: String) -> String {
        switch ext.lowercased() {
        case "mp4", "m4v": "video/mp4"
        case "webm": "video/webm"
        case "mkv": "video/x-matroska"
        case "mov": "video/quicktime"
        case "ogv": "video/ogg"
        case "avi": "video/x-msvideo"
        case "ts": "video/mp2t"
        case "m4s": "video/iso.segment"
        case "m3u8": "application/vnd.apple.mpegurl"
        case "vtt": "text/vtt; charset=utf-8"
        case "jpg", "jpeg": "image/jpeg"
        case "png": "image/png"
        case "webp": "image/webp"
        case "json": "application/json"
        default: "application/octet-stream"
        }
    }
}
