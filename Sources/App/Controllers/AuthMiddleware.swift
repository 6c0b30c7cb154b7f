import Crypto
import Fluent
import Media
import Vapor

/// Who is asking, and how they proved it.
struct Viewer: Sendable {
    enum Method: Sendable {
        /// A browser session cookie (its plain token, which CSRF tokens are bound to).
        case session(token: String)
        /// An `Authorization: Bearer` API token.
        case bearer(APIToken)
    }
    let user: User
    let method: Method
}

enum Cookies {
    static let session = "vt_session"
    /// A random id for every browser, signed in or not: anonymous view counting and CSRF before sign-in.
    static let visitor = "vt_visitor"
}

extension Request {
    private struct ViewerKey: Vapor.StorageKey { typealias Value = Viewer }
    private struct VisitorKey: Vapor.StorageKey { typealias Value = String }

    /// The signed-in user, if any.
    var viewer: Viewer? {
        get { storage[ViewerKey.self] }
        set { storage[ViewerKey.self] = newValue }
    }
    var user: User? { viewer?.user }

    /// The signed-in user, or 401 (the error middleware sends browsers to the sign-in page instead).
    func requireUser() throws -> User {
        guard let user else { throw LoginRequired() }
        return user
    }

    func requireAdmin() throws -> User {
        let user = try requireUser()
        guard user.isAdmin else { throw Abort(.forbidden, reason: "Only administrators can do this.") }
        return user
    }

    /// This browser's visitor id (made by `VisitorMiddleware` when it had none). Only a cookie this server signed
    /// counts, so a made-up one is no visitor at all.
    var visitorID: String? {
        get { storage[VisitorKey.self] ?? (cookies[Cookies.visitor]?.string).flatMap { VisitorCookie.verify($0, secret: services.config.secret) } }
        set { storage[VisitorKey.self] = newValue }
    }

    /// The CSRF token forms on this page carry: an HMAC of the session (or, signed out, the visitor id), so
    /// it needs no storage and every app node computes the same one.
    var csrfToken: String {
        let binding: String
        if case .session(let token)? = viewer?.method {
            binding = "session:" + token
        } else {
            binding = "visitor:" + (visitorID ?? "")
        }
        let mac = HMAC<SHA256>.authenticationCode(for: Data(("csrf|" + binding).utf8), using: SymmetricKey(data: services.config.secret))
        return URLSigner.base64URL(Array(mac))
    }

    /// Who counts as one viewer of a live stream: the user, else the browser, else the address and user agent.
    var viewerKey: String {
        if let id = user?.id { return "user:\(id)" }
        if let visitor = visitorID { return "visitor:" + Secrets.digest(visitor).prefix(32) }
        let who = (clientAddress ?? "") + "|" + (headers.first(name: .userAgent) ?? "")
        return "addr:" + Secrets.digest(who).prefix(32)
    }

    /// Who counts once toward a video's views: the user, else the client's address. A cookie costs nothing to
    /// throw away, so anonymous views are counted per address (one an hour per video, as signed-in ones per user).
    var viewCountKey: String {
        if let id = user?.id { return "user:\(id)" }
        return "addr:" + Secrets.digest(clientAddress ?? "").prefix(32)
    }

    /// `https` when the request came over TLS through a proxy that says so.
    var isHTTPS: Bool { headers.first(name: "X-Forwarded-Proto")?.lowercased() == "https" }

    var accounts: AccountService { services.accounts(on: db) }
}

/// Thrown where a signed-in user is needed: API callers get 401, browsers are sent to the sign-in page.
struct LoginRequired: AbortError {
    var status: HTTPResponseStatus { .unauthorized }
    var reason: String { "Sign in first: send Authorization: Bearer TOKEN (from POST /api/v1/auth/token) or use the sign-in page." }
    var headers: HTTPHeaders { ["WWW-Authenticate": "Bearer realm=\"videotube\""] }
}

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
            if let (_, user) = try await request.accounts.session(token: token) {
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

/// Gives every browser a visitor cookie on its first page, so anonymous views count once and sign-in forms
/// can carry a CSRF token.
struct VisitorMiddleware: AsyncMiddleware {
    func respond(to request: Request, chainingTo next: any AsyncResponder) async throws -> Response {
        guard request.visitorID == nil, request.method == .GET, !request.url.path.hasPrefix("/api/") else {
            return try await next.respond(to: request)
        }
        let visitor = String(Secrets.token(prefix: "").prefix(32))
        request.visitorID = visitor
        let response = try await next.respond(to: request)
        response.cookies[Cookies.visitor] = HTTPCookies.Value(
            string: VisitorCookie.sign(visitor, secret: request.services.config.secret), maxAge: 365 * 86400, path: "/",
            isSecure: request.isHTTPS, isHTTPOnly: true, sameSite: .lax)
        return response
    }
}

/// A visitor id and its HMAC (`ID.MAC`), so the cookie proves this server made it.
enum VisitorCookie {
    static func sign(_ id: String, secret: [UInt8]) -> String { id + "." + mac(id, secret: secret) }

    /// The id of a cookie value this server signed; nil for anything else.
    static func verify(_ value: String, secret: [UInt8]) -> String? {
        let parts = value.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, (20...64).contains(parts[0].count),
            parts[0].allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }),
            CSRFMiddleware.equal(String(parts[1]), mac(String(parts[0]), secret: secret))
        else { return nil }
        return String(parts[0])
    }

    private static func mac(_ id: String, secret: [UInt8]) -> String {
        let code = HMAC<SHA256>.authenticationCode(for: Data(("visitor|" + id).utf8), using: SymmetricKey(data: secret))
        return String(URLSigner.base64URL(Array(code)).prefix(22))
    }
}

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
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        return zip(x, y).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
    }
}
