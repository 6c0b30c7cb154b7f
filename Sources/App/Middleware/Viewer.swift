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

    private struct NewVisitorKey: Vapor.StorageKey { typealias Value = String }

    /// This browser's visitor id, from its cookie. Only a cookie this server signed counts, so a made-up one is no
    /// visitor at all.
    var visitorID: String? {
        storage[NewVisitorKey.self] ?? (cookies[Cookies.visitor]?.string).flatMap { VisitorCookie.verify($0, secret: services.config.secret) }
    }

    /// The id given to this browser on this request (`VisitorMiddleware` sends its cookie).
    var newVisitorID: String? { storage[NewVisitorKey.self] }

    /// This browser's visitor id, made now if it has none: a page whose forms a signed-out visitor may post calls
    /// this (through its frame), and its CSRF token is bound to the id.
    func visitorForForms() -> String {
        if let visitor = visitorID { return visitor }
        let visitor = String(Secrets.token(prefix: "").prefix(32))
        storage[NewVisitorKey.self] = visitor
        return visitor
    }

    /// The CSRF token forms on this page carry: an HMAC of the session (or, signed out, the visitor id), so
    /// it needs no storage and every app node computes the same one.
    var csrfToken: String {
        let binding: String
        if case .session(let token)? = viewer?.method {
            binding = "session:" + token
        } else {
            binding = "visitor:" + visitorForForms()
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
}

/// Thrown where a signed-in user is needed: API callers get 401, browsers are sent to the sign-in page.
struct LoginRequired: AbortError {
    var status: HTTPResponseStatus { .unauthorized }
    var reason: String { "Sign in first: send Authorization: Bearer TOKEN (from POST /api/v1/auth/token) or use the sign-in page." }
    var headers: HTTPHeaders { ["WWW-Authenticate": "Bearer realm=\"videotube\""] }
}
