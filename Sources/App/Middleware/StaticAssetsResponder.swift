import Vapor

/// Answers asset paths from `StaticAssets` ahead of Vapor's router and middleware chain; every other request goes
/// on to `next` (the router and middleware) after one dictionary lookup.
///
/// An asset answer needs none of what the chain does: no route, no session, no body, and of the security headers
/// only `nosniff` (assets are neither pages nor JSON). Skipping the chain skips the route lookup, a Swift task per
/// asynchronous middleware and Vapor's per-route timer, which together cost more than the asset itself. Asset
/// answers are counted in `videotube_static_responses_total` instead. Other methods on an asset get 405 with
/// `Allow` (OPTIONS goes on to the chain, whose CORS middleware answers preflights).
struct StaticAssetsResponder: Responder {
    let assets: StaticAssets
    let metrics: ServerMetrics
    let next: any Responder

    func respond(to request: Request) -> EventLoopFuture<Response> {
        let path = request.rawPath
        guard let response = assets.response(path: path, method: request.method, headers: request.headers) else {
            // (Only other methods than GET and HEAD look again: a page request costs one lookup.)
            guard ![.GET, .HEAD, .OPTIONS].contains(request.method), assets.contains(path) else { return next.respond(to: request) }
            // Another method on a file: 405 naming the ones it answers.
            let refusal = Response(
                status: .methodNotAllowed, headers: ["Allow": "GET, HEAD", "Content-Type": "text/plain; charset=utf-8", "X-Content-Type-Options": "nosniff"],
                body: .init(string: "\(request.method.rawValue) is not answered here; use GET, HEAD.\n"))
            return request.eventLoop.makeSucceededFuture(refusal)
        }
        response.headers.add(name: "X-Content-Type-Options", value: "nosniff")
        metrics.staticServed(status: Int(response.status.code))
        if request.logger.logLevel <= .debug {
            request.logger.debug("\(request.method) \(request.url.path) \(response.status.code) (static asset)")
        }
        return request.eventLoop.makeSucceededFuture(response)
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
