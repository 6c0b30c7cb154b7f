import Fluent
import Media
import Vapor

extension Request {
    var services: AppServices { application.videotube }
    var catalog: CatalogService { CatalogService(db: db) }

    /// Signed media URLs whose host is the one this request came in on, unless `VIDEOTUBE_MEDIA_URL` is set.
    var mediaLinks: MediaLinks {
        let services = self.services
        return MediaLinks(
            signer: services.signer, lifetime: services.config.mediaURLLifetime,
            base: MediaLinks.base(
                configured: services.config.mediaURL, requestHost: requestHost, scheme: requestScheme,
                mediaPort: services.mediaPort))
    }

    /// This app's own origin, for absolute URLs in JSON.
    var siteBase: String {
        "\(requestScheme)://\(requestHost ?? "127.0.0.1:\(services.config.port)")"
    }

    /// `https` behind a proxy that says so, else `http`.
    private var requestScheme: String { headers.first(name: "X-Forwarded-Proto") == "https" ? "https" : "http" }

    /// The `Host` the client used, when it is a plausible host name.
    private var requestHost: String? { MediaLinks.safeHost(headers.first(name: .host)) }

    /// A path parameter that must be a positive whole number; the error says what was wrong.
    func numericID(_ name: String = "id", status: HTTPResponseStatus = .notFound, what: String) throws -> Int {
        let raw = parameters.get(name) ?? ""
        guard let id = Int(raw), id > 0 else {
            throw Abort(status, reason: "\(what) ids are positive whole numbers; '\(raw.prefix(40))' is not one")
        }
        return id
    }
}
