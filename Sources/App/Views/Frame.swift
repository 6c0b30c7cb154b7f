import Vapor

/// The fingerprinted URLs of the files pages load (cached for a year; a new build gets new URLs).
struct AssetURLs: Encodable, Sendable {
    var css, siteJS, searchJS, watchJS, commentsJS, reportJS, uploadJS, studioJS, liveJS, chatJS, logo: String

    init(_ assets: StaticAssets) {
        css = assets.url("css/site.css")
        siteJS = assets.url("js/site.js")
        searchJS = assets.url("js/search.js")
        watchJS = assets.url("js/watch.js")
        commentsJS = assets.url("js/comments.js")
        reportJS = assets.url("js/report.js")
        uploadJS = assets.url("js/upload.js")
        studioJS = assets.url("js/studio.js")
        liveJS = assets.url("js/live.js")
        chatJS = assets.url("js/chat.js")
        logo = assets.url("images/logo.svg")
    }
}

/// What every page's frame shows: who is signed in, the CSRF token for its forms, a one-off notice.
struct PageFrame: Encodable {
    var signedIn: Bool
    var username: String
    var isAdmin: Bool
    var csrf: String
    var notice: String?
    var logoutAction = SiteURL.logout.path
    var assets: AssetURLs
    /// Sign-in and sign-up that come back to this page afterwards.
    var loginURL = SiteURL.login.path
    var signupURL = SiteURL.signup.path
}

/// A page model with the frame beside its own keys, so templates read `#(title)` and `#(frame.username)`.
struct Framed<Page: Encodable>: Encodable {
    let page: Page
    let frame: PageFrame

    private enum Keys: String, CodingKey { case frame }

    func encode(to encoder: any Encoder) throws {
        try page.encode(to: encoder)
        var container = encoder.container(keyedBy: Keys.self)
        try container.encode(frame, forKey: .frame)
    }
}

extension Request {
    private struct FormsForVisitorsKey: Vapor.StorageKey { typealias Value = Bool }

    /// Marks this page as one with forms a signed-out visitor posts (sign-in, sign-up): its frame carries a CSRF
    /// token, which gives the browser a visitor id. Other pages carry one only for signed-in users, so they are
    /// the same for every signed-out visitor.
    func offerFormsToVisitors() { storage[FormsForVisitorsKey.self] = true }

    var frame: PageFrame {
        let csrf = user != nil || storage[FormsForVisitorsKey.self] == true ? csrfToken : ""
        var frame = PageFrame(
            signedIn: user != nil, username: user?.username ?? "", isAdmin: user?.isAdmin ?? false, csrf: csrf,
            notice: query[String.self, at: "notice"].flatMap { Notice(rawValue: $0)?.text }, assets: services.assetURLs)
        if user == nil, let back = pageToComeBackTo {
            frame.loginURL = AuthController.loginURL(next: back)
            frame.signupURL = AuthController.signupURL(next: back)
        }
        return frame
    }

    /// Where signing in from this page should come back to: this page (without its one-off notice), or on the
    /// sign-in and sign-up pages the place they come back to themselves.
    var pageToComeBackTo: String? {
        let path = url.path
        if path == SiteURL.login.path || path == SiteURL.signup.path { return AuthController.safeNext(query[String.self, at: "next"]) }
        var parts = URLComponents()
        parts.path = path
        parts.queryItems = (URLComponents(string: url.string)?.queryItems ?? []).filter { $0.name != "notice" }
        if parts.queryItems?.isEmpty == true { parts.queryItems = nil }
        return AuthController.safeNext(parts.string)
    }

    /// Renders a Leaf template with the page frame.
    func render<Page: Encodable>(_ template: String, _ page: Page) async throws -> View {
        try await view.render(template, Framed(page: page, frame: frame))
    }

    /// Renders a page with a status other than 200 (a form shown again with its errors).
    func render<Page: Encodable>(_ template: String, _ page: Page, status: HTTPResponseStatus) async throws -> Response {
        let response = try await render(template, page).encodeResponse(for: self)
        response.status = status
        return response
    }

    /// Sends the browser on after a form, with a notice the next page shows.
    func redirectAfterForm(to path: String, notice: Notice? = nil) -> Response {
        var target = path
        if let notice { target += (path.contains("?") ? "&" : "?") + "notice=" + notice.rawValue }
        return redirect(to: target, redirectType: .normal)
    }
}

/// The fixed messages a redirect may carry (a code, so no page prints text from the address bar).
enum Notice: String {
    case signedUp = "signed-up", signedIn = "signed-in", signedOut = "signed-out", saved, deleted, subscribed, unsubscribed
    case channelCreated = "channel-created", imageSaved = "image-saved", userUpdated = "user-updated", takenDown = "taken-down"
    case restored, imported
    case streamKeyChanged = "stream-key-changed"
    case thumbnailSaved = "thumbnail-saved"
    case reportResolved = "report-resolved"

    var text: String {
        switch self {
        case .signedUp: "Welcome to Videotube! Your account is ready."
        case .signedIn: "You are signed in."
        case .signedOut: "You are signed out."
        case .saved: "Changes saved."
        case .deleted: "Deleted."
        case .subscribed: "Subscribed."
        case .unsubscribed: "Unsubscribed."
        case .channelCreated: "Your channel is ready."
        case .imageSaved: "Picture updated."
        case .userUpdated: "User updated."
        case .takenDown: "The video was taken down."
        case .restored: "The video is back up."
        case .imported: "The video was imported; it is being processed now."
        case .thumbnailSaved: "Thumbnail updated."
        case .reportResolved: "Done: every open report of it is closed."
        case .streamKeyChanged: "You have a new stream key. Paste it into OBS; the old one no longer works."
        }
    }
}
