import Fluent
import Media
import Vapor

/// Every service a request handler reaches, in one place: each is made for this request's database from the
/// app's shared parts (`AppServices`). Handlers call these; services never see the request.
extension Request {
    var services: AppServices { application.videotube }
    var catalog: CatalogService { CatalogService(db: db, shared: services.sharedReads) }
    var search: SearchService { SearchService(db: db) }
    var ratings: RatingService { RatingService(db: db) }
    var comments: CommentService { CommentService(db: db) }
    var reports: ReportService { ReportService(db: db) }
    var channels: ChannelService { ChannelService(db: db, storage: services.storage) }
    var videos: VideoService { VideoService(db: db, storage: services.storage, revisions: services.mediaRevisions) }
    var subscriptions: SubscriptionService { SubscriptionService(db: db) }
    var admin: AdminService { AdminService(db: db, storage: services.storage, revisions: services.mediaRevisions) }
    var accounts: AccountService { services.accounts(on: db) }
    var live: LiveService { LiveService(db: db, registry: services.live) }

    var uploads: UploadService {
        let config = services.config
        return UploadService(
            db: db, storage: services.storage, maxUploadBytes: config.maxUploadBytes, userQuotaBytes: config.userQuotaBytes)
    }

    var downloader: URLDownloader {
        let config = services.config
        return URLDownloader(
            allowPrivate: config.importAllowPrivate, allowedAddresses: config.importAllowedAddresses, maxBytes: config.maxUploadBytes, timeout: TimeInterval(config.importTimeout),
            eventLoopGroup: application.eventLoopGroup, logger: logger)
    }

    /// Signed media URLs whose host is the one this request came in on, unless `VIDEOTUBE_MEDIA_URL` is set.
    var mediaLinks: MediaLinks {
        let services = self.services
        return MediaLinks(
            signer: services.signer, lifetime: services.config.mediaURLLifetime,
            base: MediaLinks.base(
                configured: services.config.mediaURL, requestHost: publicHost ?? requestHost, scheme: publicScheme ?? requestScheme,
                mediaPort: services.mediaPort))
    }

    /// This app's own origin, for absolute URLs in JSON: `VIDEOTUBE_PUBLIC_URL` when set (a client's `Host` must
    /// not end up in pages a shared cache keeps), else the request's.
    var siteBase: String {
        services.config.publicURL ?? "\(requestScheme)://\(requestHost ?? "127.0.0.1:\(services.config.port)")"
    }

    /// The client's address: the socket peer's, or the forwarded one when the peer is a trusted proxy
    /// (`VIDEOTUBE_TRUSTED_PROXIES`). Rate limits, view counting and the watch log use this.
    var clientAddress: String? {
        services.config.trustedProxies.clientAddress(peer: remoteAddress?.ipAddress, forwardedFor: headers[.xForwardedFor].isEmpty ? nil : headers[.xForwardedFor].joined(separator: ","))
    }

    /// `https` behind a proxy that says so, else `http`.
    private var requestScheme: String { headers.first(name: "X-Forwarded-Proto") == "https" ? "https" : "http" }

    /// The `Host` the client used, when it is a plausible host name.
    private var requestHost: String? { MediaLinks.safeHost(headers.first(name: .host)) }

    /// Host and scheme of `VIDEOTUBE_PUBLIC_URL`, when set.
    private var publicHost: String? { services.config.publicURL.flatMap { URLComponents(string: $0)?.host } }
    private var publicScheme: String? { services.config.publicURL.flatMap { URLComponents(string: $0)?.scheme } }

    /// An optional whole-number query parameter: nil when absent, 400 when it is there but not a whole number of at
    /// least `minimum`.
    func wholeNumberQuery(_ name: String, minimum: Int = 0) throws -> Int? {
        guard let raw = query[String.self, at: name] else {
            // There but not one string (`since=1&since=2`, `since[]=1`): say so rather than ignore it.
            let given = (url.query ?? "").split(separator: "&").contains { $0 == name || $0.hasPrefix(name + "=") || $0.hasPrefix(name + "[") || $0.hasPrefix(name + "%5B") }
            if given { throw Abort(.badRequest, reason: "Give \(name) once, as a whole number.") }
            return nil
        }
        guard let number = Int(raw), number >= minimum else {
            throw Abort(.badRequest, reason: "\(name) must be a whole number from \(minimum), got '\(raw.prefix(40))'")
        }
        return number
    }

    /// A path parameter that must be a positive whole number; the error says what was wrong.
    func numericID(_ name: String = "id", status: HTTPResponseStatus = .notFound, what: String) throws -> Int {
        let raw = parameters.get(name) ?? ""
        guard let id = Int(raw), id > 0 else {
            throw Abort(status, reason: "\(what) ids are positive whole numbers; '\(raw.prefix(40))' is not one")
        }
        return id
    }
}
