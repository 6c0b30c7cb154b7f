import Media

/// Stores an uploaded picture as what Videotube shows: checked and re-encoded by ffmpeg to the kind's size (a
/// channel's logo, banner or card, or a video's thumbnail). One place for what every picture goes through.
enum PictureStore {
    /// The key of the stored JPEG; a file that is no picture is refused (`PictureRefused`) and nothing is kept.
    static func store(_ kind: ImageKind, from upload: String, storage: any MediaStorage, prefix: String) async throws -> String {
        let (key, path) = try storage.reserve(prefix: prefix, fileExtension: "jpg")
        do {
            try await FFmpeg.processImage(upload, kind: kind, to: path)
            try await storage.store(key)
        } catch {
            storage.delete(key)
            if let problem = error as? ImageError { throw PictureRefused(kind: kind, problem: problem) }
            if error is ProcessError { throw PictureRefused(kind: kind, problem: .notImage("it could not be decoded")) }
            throw error
        }
        return key
    }
}
