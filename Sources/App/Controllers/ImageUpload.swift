import Fluent
import Media
import Vapor

/// Writes an uploaded picture to a temporary file, then has it validated, re-encoded and stored.
enum ImageUpload {
    /// A channel's logo, banner or card picture.
    static func apply(_ kind: ImageKind, bytes: ByteBuffer, to channel: Channel, req: Request) async throws {
        try await withFile(bytes, req: req) { try await req.channels.setImage(kind, from: $0, on: channel) }
    }

    /// A video's own thumbnail.
    static func applyThumbnail(bytes: ByteBuffer, to video: Video, req: Request) async throws {
        try await withFile(bytes, req: req) { try await req.videos.setThumbnail(from: $0, on: video) }
    }

    private static func withFile(_ bytes: ByteBuffer, req: Request, _ body: (String) async throws -> Void) async throws {
        let temp = NSTemporaryDirectory() + "videotube-upload-\(UUID().uuidString)"
        try await req.fileio.writeFile(bytes, at: temp)
        defer { try? FileManager.default.removeItem(atPath: temp) }
        try await body(temp)
    }
}

extension Request {
    /// The picture of an API call: the raw body, or the multipart field `image`; 400 when there is none.
    func uploadedPicture() throws -> ByteBuffer {
        var bytes: ByteBuffer?
        if headers.contentType?.type == "multipart" {
            struct Upload: Content { var image: File? }
            bytes = try content.decode(Upload.self).image?.data
        } else {
            bytes = body.data
        }
        guard let bytes, bytes.readableBytes > 0 else {
            throw Abort(.badRequest, reason: "Send the picture as the request body (Content-Type: image/jpeg, image/png …).")
        }
        return bytes
    }

    /// The studio form's picture, the multipart field `image`; 400 when none was chosen.
    func formPicture() throws -> ByteBuffer {
        struct Upload: Content { var image: File? }
        guard let file = try content.decode(Upload.self).image, file.data.readableBytes > 0 else {
            throw Abort(.badRequest, reason: "Choose a picture file first.")
        }
        return file.data
    }
}
