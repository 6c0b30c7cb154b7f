import Vapor

/// Answers asset paths from `StaticAssets` before anything else looks at the request (no session lookup, no
/// route); every other request costs one dictionary lookup.
struct StaticAssetsMiddleware: AsyncMiddleware {
    let assets: StaticAssets

    func respond(to request: Request, chainingTo next: any AsyncResponder) async throws -> Response {
        if let response = assets.response(path: request.url.path, method: request.method, headers: request.headers) {
            return response
        }
        return try await next.respond(to: request)
    }
}
