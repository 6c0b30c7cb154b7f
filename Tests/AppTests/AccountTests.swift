@testable import App
import Fluent
import Foundation
import Testing
import VaporTesting

@Suite("Accounts: sign-up, sign-in, sessions, tokens, CSRF, rate limits", .serialized)
struct AccountTests {
    @Test("Sign-up through the page starts a rotated HttpOnly session") func signUpThroughThePageStartsARotatedHttpOnlySession() async throws {
        try await withApp { app in
            // given a browser that has a session cookie from before (someone else's, or stale)
            let browser = Browser(app)
            try await browser.get("/signup")
            #expect(browser.cookies["vt_visitor"] != nil)
            browser.cookies["vt_session"] = "vts_stale"
            try await browser.get("/signup")
            #expect(browser.cookies["vt_session"] == nil, "an unknown session cookie is cleared")
            // when signing up
            let page = try await browser.post("/signup", ["username": "Alice", "email": "alice@example.com", "password": Accounts.password])
            // then the browser is sent to the studio with a fresh HttpOnly, SameSite=Lax session cookie
            #expect(page.status == .seeOther)
            #expect(page.headers.first(name: .location) == "/studio?notice=signed-up")
            let cookie = try #require(page.headers[.setCookie].first { $0.hasPrefix("vt_session=") })
            #expect(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && !cookie.contains("Secure"))
            let studio = try await browser.get("/studio")
            #expect(studio.status == .ok && studio.body.contains("alice"))
            // and signing in again rotates the session id; the old one stops working
            let first = try #require(browser.cookies["vt_session"])
            try await browser.post("/logout")
            #expect(browser.cookies["vt_session"] == nil)
            try await browser.signIn("alice")
            let second = try #require(browser.cookies["vt_session"])
            #expect(first != second)
            let stale = Browser(app)
            stale.cookies["vt_session"] = first
            #expect(try await stale.get("/studio").status == .seeOther)
        }
    }

    @Test("Secure cookie behind HTTPS") func secureCookieBehindHTTPS() async throws {
        try await withApp { app in
            try await Accounts.user(app, "carol")
            let browser = Browser(app)
            try await browser.get("/login", headers: ["X-Forwarded-Proto": "https"])
            let page = try await browser.post("/login", ["username": "carol", "password": Accounts.password], headers: ["X-Forwarded-Proto": "https"])
            let cookie = try #require(page.headers[.setCookie].first { $0.hasPrefix("vt_session=") })
            #expect(cookie.contains("Secure"))
        }
    }

    @Test("Weak passwords are refused with the rule that failed") func weakPasswordsAreRefusedWithTheRuleThatFailed() async throws {
        try await withApp { app in
            let cases: [(String, String)] = [
                ("short1", "This password is too short. It must contain at least 8 characters."),
                ("password123", "This password is too common."),
                ("8675309912345", "This password is entirely numeric."),
                ("Daniel.Smith1", "The password is too similar to the username."),
            ]
            for (password, message) in cases {
                let browser = Browser(app)
                try await browser.get("/signup")
                let page = try await browser.post("/signup", ["username": "daniel.smith", "email": "dan@example.com", "password": password])
                #expect(page.status == .badRequest, "\(password)")
                #expect(page.body.contains(message), "\(password) should fail with: \(message)")
                #expect(!page.body.contains(password), "the password is never echoed back")
                // Screen readers hear the errors with the fields they concern.
                #expect(page.body.contains(#"id="form-errors""#) && page.body.contains(#"aria-invalid="true" aria-describedby="form-errors" type="password""#))
            }
            // the API says the same in JSON, and nothing was created
            let result = try await api(app, .POST, "/api/v1/auth/signup", json: ["username": "erin", "email": "erin@example.com", "password": "12345678"])
            #expect(result.status == .unprocessableEntity)
            let message = (result.json["error"] as? [String: Any])?["message"] as? String ?? ""
            #expect(message.contains("too common") && message.contains("entirely numeric"))
            #expect((result.json["error"] as? [String: Any])?["fields"] as? [String] == ["password"])
            #expect(try await User.query(on: app.db).count() == 0)
        }
    }

    @Test("Duplicate username or email is refused") func duplicateUsernameOrEmailIsRefused() async throws {
        try await withApp { app in
            try await Accounts.user(app, "frank")
            let taken = try await api(app, .POST, "/api/v1/auth/signup", json: ["username": "FRANK", "email": "other@example.com", "password": Accounts.password])
            #expect(taken.status == .unprocessableEntity)
            #expect(String(describing: taken.json).contains("taken"))
            let email = try await api(app, .POST, "/api/v1/auth/signup", json: ["username": "frank2", "email": "Frank@example.com", "password": Accounts.password])
            #expect(email.status == .unprocessableEntity)
            let ok = try await api(app, .POST, "/api/v1/auth/signup", json: ["username": "grace", "email": "grace@example.com", "password": Accounts.password])
            #expect(ok.status == .created && ok.json["username"] as? String == "grace")
        }
    }

    @Test("Wrong password and unknown user get the same answer") func wrongPasswordAndUnknownUserGetTheSameAnswer() async throws {
        try await withApp { app in
            try await Accounts.user(app, "heidi")
            let wrong = try await api(app, .POST, "/api/v1/auth/token", json: ["username": "heidi", "password": "not-it-at-all"])
            let unknown = try await api(app, .POST, "/api/v1/auth/token", json: ["username": "nobody", "password": "not-it-at-all"])
            #expect(wrong.status == .unauthorized && unknown.status == .unauthorized)
            let message = { (json: [String: Any]) in (json["error"] as? [String: Any])?["message"] as? String }
            #expect(message(wrong.json) == "Wrong username or password." && message(unknown.json) == message(wrong.json))
            let page = Browser(app)
            try await page.get("/login")
            let answer = try await page.post("/login", ["username": "heidi", "password": "nope-nope"])
            #expect(answer.status == .unauthorized && answer.body.contains("Wrong username or password."))
        }
    }

    @Test("Too many sign ins answer 429 with retry after") func tooManySignInsAnswer429WithRetryAfter() async throws {
        try await withApp { app in
            try await Accounts.user(app, "ivan")
            for _ in 0..<5 {
                let r = try await api(app, .POST, "/api/v1/auth/token", json: ["username": "ivan", "password": "guess-guess"])
                #expect(r.status == .unauthorized)
            }
            // even the right password waits now
            let limited = try await api(app, .POST, "/api/v1/auth/token", json: ["username": "ivan", "password": Accounts.password])
            #expect(limited.status == .tooManyRequests)
            let retry = Int(limited.headers.first(name: "Retry-After") ?? "") ?? 0
            #expect(retry > 0 && retry <= 15 * 60)
            #expect(String(describing: limited.json).contains("Too many sign-in attempts"))
            // another account from elsewhere is not affected
            try await Accounts.user(app, "judy")
            #expect(try await api(app, .POST, "/api/v1/auth/token", json: ["username": "judy", "password": Accounts.password]).status == .ok)
        }
    }

    @Test("Tokens work until revoked or expired") func tokensWorkUntilRevokedOrExpired() async throws {
        try await withApp { app in
            try await Accounts.user(app, "karl")
            // given a token from the documented endpoint
            let issued = try await api(app, .POST, "/api/v1/auth/token", json: ["username": "karl", "password": Accounts.password])
            #expect(issued.status == .ok)
            let token = try #require(issued.json["token"] as? String)
            #expect(issued.json["expires_at"] is String)
            // then /me answers
            let me = try await api(app, .GET, "/api/v1/me", token: token)
            #expect(me.status == .ok && me.json["username"] as? String == "karl" && me.json["email"] as? String == "karl@example.com")
            // anonymous /me and a malformed header are 401
            #expect(try await api(app, .GET, "/api/v1/me").status == .unauthorized)
            #expect(try await api(app, .GET, "/api/v1/me", headers: ["Authorization": "Basic a2FybDp4"]).status == .unauthorized)
            #expect(try await api(app, .GET, "/api/v1/me", token: "vtt_made-up").status == .unauthorized)
            // an expired token is refused with a message that says so
            let other = try await api(app, .POST, "/api/v1/auth/token", json: ["username": "karl", "password": Accounts.password])
            let otherToken = try #require(other.json["token"] as? String)
            let rows = try await APIToken.query(on: app.db).all()
            let newest = try #require(rows.max { ($0.id ?? 0) < ($1.id ?? 0) })
            newest.expiresAt = Date().addingTimeInterval(-1)
            try await newest.save(on: app.db)
            let expired = try await api(app, .GET, "/api/v1/me", token: otherToken)
            #expect(expired.status == .unauthorized && String(describing: expired.json).contains("expired"))
            // revoking the first one ends it at once
            #expect(try await api(app, .DELETE, "/api/v1/auth/token", token: token).status == .noContent)
            let revoked = try await api(app, .GET, "/api/v1/me", token: token)
            #expect(revoked.status == .unauthorized && String(describing: revoked.json).contains("revoked"))
        }
    }

    @Test("Forms without the CSRF token are refused and change nothing") func formsWithoutTheCSRFTokenAreRefusedAndChangeNothing() async throws {
        try await withApp { app in
            try await Accounts.user(app, "lena")
            let browser = Browser(app)
            try await browser.signIn("lena")
            // a forged form from another site has the cookie but not the token
            let forged = try await browser.post("/studio/channels", ["handle": "forged", "name": "Forged"], csrf: false)
            #expect(forged.status == .forbidden && forged.body.contains("Reload the page"))
            // a wrong token is no better
            browser.csrf = "AAAA"
            #expect(try await browser.post("/studio/channels", ["handle": "forged", "name": "Forged"]).status == .forbidden)
            #expect(try await App.Channel.query(on: app.db).count() == 0)
            // a cookie-authenticated API write needs the header too
            let sessionCookie = try #require(browser.cookies["vt_session"])
            let apiForged = try await api(app, .POST, "/api/v1/channels", json: ["handle": "forged"], headers: ["Cookie": "vt_session=\(sessionCookie)"])
            #expect(apiForged.status == .forbidden)
            // sign-in forms are protected too (login CSRF)
            let stranger = Browser(app)
            let noCookie = try await stranger.post("/login", ["username": "lena", "password": Accounts.password], csrf: false)
            #expect(noCookie.status == .forbidden)
            // with the page's token it works
            try await browser.get("/studio/channels/new")
            let ok = try await browser.post("/studio/channels", ["handle": "lenas-place", "name": "Lena's place"])
            #expect(ok.status == .seeOther)
            #expect(try await App.Channel.query(on: app.db).count() == 1)
        }
    }

    @Test("Pages needing an account send browsers to sign in") func pagesNeedingAnAccountSendBrowsersToSignIn() async throws {
        try await withApp { app in
            let browser = Browser(app)
            let page = try await browser.get("/studio")
            #expect(page.status == .seeOther)
            #expect(page.headers.first(name: .location) == "/login?next=%2Fstudio")
            // and after signing in, `next` brings them back (only to this site)
            try await Accounts.user(app, "mallory")
            try await browser.get("/login?next=/studio")
            let back = try await browser.post("/login", ["username": "mallory", "password": Accounts.password, "next": "/studio"])
            #expect(back.headers.first(name: .location) == "/studio?notice=signed-in")
            try await browser.post("/logout")
            try await browser.get("/login")
            let offsite = try await browser.post("/login", ["username": "mallory", "password": Accounts.password, "next": "//evil.example/x"])
            #expect(offsite.headers.first(name: .location) == "/?notice=signed-in")
        }
    }
}

@Suite("Coming back and creator basics", .serialized)
struct ComingBackTests {
    @Test("Sign in and sign up from a page come back to it; signing up from a watch page lands there, not in the studio")
    func comeBack() async throws {
        try await withApp { app in
            // given
            let id = try await Fixtures.importVideo(app, title: "Back here")
            let browser = Browser(app)
            let watch = try await browser.get("/watch?v=\(id)&notice=saved")
            // then: the navbar's links carry the page (without its one-off notice)
            #expect(watch.body.contains(#"href="/login?next=%2Fwatch%3Fv%3D\#(id)""#))
            #expect(watch.body.contains(#"href="/signup?next=%2Fwatch%3Fv%3D\#(id)""#))
            // when: signing up through them
            let form = try await browser.get("/signup?next=%2Fwatch%3Fv%3D\(id)")
            #expect(form.body.contains(#"href="/login?next=%2Fwatch%3Fv%3D\#(id)""#))  // "Already have an account?" keeps it
            let done = try await browser.post("/signup", ["username": "newbie", "email": "newbie@example.com", "password": Accounts.password, "next": "/watch?v=\(id)"])
            // then
            #expect(done.status == .seeOther && done.headers.first(name: .location) == "/watch?v=\(id)&notice=signed-up")
        }
    }

    @Test("An owner's empty channel offers an upload; the studio shows which channels are live")
    func creatorBasics() async throws {
        try await withApp { app in
            // given
            let owner = try await Accounts.user(app, "maker")
            let token = try await Accounts.token(app, owner)
            _ = try await api(app, .POST, "/api/v1/channels", token: token, json: ["handle": "maker-tv", "name": "Maker"])
            let browser = Browser(app)
            try await browser.signIn("maker")
            // then: the empty channel page has an Upload button for its owner (and none for others)
            let own = try await browser.get("/@maker-tv")
            #expect(own.body.contains(#"<a class="button primary" href="/studio/upload?channel=maker-tv">Upload a video</a>"#))
            #expect(!(try await Browser(app).get("/@maker-tv")).body.contains("Upload a video"))
            // when the channel goes live, the studio says so
            #expect(!(try await browser.get("/studio")).body.contains(#"class="badge live""#))
            try await App.Channel.query(on: app.db).set(\.$liveStartedAt, to: Date()).filter(\.$handle == "maker-tv").update()
            #expect((try await browser.get("/studio")).body.contains(#"<a class="badge live" href="/live/maker-tv">LIVE</a>"#))
        }
    }
}

@Suite("Password rules")
struct PasswordPolicyTests {
    let policy = PasswordPolicy(common: ["password", "qwerty123"])

    @Test("Similarity matches django") func similarityMatchesDjango() {
        // difflib.SequenceMatcher(None, "alice123", "alice").ratio() == 0.769…
        #expect(abs(PasswordPolicy.similarity(Array("alice123"), Array("alice")) - 10.0 / 13.0) < 1e-9)
        #expect(PasswordPolicy.similarity(Array("abcd"), Array("bcde")) == 0.75)
        #expect(policy.problems(password: "Alice2024", username: "alice", email: "a@x.io").contains("The password is too similar to the username."))
        #expect(policy.problems(password: "wonderland7", username: "alice", email: "wonderland@x.io") == ["The password is too similar to the email address."])
        #expect(policy.problems(password: "Zebra-Quilt-42", username: "alice", email: "alice@example.com").isEmpty)
        #expect(policy.problems(password: "QWERTY123", username: "bob", email: "b@x.io") == ["This password is too common."])
    }

    @Test("Watch log addresses can be anonymised") func watchLogAddressesCanBeAnonymised() {
        #expect(WatchLogRecorder.anonymized("203.0.113.77") == "203.0.113.0")
        #expect(WatchLogRecorder.anonymized("2001:db8:abcd:12:1:2:3:4") == "2001:db8:abcd::")
    }
}
