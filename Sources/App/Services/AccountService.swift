import Crypto
import Fluent
import Foundation
import Media
import NIOPosix
import SQLKit
import Vapor

/// Sign-up, sign-in with rate limits, sessions and API tokens. Takes a database, never a request.
public struct AccountService: Sendable {
    public struct Limits: Sendable {
        /// Failed sign-ins per account, and per address, within `window` before 429.
        public var perAccount = 5
        public var perAddress = 20
        public var window: TimeInterval = 15 * 60
        public var sessionLifetime: TimeInterval = 30 * 86400
        public var tokenLifetime: TimeInterval = 90 * 86400
        public init() {}
    }

    public let db: any Database
    public let hasher: PasswordHasher
    public let policy: PasswordPolicy
    public let limits: Limits

    public init(db: any Database, hasher: PasswordHasher, policy: PasswordPolicy, limits: Limits = Limits()) {
        self.db = db
        self.hasher = hasher
        self.policy = policy
        self.limits = limits
    }

    // MARK: accounts

    /// Creates an account after checking every rule; all broken rules are reported together.
    public func signUp(username rawName: String, email rawEmail: String, password: String, role: Role = .user) async throws -> User {
        var problems: [String] = []
        var fields: [String] = []
        var username = "", email = ""
        do { username = try User.normalizedUsername(rawName) } catch {
            problems.append(error.description.capitalizedFirst + ".")
            fields.append("username")
        }
        do { email = try User.normalizedEmail(rawEmail) } catch {
            problems.append(error.description.capitalizedFirst + ".")
            fields.append("email")
        }
        let weak = policy.problems(password: password, username: username.isEmpty ? rawName : username, email: email.isEmpty ? rawEmail : email)
        problems += weak
        if !weak.isEmpty { fields.append("password") }
        if !username.isEmpty, try await User.query(on: db).filter(\.$username == username).first() != nil {
            problems.append("The username '\(username)' is taken; choose another.")
            fields.append("username")
        }
        if !email.isEmpty, try await User.query(on: db).filter(\.$email == email).first() != nil {
            problems.append("An account with this e-mail address exists already; sign in instead.")
            fields.append("email")
        }
        guard problems.isEmpty else { throw ValidationFailure(problems: problems, fields: fields) }
        let user = User(username: username, email: email, passwordHash: try await hasher.hash(password), role: role)
        do {
            try await user.create(on: db)
        } catch let error as any DatabaseError where error.isConstraintFailure {
            throw ValidationFailure("The username or e-mail address was taken a moment ago; choose another.")
        }
        return user
    }

    /// Sets a new password after checking the rules.
    public func setPassword(_ user: User, to password: String) async throws {
        let problems = policy.problems(password: password, username: user.username, email: user.email)
        guard problems.isEmpty else { throw ValidationFailure(problems: problems, fields: ["password"]) }
        user.passwordHash = try await hasher.hash(password)
        try await user.save(on: db)
    }

    /// Checks a username (or e-mail) and password. Every attempt is counted before the password is checked, per
    /// account (whichever spelling named it: username or e-mail) and per address, atomically; past either limit the
    /// answer is 429 until the window ends. A disabled account says so whatever the password, so the answer never
    /// tells whether a guess was right.
    public func authenticate(login: String, password: String, address: String?, now: Date = Date()) async throws -> User {
        let login = String(login.trimmingCharacters(in: .whitespaces).lowercased().prefix(254))
        let user = login.isEmpty ? nil : try await User.query(on: db).group(.or) { $0.filter(\.$username == login).filter(\.$email == login) }.first()
        let account = user?.id.map { "account:\($0)" } ?? "login:" + login
        let throttle = LoginThrottle(db: db, window: limits.window)
        var counted: [(subject: String, limit: Int)] = [(account, limits.perAccount)]
        if let address { counted.append(("addr:" + address, limits.perAddress)) }
        for (subject, limit) in counted {
            let (count, windowEnds) = try await throttle.hit(subject, now: now)
            if count > limit {
                throw AuthFailure.tooManyAttempts(retryAfter: max(1, Int(windowEnds.timeIntervalSince(now).rounded(.up))))
            }
        }
        // Unknown accounts cost the same bcrypt work, so timing does not tell them apart.
        let ok = try await hasher.verify(password, hash: user?.passwordHash ?? hasher.dummyHash)
        guard let user else { throw AuthFailure.wrongCredentials }
        if user.disabled { throw AuthFailure.disabled }
        guard ok else { throw AuthFailure.wrongCredentials }
        try await throttle.reset(account)
        if let address { try await throttle.forgive("addr:" + address) }
        try await throttle.sweep(now: now)
        return user
    }

    // MARK: sessions

    /// Starts a browser session and returns the cookie value. Signing in always makes a new one (the id rotates).
    public func startSession(for user: User, address: String?, userAgent: String?, now: Date = Date()) async throws -> String {
        let token = Secrets.token(prefix: "vts_")
        user.lastLoginAt = now
        try await user.save(on: db)
        try await UserSession(
            userID: try user.requireID(), tokenHash: Secrets.digest(token), expiresAt: now.addingTimeInterval(limits.sessionLifetime),
            remoteAddress: address, userAgent: userAgent, createdAt: now
        ).create(on: db)
        return token
    }

    /// The user of a session cookie, if the session is current and the user is not disabled. One SQLKit join
    /// on every signed-in request (no Fluent model per row). A session used after half its lifetime is extended
    /// (a sliding expiry written at most that often).
    public func session(token: String, now: Date = Date()) async throws -> User? {
        guard token.hasPrefix("vts_"), token.count < 100 else { return nil }
        struct Row: Decodable {
            var session_id: Int
            var expires_at: Date
            var id: Int
            var created_at: Date
            var username: String
            var email: String
            var password_hash: String
            var role: Role
            var disabled: Bool
            var last_login_at: Date?
        }
        let sql = try db.sql()
        guard
            let row = try await sql.raw("""
                SELECT user_sessions.id AS session_id, user_sessions.expires_at, users.id, users.created_at, users.username,
                  users.email, users.password_hash, users.role, users.disabled, users.last_login_at
                FROM user_sessions JOIN users ON users.id = user_sessions.user_id
                WHERE user_sessions.token_hash = \(bind: Secrets.digest(token))
                """).first(decoding: Row.self)
        else { return nil }
        guard row.expires_at > now, !row.disabled else {
            try await sql.delete(from: UserSession.schema).where("id", .equal, row.session_id).run()
            return nil
        }
        if row.expires_at.timeIntervalSince(now) < limits.sessionLifetime / 2 {
            // Bookkeeping, best effort: a full disk must not sign anyone out of reading.
            try? await sql.update(UserSession.schema).set("expires_at", to: now.addingTimeInterval(limits.sessionLifetime))
                .where("id", .equal, row.session_id).run()
        }
        let user = User()
        user.id = row.id
        user.$id.exists = true
        user.createdAt = row.created_at
        user.username = row.username
        user.email = row.email
        user.passwordHash = row.password_hash
        user.role = row.role
        user.disabled = row.disabled
        user.lastLoginAt = row.last_login_at
        return user
    }

    public func endSession(token: String) async throws {
        try await UserSession.query(on: db).filter(\.$tokenHash == Secrets.digest(token)).delete()
    }

    // MARK: API tokens

    /// Issues a bearer token; the plain value is returned once and only its digest is stored.
    public func issueToken(for user: User, name: String = "api", lifetime: TimeInterval? = nil, now: Date = Date()) async throws -> (token: String, record: APIToken) {
        let token = Secrets.token(prefix: "vtt_")
        let record = APIToken(
            userID: try user.requireID(), tokenHash: Secrets.digest(token), name: String(name.prefix(100)),
            expiresAt: now.addingTimeInterval(lifetime ?? limits.tokenLifetime), createdAt: now)
        try await record.create(on: db)
        return (token, record)
    }

    /// The token record and its user, or why it is refused.
    public func bearer(token: String, now: Date = Date()) async throws -> (APIToken, User) {
        guard token.hasPrefix("vtt_"), token.count < 100,
            let record = try await APIToken.query(on: db).filter(\.$tokenHash == Secrets.digest(token)).with(\.$user).first()
        else { throw AuthFailure.tokenUnknown }
        if record.revokedAt != nil { throw AuthFailure.tokenRevoked }
        if record.expiresAt <= now { throw AuthFailure.tokenExpired }
        if record.user.disabled { throw AuthFailure.disabled }
        if record.lastUsedAt.map({ now.timeIntervalSince($0) > 60 }) ?? true {
            record.lastUsedAt = now
            try? await record.save(on: db)  // bookkeeping, best effort: a full disk must not turn reads away
        }
        return (record, record.user)
    }

    public func revoke(_ record: APIToken, now: Date = Date()) async throws {
        record.revokedAt = now
        try await record.save(on: db)
    }

    /// Ends every session and token of a user (when disabled, or on request).
    public func signOutEverywhere(userID: Int, now: Date = Date()) async throws {
        try await UserSession.query(on: db).filter(\.$user.$id == userID).delete()
        try await APIToken.query(on: db).filter(\.$user.$id == userID).filter(\.$revokedAt == nil)
            .set(\.$revokedAt, to: now).update()
    }
}

extension String {
    var capitalizedFirst: String { prefix(1).uppercased() + dropFirst() }
}
