import Vapor

/// Answers asset paths from `StaticAssets` before anything else looks at the request (no session lookup, no
/// route); every other request costs one dictionary lookup.
struct StaticAssetsMiddleware: AsyncMiddleware {
    let assets: StaticAssets

    func respond(to request: Request, chainingTo next: any AsyncResponder) async throws -> Response {
        if let response = assets.response(path: request.rawPath, method: request.method, headers: request.headers) {
            return response
        }
        return try await next.respond(to: request)
    }
}

extension Request {
    /// The path as the client sent it, without the query and not percent-decoded: for cheap prefix and table
    /// checks before routing (`url.path` decodes on every call).
    var rawPath: String {
        let target = url.string
        guard target.hasPrefix("/") else { return url.path }
        guard let query = target.utf8.firstIndex(of: UInt8(ascii: "?")) else { return target }
        return String(target[..<query])
    }
}
