import Crypto
import Fluent
import Foundation
import Media
import NIOPosix
import Vapor

/// Why a sign-in or a credential was refused. Messages never say whether an account exists.
public enum AuthFailure: Error, Equatable {
    case wrongCredentials
    case disabled
    case tooManyAttempts(retryAfter: Int)
    case tokenUnknown, tokenExpired, tokenRevoked
}

extension AuthFailure: AbortError {
    public var status: HTTPResponseStatus {
        switch self {
        case .wrongCredentials, .tokenUnknown, .tokenExpired, .tokenRevoked: .unauthorized
        case .disabled: .forbidden
        case .tooManyAttempts: .tooManyRequests
        }
    }

    public var reason: String {
        switch self {
        case .wrongCredentials: "Wrong username or password."
        case .disabled: "This account has been disabled by an administrator."
        case .tooManyAttempts(let seconds):
            "Too many sign-in attempts. Wait \(Formatting.waitText(seconds: seconds)) and try again."
        case .tokenUnknown: "This API token is not valid; create one with POST /api/v1/auth/token."
        case .tokenExpired: "This API token has expired; create a new one with POST /api/v1/auth/token."
        case .tokenRevoked: "This API token was revoked; create a new one with POST /api/v1/auth/token."
        }
    }

    public var headers: HTTPHeaders {
        switch self {
        case .tooManyAttempts(let seconds): ["Retry-After": "\(seconds)"]
        case .tokenUnknown, .tokenExpired, .tokenRevoked: ["WWW-Authenticate": "Bearer error=\"invalid_token\""]
        default: [:]
        }
    }
}
