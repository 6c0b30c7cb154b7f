import Foundation

/// `/signup` and `/login`: the form, what was typed (never the password) and what went wrong.
struct AuthPage: Encodable {
    enum Form { case signUp, signIn }

    var title: String
    var action: String
    var next: String?
    /// A channel to subscribe to once signed in (the viewer pressed Subscribe while signed out).
    var subscribe: Int?
    var username = ""
    var email = ""
    var errors: [String] = []

    init(_ form: Form, next: String?) {
        switch form {
        case .signUp:
            title = "Create an account · Videotube"
            action = SiteURL.signup.path
        case .signIn:
            title = "Sign in · Videotube"
            action = SiteURL.login.path
        }
        self.next = next
    }
}
