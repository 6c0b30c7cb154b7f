import FluentPostgresDriver
import FluentSQLiteDriver
import Media
import Vapor

/// Turns every error into a clear answer: JSON `{"error": {"code", "message"}}` for the API, the reference JSON
/// routes and the byte routes, an HTML page otherwise. Unexpected errors are logged and shown without detail,
/// so no stack trace or file path ever reaches a client.
struct ErrorRenderingMiddleware: AsyncMiddleware {
    static let jsonPrefixes = ["/api/", "/all_videos", "/video_metadata/", "/videos_by_channel_id/", "/all_channels", "/channel/", "/videos/", "/video_stream/"]

    func respond(to request: Request, chainingTo next: any AsyncResponder) async throws -> Response {
        do {
            if let allowed = request.services.allowedMethods.refusing(request.method, path: request.url.path) {
                throw Abort(.methodNotAllowed, headers: ["Allow": allowed.joined(separator: ", ")],
                    reason: "\(request.method.rawValue) is not answered here; use \(allowed.joined(separator: ", ")).")
            }
            return try await next.respond(to: request)
        } catch {
            return await render(error, for: request)
        }
    }

    func render(_ error: any Error, for request: Request) async -> Response {
        let status: HTTPResponseStatus
        let message: String
        var headers = HTTPHeaders()
        var fields: [String]?
        let path = request.url.path
        let wantsJSON = Self.jsonPrefixes.contains { path.hasPrefix($0) }
            // Live HLS files (`/live/HANDLE/FILE`) are asked for by players, not people; the live page itself is HTML.
            || (path.hasPrefix("/live/") && path.dropFirst(6).contains("/"))
            || (request.headers.first(name: .accept)?.contains("application/json") ?? false)
        let allowed = error is RouteNotFound ? request.services.allowedMethods.methods(for: request.url.path) : []
        switch error {
        case is RouteNotFound where !allowed.isEmpty:
            // A known address asked with a method it does not answer.
            status = .methodNotAllowed
            message = "\(request.method.rawValue) is not answered here; use \(allowed.joined(separator: ", "))."
            headers.replaceOrAdd(name: .allow, value: allowed.joined(separator: ", "))
        case let decoding as DecodingError where wantsJSON && Self.field(of: decoding) != nil:
            // The body parsed, but a field is of the wrong type or missing: what the schema forbids, named (422).
            status = .unprocessableEntity
            message = decoding.reason
            fields = [Self.field(of: decoding)!]
        case let abort as any AbortError:
            status = abort.status
            message = abort.status == .notFound && abort.reason == "Not Found"
                ? "Nothing is here: check the address." : abort.reason
            headers = abort.headers
        case let failure as ValidationFailure:
            // Well-formed, but a value breaks a rule: 422 naming the fields in the API; a form page shows 400.
            status = wantsJSON ? .unprocessableEntity : .badRequest
            message = failure.description
            fields = failure.fields.isEmpty ? nil : failure.fields
        case _ where Self.referencesSomethingGone(error):
            // A row written for something deleted meanwhile (a moderation entry for a channel being removed).
            status = .notFound
            message = "It no longer exists: it was deleted meanwhile."
        case let fluent as FluentError where Self.isGone(fluent):
            // Deleted while this request was using it (a channel removed under a video being edited).
            status = .notFound
            message = "It no longer exists: it was deleted meanwhile."
        case _ where Self.isOutOfSpace(error):
            // The disk is full: nothing of this request was kept (the writer removes what it began).
            status = .insufficientStorage
            message = "The server has no space left to store this; try again later, or ask its operator to free some."
        case is S3Error:
            // The object store refused or did not answer; what the request had not finished is not acknowledged.
            status = .serviceUnavailable
            message = "Media storage is unavailable for a moment; try again shortly."
            headers.replaceOrAdd(name: .retryAfter, value: "5")
        case _ where Self.isDatabaseOutage(error):
            // The database is down or restarting: a clear, retryable answer (load balancers and clients know 503),
            // while the pool reconnects by itself.
            status = .serviceUnavailable
            message = "The database is unavailable for a moment; try again shortly."
            headers.replaceOrAdd(name: .retryAfter, value: "5")
        default:
            status = .internalServerError
            message = "Something went wrong on our side; try again in a moment."
        }
        if status == .serviceUnavailable || status == .insufficientStorage {
            request.logger.warning("\(request.method) \(request.url.path): unavailable (\(String(describing: error).prefix(300)))")
        } else if status.code >= 500 {
            request.logger.error("\(request.method) \(request.url.path): \(String(reflecting: error))")
        }
        if !wantsJSON, error is LoginRequired {
            // A browser on a page that needs an account goes to the sign-in page and comes back afterwards.
            let back = request.method == .GET ? request.url.string : "/"
            return request.redirect(to: AuthController.loginURL(next: back))
        }
        if wantsJSON {
            let body = ErrorDTO(error: .init(code: ErrorDTO.code(for: status), message: message, fields: fields))
            let response = Response(status: status, headers: headers)
            try? response.content.encode(body)
            return response
        }
        let page = ErrorPage(status: Int(status.code), title: status.code == 404 ? "Not Found" : status.reasonPhrase, message: message)
        do {
            let response = try await request.render("error", page).encodeResponse(for: request)
            response.status = status
            for (name, value) in headers { response.headers.replaceOrAdd(name: name, value: value) }
            return response
        } catch {
            headers.replaceOrAdd(name: .contentType, value: "text/plain; charset=utf-8")
            return Response(status: status, headers: headers, body: .init(string: "\(status.code) \(message)\n"))
        }
    }
}

extension ErrorRenderingMiddleware {
    /// The dotted path of the field a decoding error is about (`links.2`); nil when the body did not parse at all.
    static func field(of error: DecodingError) -> String? {
        let path: [any CodingKey]
        switch error {
        case .typeMismatch(_, let context), .valueNotFound(_, let context): path = context.codingPath
        case .keyNotFound(let key, let context): path = context.codingPath + [key]
        case .dataCorrupted(let context): path = context.codingPath
        @unknown default: return nil
        }
        guard !path.isEmpty else { return nil }
        return path.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
    }

    /// A foreign-key violation: the row written names a parent that another request deleted a moment ago.
    static func referencesSomethingGone(_ error: any Error) -> Bool {
        if let psql = error as? PSQLError, case .server = psql.code { return psql.serverInfo?[.sqlState] == "23503" }
        if let sqlite = error as? SQLiteError {
            switch sqlite.reason {
            case .constraintForeignKeyFailed: return true
            case .constraint: return sqlite.message.contains("FOREIGN KEY")
            default: return false
            }
        }
        return false
    }

    static func isGone(_ error: FluentError) -> Bool {
        switch error {
        case .missingParent, .noResults: true
        default: false
        }
    }

    /// A write that failed because the file system is full (ENOSPC, or Foundation's out-of-space error over it).
    static func isOutOfSpace(_ error: any Error) -> Bool {
        var current: NSError? = error as NSError
        while let e = current {
            if e.domain == NSPOSIXErrorDomain && e.code == Int(ENOSPC) { return true }
            if e.domain == NSCocoaErrorDomain && e.code == NSFileWriteOutOfSpaceError { return true }
            current = e.userInfo[NSUnderlyingErrorKey] as? NSError
        }
        if let io = error as? IOError, io.errnoCode == ENOSPC { return true }
        if let sqlite = error as? SQLiteError, case .full = sqlite.reason { return true }
        return false
    }

    /// Errors that mean "no database right now" rather than a bug: PostgreSQL refusing or dropping connections,
    /// or shutting down (SQLSTATE classes 08 connection exception and 57 operator intervention).
    static func isDatabaseOutage(_ error: any Error) -> Bool {
        guard let psql = error as? PSQLError else { return false }
        switch psql.code {
        case .connectionError, .serverClosedConnection, .uncleanShutdown, .poolClosed, .clientClosedConnection: return true
        case .server:
            let state = psql.serverInfo?[.sqlState] ?? ""
            return state.hasPrefix("08") || state.hasPrefix("57")
        default: return false
        }
    }
}
