import Crypto
import Fluent
import Media
import Vapor

/// Sends the visitor cookie to a browser that got its first visitor id on this request: only pages with forms
/// for signed-out visitors (sign-in, sign-up) make one, so every other page is the same for everyone signed
/// out and costs no random bytes, HMAC or cookie.
struct VisitorMiddleware: AsyncMiddleware {
    func respond(to request: Request, chainingTo next: any AsyncResponder) async throws -> Response {
        let response = try await next.respond(to: request)
        if let visitor = request.newVisitorID {
            response.cookies[Cookies.visitor] = HTTPCookies.Value(
                string: VisitorCookie.sign(visitor, secret: request.services.config.secret), maxAge: 365 * 86400, path: "/",
                isSecure: request.isHTTPS, isHTTPOnly: true, sameSite: .lax)
        }
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
