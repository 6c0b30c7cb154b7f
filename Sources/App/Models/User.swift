import Fluent
import Foundation
import Vapor

/// What a user may do beyond their own things: admins oversee the whole site.
public enum Role: String, Codable, Sendable, CaseIterable {
    case user, admin
}

/// A person with an account: owns channels, subscribes, and signs in with a password.
public final class User: Model, Authenticatable, @unchecked Sendable {
    public static let schema = "users"

    // managed
    @ID(custom: "id", generatedBy: .database) public var id: Int?
    @Field(key: "created_at") public var createdAt: Date

    // data
    /// Unique, lower-case, 3–30 characters of letters, digits, `_`, `.` and `-`.
    @Field(key: "username") public var username: String
    /// Unique, lower-case.
    @Field(key: "email") public var email: String
    /// bcrypt.
    @Field(key: "password_hash") public var passwordHash: String
    @Field(key: "role") public var role: Role
    /// A disabled user cannot sign in, and their sessions and tokens stop working.
    @Field(key: "disabled") public var disabled: Bool
    @OptionalField(key: "last_login_at") public var lastLoginAt: Date?

    @Children(for: \.$owner) public var channels: [Channel]

    public init() {}

    public init(username: String, email: String, passwordHash: String, role: Role = .user, createdAt: Date = Date()) {
        self.username = username
        self.email = email
        self.passwordHash = passwordHash
        self.role = role
        self.disabled = false
        self.createdAt = createdAt
    }

    public var isAdmin: Bool { role == .admin }

    /// Checks and normalises a username; the message says what to change.
    public static func normalizedUsername(_ raw: String) throws(ValidationFailure) -> String {
        let name = raw.trimmingCharacters(in: .whitespaces).lowercased()
        guard (3...30).contains(name.count) else {
            throw ValidationFailure("a username has 3 to 30 characters; '\(raw.prefix(40))' has \(name.count)")
        }
        guard name.unicodeScalars.allSatisfy({ $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "_.-".unicodeScalars.contains($0)) })
        else {
            throw ValidationFailure("a username may use only letters, digits, '_', '.' and '-'")
        }
        return name
    }

    /// Checks and normalises an e-mail address (one `@`, a dot in the domain, no spaces).
    public static func normalizedEmail(_ raw: String) throws(ValidationFailure) -> String {
        let email = raw.trimmingCharacters(in: .whitespaces).lowercased()
        let parts = email.split(separator: "@", omittingEmptySubsequences: false)
        guard email.count <= 254, parts.count == 2, !parts[0].isEmpty, parts[1].contains("."), !parts[1].hasPrefix("."),
            !parts[1].hasSuffix("."), !email.contains(where: { $0.isWhitespace || $0 == "<" || $0 == ">" })
        else {
            throw ValidationFailure("enter an e-mail address such as name@example.com")
        }
        return email
    }
}

