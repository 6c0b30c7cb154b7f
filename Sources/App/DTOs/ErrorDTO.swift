import Vapor

/// `{"error": {"code": "not_found", "message": "…"}}`, the one error shape of every JSON route.
struct ErrorDTO: Content {
    struct Detail: Content {
        var code: String
        var message: String
        /// The request fields at fault, when the error is about some (422).
        var fields: [String]? = nil
    }
    var error: Detail

    static func code(for status: HTTPResponseStatus) -> String {
        switch status.code {
        case 400: "bad_request"
        case 401: "unauthorized"
        case 403: "forbidden"
        case 404: "not_found"
        case 405: "method_not_allowed"
        case 409: "conflict"
        case 412: "precondition_failed"
        case 413: "payload_too_large"
        case 415: "unsupported_media_type"
        case 416: "range_not_satisfiable"
        case 422: "unprocessable"
        case 429: "too_many_requests"
        case 503: "service_unavailable"
        case 507: "insufficient_storage"
        default: status.code >= 500 ? "internal_error" : "error"
        }
    }
}
