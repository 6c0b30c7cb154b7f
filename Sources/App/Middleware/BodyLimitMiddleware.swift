import Vapor

/// Refuses a body whose declared `Content-Length` is over its route's limit with 413 before a byte of it is read
/// (Vapor would otherwise wait to collect a megabyte first, at the client's pace). The rest of the body is not
/// read (the connection's idle timeout ends it if the client keeps quiet); a chunked body is cut off at the limit.
struct BodyLimitMiddleware: AsyncMiddleware {
    /// The key of a route's own limit in `Route.userInfo`; without it, the application's default (1 MB).
    static let key = "videotube.maxBodyBytes"

    func respond(to request: Request, chainingTo next: any AsyncResponder) async throws -> Response {
        guard let route = request.route, let declared = request.headers.first(name: .contentLength).flatMap(Int.init) else {
            return try await next.respond(to: request)
        }
        let limit = route.maxBodyBytes(default: request.application.routes.defaultMaxBodySize.value)
        guard declared <= limit else {
            throw Abort(
                .payloadTooLarge,
                reason: "This body is \(Formatting.bytes(Int64(declared))); this address takes at most \(Formatting.bytes(Int64(limit))).")
        }
        return try await next.respond(to: request)
    }
}

extension Route {
    /// Sets the most bytes this route's body may declare (see `BodyLimitMiddleware`); `Int.max` for streamed bodies
    /// whose handler enforces its own limit.
    @discardableResult
    func maxBody(_ bytes: Int) -> Route {
        userInfo[AnySendableHashable(BodyLimitMiddleware.key)] = bytes
        return self
    }

    /// The most bytes this route's body may have: its own limit, else `defaultBytes`.
    func maxBodyBytes(default defaultBytes: Int) -> Int {
        userInfo[AnySendableHashable(BodyLimitMiddleware.key)] as? Int ?? defaultBytes
    }
}
