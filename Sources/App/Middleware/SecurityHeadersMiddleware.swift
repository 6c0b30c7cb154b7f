import Media
import NIOConcurrencyHelpers
import Vapor

/// Headers that keep every response, error pages included (this runs outside the error middleware), from being
/// sniffed, framed or cached by a shared cache, and pages from running any script but the site's own files.
struct SecurityHeadersMiddleware: AsyncMiddleware {
    /// The policy for each media origin seen (one, or a few behind proxies), made once each.
    private let policies = NIOLockedValueBox<[String: String]>([:])

    func respond(to request: Request, chainingTo next: any AsyncResponder) async throws -> Response {
        let response = try await next.respond(to: request)
        response.headers.replaceOrAdd(name: "X-Content-Type-Options", value: "nosniff")
        // The raw header, not `headers.contentType`, which parses every parameter on each call.
        let type = response.headers.first(name: .contentType) ?? ""
        let isHTML = type.hasPrefix("text/html")
        if isHTML {
            response.headers.replaceOrAdd(name: "X-Frame-Options", value: "DENY")
            response.headers.replaceOrAdd(name: "Referrer-Policy", value: "same-origin")
            // Objects in a bucket are fetched from the bucket's own origin (presigned redirects).
            let store = (request.services.storage as? S3Storage)?.client.origin
            response.headers.replaceOrAdd(
                name: "Content-Security-Policy", value: policy(media: store.map { request.mediaLinks.base + " " + $0 } ?? request.mediaLinks.base))
        }
        // Pages and JSON hold per-user data and absolute URLs: no shared cache may keep them.
        if (isHTML || type.hasPrefix("application/json")) && !response.headers.contains(name: .cacheControl) {
            response.headers.replaceOrAdd(name: .cacheControl, value: "private, no-cache")
        }
        return response
    }

    private func policy(media: String) -> String {
        if let known = policies.withLockedValue({ $0[media] }) { return known }
        let made = Self.policy(media: media)
        policies.withLockedValue { if $0.count < 64 { $0[media] = made } }
        return made
    }

    /// Scripts and styles from this site only (no inline script, no eval); pictures and video also from the
    /// media listener; no plugins, no framing, forms post only here.
    static func policy(media: String) -> String {
        [
            "default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data: \(media)",
            "media-src 'self' blob: \(media)", "connect-src 'self' \(media)", "object-src 'none'", "base-uri 'self'",
            "form-action 'self'", "frame-ancestors 'none'",
        ].joined(separator: "; ")
    }
}
