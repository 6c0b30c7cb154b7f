import Fluent
import Media
import Vapor

/// Writes an uploaded picture to a temporary file, then validates, re-encodes and stores it.
enum ImageUpload {
    static func apply(_ kind: ImageKind, bytes: ByteBuffer, to channel: Channel, req: Request) async throws {
        let temp = NSTemporaryDirectory() + "videotube-upload-\(UUID().uuidString)"
        try await req.fileio.writeFile(bytes, at: temp)
        defer { try? FileManager.default.removeItem(atPath: temp) }
        try await req.channels.setImage(kind, from: temp, on: channel)
    }
}
