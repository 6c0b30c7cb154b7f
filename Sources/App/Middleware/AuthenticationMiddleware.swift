import Crypto
import Fluent
import Media
import Vapor

/// Reads `Authorization: Bearer` (a bad token is a 401 at once, never treated as anonymous) or the session
/// cookie (an unknown or expired one is cleared).
struct AuthenticationMiddleware: AsyncMiddleware {
    func respond(to request: Request, chainingTo next: any AsyncResponder) async throws -> Response {
        if let authorization = request.headers.first(name: .authorization) {
            let parts = authorization.split(separator: " ", maxSplits: 1)
            guard parts.count == 2, parts[0].lowercased() == "bearer" else {
                throw Abort(.unauthorized, headers: ["WWW-Authenticate": "Bearer realm=\"videotube\""],
                            reason: "Authorization must be 'Bearer TOKEN'; get a token from POST /api/v1/auth/token.")
            }
            let (record, user) = try await request.accounts.bearer(token: String(parts[1]).trimmingCharacters(in: .whitespaces))
            request.viewer = Viewer(user: user, method: .bearer(record))
            return try await next.respond(to: request)
        }
        var clear = false
        if let token = request.cookies[Cookies.session]?.string {
            if let user = try await request.accounts.session(token: token) {
                request.viewer = Viewer(user: user, method: .session(token: token))
            } else {
                clear = true
            }
        }
        let response = try await next.respond(to: request)
        if clear, response.cookies[Cookies.session] == nil { response.cookies[Cookies.session] = .expired }
        return response
    }
}

