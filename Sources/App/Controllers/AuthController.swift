import Fluent
import Vapor

/// Sign-up, sign-in and sign-out: the pages (cookie sessions) and the API (bearer tokens).
struct AuthController {
    struct SignUpForm: Content {
        var username: String?
        var email: String?
        var password: String?
        var next: String?
        var subscribe: Int?
    }

    struct LoginForm: Content {
        var username: String?
        var password: String?
        var next: String?
        var subscribe: Int?
        /// Names the token in `GET /api/v1/me`; optional.
        var name: String?
    }

    // MARK: pages

    /// GET /signup
    func signUpPage(req: Request) async throws -> Response {
        if req.user != nil { return req.redirect(to: SiteURL.studio.path) }
        req.offerFormsToVisitors()
        var page = AuthPage(.signUp, next: Self.safeNext(req.query["next"]))
        page.subscribe = req.query[Int.self, at: "subscribe"]
        return try await req.render("signup", page).encodeResponse(for: req)
    }

    /// POST /signup
    func signUp(req: Request) async throws -> Response {
        let form = try req.content.decode(SignUpForm.self)
        let next = Self.safeNext(form.next)
        do {
            let user = try await req.accounts.signUp(username: form.username ?? "", email: form.email ?? "", password: form.password ?? "")
            let subscribed = try await finishSubscription(req, user: user, channelID: form.subscribe)
            return try await startSession(req, user: user, next: next ?? SiteURL.studio.path, notice: subscribed ? .subscribed : .signedUp)
        } catch let failure as ValidationFailure {
            var page = AuthPage(.signUp, next: next)
            page.subscribe = form.subscribe
            page.username = form.username ?? ""
            page.email = form.email ?? ""
            page.errors = failure.problems
            req.offerFormsToVisitors()
            return try await req.render("signup", page, status: .badRequest)
        }
    }

    /// GET /login
    func loginPage(req: Request) async throws -> Response {
        if req.user != nil { return req.redirect(to: Self.safeNext(req.query["next"]) ?? "/") }
        req.offerFormsToVisitors()
        var page = AuthPage(.signIn, next: Self.safeNext(req.query["next"]))
        page.subscribe = req.query[Int.self, at: "subscribe"]
        return try await req.render("login", page).encodeResponse(for: req)
    }

    /// POST /login
    func login(req: Request) async throws -> Response {
        let form = try req.content.decode(LoginForm.self)
        let next = Self.safeNext(form.next)
        do {
            let user = try await req.accounts.authenticate(
                login: form.username ?? "", password: form.password ?? "", address: req.clientAddress)
            let subscribed = try await finishSubscription(req, user: user, channelID: form.subscribe)
            return try await startSession(req, user: user, next: next ?? "/", notice: subscribed ? .subscribed : .signedIn)
        } catch let failure as AuthFailure {
            var page = AuthPage(.signIn, next: next)
            page.subscribe = form.subscribe
            page.username = form.username ?? ""
            page.errors = [failure.reason]
            req.offerFormsToVisitors()
            let response = try await req.render("login", page, status: failure.status)
            response.headers.add(contentsOf: failure.headers)
            return response
        }
    }

    /// POST /logout
    func logout(req: Request) async throws -> Response {
        if case .session(let token)? = req.viewer?.method { try await req.accounts.endSession(token: token) }
        let response = req.redirectAfterForm(to: "/", notice: .signedOut)
        response.cookies[Cookies.session] = .expired
        return response
    }

    /// A new session for `user`, replacing whatever session cookie the browser had (the id rotates at sign-in).
    private func startSession(_ req: Request, user: User, next: String, notice: Notice) async throws -> Response {
        if let old = req.cookies[Cookies.session]?.string { try await req.accounts.endSession(token: old) }
        let token = try await req.accounts.startSession(
            for: user, address: req.clientAddress, userAgent: req.headers.first(name: .userAgent))
        let response = req.redirectAfterForm(to: next, notice: notice)
        response.cookies[Cookies.session] = HTTPCookies.Value(
            string: token, maxAge: req.services.config.sessionDays * 86400, path: "/", isSecure: req.isHTTPS,
            isHTTPOnly: true, sameSite: .lax)
        return response
    }

    /// Subscribes `user` to the channel they pressed Subscribe on before signing in (the sign-in form, which needs
    /// the password and a CSRF token, carries it: a link alone subscribes nobody). False when there is none.
    private func finishSubscription(_ req: Request, user: User, channelID: Int?) async throws -> Bool {
        guard let channelID, channelID > 0, try await req.catalog.channel(id: channelID) != nil else { return false }
        try await req.subscriptions.subscribe(userID: user.requireID(), channelID: channelID)
        return true
    }

    /// The sign-up page, coming back to `path` afterwards.
    static func signupURL(next path: String) -> String {
        SiteURL.signup.path + "?next=" + (path.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "/")
    }

    /// The sign-in page, coming back to `path` afterwards.
    static func loginURL(next path: String) -> String {
        SiteURL.login.path + "?next=" + (path.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "/")
    }

    /// Only paths on this site, so a crafted link cannot bounce a fresh sign-in to another site. Browsers drop tabs
    /// and newlines from URLs and read `\\` as `/`, so `/\t/evil.example` would become `//evil.example`: any
    /// control character, backslash or space refuses it, and what is left must start with one `/`.
    static func safeNext(_ raw: String?) -> String? {
        guard let raw, raw.utf8.count < 500, raw.hasPrefix("/"), !raw.hasPrefix("//"),
            !raw.unicodeScalars.contains(where: { $0.value < 0x21 || $0.value == 0x7F || $0 == "\\" || $0.properties.isWhitespace }),
            let parsed = URLComponents(string: raw), parsed.scheme == nil, parsed.host == nil, parsed.path.hasPrefix("/"),
            !parsed.path.hasPrefix("//")
        else { return nil }
        return raw
    }

    // MARK: API

    /// POST /api/v1/auth/signup
    func apiSignUp(req: Request) async throws -> Response {
        let form = try req.content.decode(SignUpForm.self)
        let user = try await req.accounts.signUp(username: form.username ?? "", email: form.email ?? "", password: form.password ?? "")
        return try await req.created(
            UserDTO(user, channels: [], links: req.mediaLinks, site: req.siteBase, withEmail: true), location: "/api/v1/me")
    }

    /// POST /api/v1/auth/token — `{"username", "password"}` → `{"token", "expires_at"}`.
    func issueToken(req: Request) async throws -> TokenDTO {
        let form = try req.content.decode(LoginForm.self)
        guard let username = form.username, let password = form.password else {
            throw Abort(.badRequest, reason: "Send JSON {\"username\": …, \"password\": …}.")
        }
        let user = try await req.accounts.authenticate(login: username, password: password, address: req.clientAddress)
        let (token, record) = try await req.accounts.issueToken(for: user, name: form.name ?? req.headers.first(name: .userAgent) ?? "api")
        return TokenDTO(token: token, expires_at: record.expiresAt, token_type: "Bearer")
    }

    /// DELETE /api/v1/auth/token — revokes the token this request was made with.
    func revokeToken(req: Request) async throws -> HTTPStatus {
        guard case .bearer(let record)? = req.viewer?.method else {
            throw Abort(.badRequest, reason: "Send the token to revoke as Authorization: Bearer TOKEN.")
        }
        try await req.accounts.revoke(record)
        return .noContent
    }

    /// GET /api/v1/me
    func me(req: Request) async throws -> UserDTO {
        let user = try req.requireUser()
        let channels = try await req.catalog.channels(ownedBy: user.requireID())
        return try UserDTO(user, channels: channels, links: req.mediaLinks, site: req.siteBase, withEmail: true)
    }
}
