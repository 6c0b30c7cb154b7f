import Media
import Vapor

/// A channel picture or video thumbnail that was not accepted (not a picture, too big): 422 with what to upload instead, the same
/// answer for the studio's form and the API.
public struct PictureRefused: AbortError {
    public let kind: ImageKind
    public let problem: ImageError

    public var status: HTTPResponseStatus { .unprocessableEntity }
    public var reason: String { "The \(kind.label) was not changed: \(problem.description)." }
}
