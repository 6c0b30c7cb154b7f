import Vapor

/// Refuses (400) a NUL character in a request's path, query or JSON/form body before anything reads it: PostgreSQL
/// text cannot hold one (a query with it fails), SQLite would store it and cut the text there on the way out, and
/// no name, title or message needs it. Multipart fields and tus metadata are checked where they are parsed.
struct NulByteMiddleware: AsyncMiddleware {
    func respond(to request: Request, chainingTo next: any AsyncResponder) async throws -> Response {
        if Self.hasEncodedNul(request.url.path) || Self.hasEncodedNul(request.url.query ?? "") {
            throw Self.refusal
        }
        if let route = request.route, let type = request.headers.contentType, type == .json || type == .urlEncodedForm {
            let limit = route.maxBodyBytes(default: request.application.routes.defaultMaxBodySize.value)
            // Streamed bodies (uploads, limit .max) are never collected here.
            guard limit != .max else { return try await next.respond(to: request) }
            let body = try await request.body.collect(max: limit).get()
            if let body, type == .json ? Self.hasJSONNul(body.readableBytesView) : Self.hasEncodedNul(String(buffer: body)) {
                throw Self.refusal
            }
        }
        return try await next.respond(to: request)
    }

    static let refusal = Abort(.badRequest, reason: "Text may not contain NUL characters (\\u0000, %00).")

    /// `%00` or a raw NUL.
    static func hasEncodedNul(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        if bytes.contains(0) { return true }
        var i = 0
        while i + 2 < bytes.count {
            if bytes[i] == UInt8(ascii: "%"), bytes[i + 1] == UInt8(ascii: "0"), bytes[i + 2] == UInt8(ascii: "0") { return true }
            i += 1
        }
        return false
    }

    /// A raw NUL, or the escape `\u0000` that is not itself escaped (`\\u0000` is a backslash and text).
    static func hasJSONNul<C: Collection>(_ bytes: C) -> Bool where C.Element == UInt8 {
        let b = Array(bytes)
        var i = 0
        while i < b.count {
            if b[i] == 0 { return true }
            if b[i] == UInt8(ascii: "\\"), i + 1 < b.count {
                if b[i + 1] == UInt8(ascii: "u"), i + 5 < b.count, b[i + 2] == 0x30, b[i + 3] == 0x30, b[i + 4] == 0x30, b[i + 5] == 0x30 {
                    return true
                }
                i += 2  // an escape pair: skip what it escapes
                continue
            }
            i += 1
        }
        return false
    }
}
