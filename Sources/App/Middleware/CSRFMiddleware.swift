import Crypto
import Fluent
import Media
import Vapor

/// Refuses state-changing requests that ride on the browser's cookies without the page's CSRF token
/// (`X-CSRF-Token` header, or a `_csrf` form field). Bearer-token requests carry no ambient authority and
/// need none; neither do API calls that send no session cookie. A form body is read only for a route that
/// exists, and only so far: text forms are small, and only a signed-in user's picture forms carry files.
struct CSRFMiddleware: AsyncMiddleware {
    static let textFormLimit = 64 << 10
    static let fileFormLimit = 10 << 20

    func respond(to request: Request, chainingTo next: any AsyncResponder) async throws -> Response {
        switch request.method {
        case .GET, .HEAD, .OPTIONS: return try await next.respond(to: request)
        default: break
        }
        // An unknown path answers 404 without a byte of its body read.
        guard request.route != nil else { return try await next.respond(to: request) }
        if case .bearer? = request.viewer?.method { return try await next.respond(to: request) }
        let isAPI = request.url.path.hasPrefix("/api/")
        if isAPI && request.cookies[Cookies.session] == nil { return try await next.respond(to: request) }
        if request.viewer == nil && request.visitorID == nil {
            throw Abort(.forbidden, reason: "This form needs cookies: allow cookies for this site, reload the page and try again.")
        }
        let expected = request.csrfToken
        var provided = request.headers.first(name: "X-CSRF-Token")
        if provided == nil, !isAPI, let type = request.headers.contentType,
            type == .urlEncodedForm || type.type == "multipart" && type.subType == "form-data"
        {
            let limit = type == .urlEncodedForm || request.viewer == nil ? Self.textFormLimit : Self.fileFormLimit
            _ = try await request.body.collect(max: limit).get()
            provided = try? request.content.get(String.self, at: "_csrf")
        }
        guard let provided, Self.equal(provided, expected) else {
            throw Abort(.forbidden, reason: "This form has expired or came from another site. Reload the page and try again.")
        }
        return try await next.respond(to: request)
    }

    /// Constant-time comparison.
    static func equal(_ a: String, _ b: String) -> Bool {
        URLSigner.constantTimeEqual(Array(a.utf8), Array(b.utf8))
    }
}
