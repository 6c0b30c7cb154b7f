import Fluent
import FluentPostgresDriver
import FluentSQLiteDriver
import Leaf
import Media
import RTMP
import NIOConcurrencyHelpers
import Vapor

/// What the app shares between requests and commands, made once in `configure`.
public struct AppServices: Sendable {
    public let config: AppConfig
    public let storage: any MediaStorage
    public let signer: URLSigner
    public let responder: MediaResponder
    public let watchLog: WatchLogRecorder?
    public let hasher: PasswordHasher
    public let passwordPolicy: PasswordPolicy
    public let accountLimits: AccountService.Limits
    /// Background processing (transcodes); workers start with `serve`.
    public let jobs: JobRunner
    let uploadLocks = UploadLocks()
    let uploadCoverage = LocalUploadCoverage()
    /// Methods per route path, for 405 answers.
    let allowedMethods = AllowedMethods()
    /// Access revisions of videos, so the media listener refuses URLs made before a privacy change or takedown.
    public let mediaRevisions = MediaRevisions()
    /// Responses every signed-out visitor gets alike, until the catalog changes.
    public let sharedReads = SharedReads()
    /// Publishers live on this node, and the pages watching them.
    public let live: LiveRegistry
    public let viewers: ViewerCounter
    /// This node's chat sockets and the bus that joins them to other nodes'.
    let chat: ChatHub
    let rtmpPortBox = NIOLockedValueBox(0)
    /// The RTMP listener's bound port (0 when it is off).
    public var rtmpPort: Int { rtmpPortBox.withLockedValue { $0 } }
    /// The media listener's bound port (known after it starts; the configured one until then).
    let mediaPortBox: NIOLockedValueBox<Int>

    public var mediaPort: Int { mediaPortBox.withLockedValue { $0 } }
    /// `Public/`, served from memory, and the fingerprinted URLs pages load.
    let assets: StaticAssets
    let assetURLs: AssetURLs
    /// The newest migration this binary knows; `/readyz` wants it applied.
    let newestMigration: String
    public let metrics: ServerMetrics

    /// Accounts on `db` with the configured hasher, password rules and limits.
    public func accounts(on db: any Database) -> AccountService {
        AccountService(db: db, hasher: hasher, policy: passwordPolicy, limits: accountLimits)
    }
}

extension Application {
    private struct ServicesKey: Vapor.StorageKey { typealias Value = AppServices }

    /// Videotube's services; set by `configure`.
    public var videotube: AppServices {
        get {
            guard let services = storage[ServicesKey.self] else { fatalError("configure(app, config) was not called") }
            return services
        }
        set { storage[ServicesKey.self] = newValue }
    }
}

/// Sets up the database, middleware, views, services and routes. Tests, commands and the server all call it.
public func configure(_ app: Application, _ config: AppConfig) async throws {
    var config = config
    try config.prepareDataDirectory()

    if let url = config.databaseURL {
        let postgres: SQLPostgresConfiguration
        do {
            postgres = try SQLPostgresConfiguration(url: url)
        } catch {
            throw ConfigError(variable: "DATABASE_URL", message: "cannot use '\(url)': \(error)")
        }
        app.databases.use(.postgres(configuration: postgres), as: .psql)
    } else if config.inMemoryDatabase {
        app.databases.use(.sqlite(.memory), as: .sqlite)
    } else {
        app.databases.use(.sqlite(.file(config.sqlitePath)), as: .sqlite)
    }
    let migrations: [any Migration] = [
        M001_CreateChannels(),
        M002_CreateVideos(),
        M003_CreateWatchLogs(),
        M004_CreateAccounts(),
        M005_OwnershipAndSubscriptions(),
        M006_Processing(),
        M007_Live(),
        M008_SecurityHardening(),
        M009_CatalogVersion(),
        M010_Chat(),
        M011_WatchSessions(),
        M012_DemoContent(),
        M013_UploadVisibility(),
        M014_Search(),
        M015_VideoRatings(),
        M016_VideoTags(),
        M017_Comments(),
    ]
    app.migrations.add(migrations)

    app.http.server.configuration.hostname = config.host
    app.http.server.configuration.port = config.port
    app.http.server.configuration.idleTimeout = .seconds(config.idleTimeoutSeconds)
    app.routes.defaultMaxBodySize = "1mb"

    let encoder = JSONEncoder()
    encoder.outputFormatting = [.withoutEscapingSlashes, .sortedKeys]
    encoder.dateEncodingStrategy = .custom { date, encoder in
        var container = encoder.singleValueContainer()
        try container.encode(Formatting.iso8601(date))
    }
    ContentConfiguration.global.use(encoder: encoder, for: .json)

    // Templates, public files and the password list are found wherever the binary runs from.
    app.directory = DirectoryConfiguration(workingDirectory: try config.resourcesDirectory ?? ResourceLocator.locate())
    app.views.use(.leaf)
    // Release builds (`make run`) keep parsed templates; debug builds re-read them so edits show at once.
    #if DEBUG
    app.leaf.cache = TemplateCache(enabled: app.environment.isRelease)
    #else
    app.leaf.cache = TemplateCache(enabled: true)
    #endif

    app.middleware = Middlewares()
    // A line per request only at LOG_LEVEL=debug: formatting and writing it is work on every request, and a
    // reverse proxy's access log is the usual place for one.
    app.middleware.use(RouteLoggingMiddleware(logLevel: .debug))
    app.middleware.use(SecurityHeadersMiddleware())
    app.middleware.use(ErrorRenderingMiddleware())
    app.middleware.use(BodyLimitMiddleware())
    let assets: StaticAssets
    do {
        assets = try StaticAssets(directory: app.directory.publicDirectory)
    } catch {
        throw ConfigError(variable: "VIDEOTUBE_RESOURCES", message: "cannot read \(app.directory.publicDirectory): \(error)")
    }
    app.middleware.use(
        CORSMiddleware(
            configuration: .init(
                allowedOrigin: .all, allowedMethods: [.GET, .HEAD, .OPTIONS],
                allowedHeaders: [.accept, .contentType, .range, .ifNoneMatch, .ifModifiedSince, .ifRange],
                exposedHeaders: [.contentRange, .contentLength, .acceptRanges, .eTag])))
    app.middleware.use(AuthenticationMiddleware())
    app.middleware.use(VisitorMiddleware())
    app.middleware.use(CSRFMiddleware())
    app.middleware.use(NulByteMiddleware())  // after CSRF, which reads at most 64 KiB of a stranger's form
    app.middleware.use(SharedReadsMiddleware())

    let storage: any MediaStorage
    do {
        if let settings = config.objectStorage {
            let client = S3Client(
                location: settings.location, accessKey: settings.accessKey, secretKey: settings.secretKey,
                sessionToken: settings.sessionToken)
            // The media folder stays as the staging area and cache of files on their way in and out.
            storage = try S3Storage(client: client, stagingRoot: config.mediaDirectory, logger: app.logger)
        } else {
            storage = try LocalDiskStorage(root: config.mediaDirectory)
        }
    } catch {
        throw ConfigError(variable: "VIDEOTUBE_DATA_DIR", message: "cannot create the media folder: \(error.localizedDescription)")
    }
    let passwordsPath = app.directory.resourcesDirectory + "Security/common-passwords.txt"
    let policy: PasswordPolicy
    do {
        policy = try PasswordPolicy.load(path: passwordsPath)
    } catch {
        throw ConfigError(
            variable: "VIDEOTUBE_RESOURCES",
            message: "cannot read \(passwordsPath) (\(error.localizedDescription)); set VIDEOTUBE_RESOURCES to the folder that holds Resources/ and Public/")
    }
    var limits = AccountService.Limits()
    limits.sessionLifetime = TimeInterval(config.sessionDays) * 86400
    limits.tokenLifetime = TimeInterval(config.tokenDays) * 86400
    let registry = LiveRegistry(), viewers = ViewerCounter(), metrics = ServerMetrics()
    let bus: any ChatBus =
        if let url = config.databaseURL {
            try PostgresChatBus(url: url, database: { [unowned app] in app.db }, eventLoop: app.eventLoopGroup.next(), logger: app.logger)
        } else {
            LocalChatBus()
        }
    app.videotube = AppServices(
        config: config, storage: storage, signer: URLSigner(secret: config.secret),
        responder: MediaResponder(planner: RangePlanner(maxOpenEndedBytes: config.maxChunkBytes)),
        watchLog: config.watchLog ? WatchLogRecorder(db: app.db, logger: app.logger, anonymize: config.watchLogAnonymize) : nil,
        hasher: PasswordHasher(cost: config.bcryptCost, pool: app.threadPool), passwordPolicy: policy, accountLimits: limits,
        jobs: JobRunner(
            database: { [unowned app] in app.db }, storage: storage, settings: config.encoder, workers: config.transcodeWorkers,
            node: config.nodeID, logger: app.logger, staleAfter: TimeInterval(config.jobStaleSeconds), metrics: metrics),
        live: registry, viewers: viewers,
        chat: ChatHub(bus: bus, viewers: viewers, registry: registry, database: { [unowned app] in app.db }, logger: app.logger),
        mediaPortBox: NIOLockedValueBox(config.mediaPort), assets: assets, assetURLs: AssetURLs(assets),
        newestMigration: migrations.last!.name, metrics: metrics)
    app.lifecycle.use(ChatLifecycle())
    // Assets are answered before the router and the middleware above (see `StaticAssetsResponder`).
    app.responder.use { app in
        StaticAssetsResponder(assets: app.videotube.assets, metrics: app.videotube.metrics, next: app.responder.default)
    }

    try routes(app)
    app.videotube.allowedMethods.load(app.routes.all)
}

/// Brings the schema up to date; every command that touches the database calls it first.
public func prepareDatabase(_ app: Application) async throws {
    try await app.autoMigrate()
    try await prepareStorage(app)
}

/// Checks that the object store answers (and makes the bucket when it is missing and we may), before anything
/// is accepted that could not be stored.
func prepareStorage(_ app: Application) async throws {
    guard let s3 = app.videotube.storage as? S3Storage else { return }
    if await !s3.client.bucketReachable() {
        do {
            try await s3.client.createBucketIfMissing()
            app.logger.notice("Object storage: created the bucket \(s3.client.location.bucket)")
        } catch {
            throw ConfigError(
                variable: "VIDEOTUBE_STORAGE",
                message: "the bucket \(s3.client.location.bucket) at \(s3.client.location.endpoint.absoluteString) does not answer (\(error)); check the endpoint, the bucket name and the credentials")
        }
    }
    // Players fetch HLS segments from the bucket (redirects) in CORS mode; without this rule they cannot.
    do {
        try await s3.client.allowBrowserReads()
    } catch {
        app.logger.warning("Object storage: could not set the bucket's CORS rule (\(error)); allow GET and HEAD from any origin yourself (docs/DEPLOY.md), or HLS will not play in browsers")
    }
}

/// Starts the sendfile media listener in this process and remembers the port it got.
@discardableResult
public func startMediaListener(_ app: Application) async throws -> MediaListener {
    let services = app.videotube
    let watchLog = services.watchLog
    let revisions = services.mediaRevisions
    try await revisions.refresh(from: app.db)
    var configuration = MediaServer.Configuration(
        host: services.config.host, port: services.config.mediaPort, signer: services.signer,
        storage: services.storage, responder: services.responder, idleTimeout: services.config.idleTimeoutSeconds,
        onPlayback: { [metrics = services.metrics] event in
            metrics.mediaServed(status: event.status, bytes: event.bytes, requests: event.requests)
            // Video files only: thumbnails carry their video's id too, but fetching one is no playback.
            guard let recorder = watchLog, event.grant.videoID > 0, event.grant.key.hasPrefix("videos/") else { return }
            let viewer = event.grant.userID.map { "user:\($0)" } ?? "addr:" + (event.remoteAddress ?? "") + "|" + (event.userAgent ?? "")
            let entry = WatchLogRecorder.Entry(
                target: .video(event.grant.videoID), viewer: viewer, userID: event.grant.userID,
                remoteAddress: event.remoteAddress, userAgent: event.userAgent, source: .media, status: event.status,
                bytes: event.bytes, requests: event.requests)
            recorder.record(entry)
        }, isCurrent: { revisions.isCurrent($0) })
    configuration.trustedProxies = services.config.trustedProxies
    let server = MediaServer(configuration: configuration, logger: app.logger)
    let listener: MediaListener
    do {
        listener = try server.start()
    } catch {
        throw ConfigError(
            variable: "VIDEOTUBE_MEDIA_PORT",
            message: "cannot listen on \(services.config.host):\(services.config.mediaPort) (\(error)); choose a free port")
    }
    let port = listener.port
    services.mediaPortBox.withLockedValue { $0 = port }
    let refresher = Task { [weak app] in
        // Other nodes' privacy changes and takedowns reach this listener within the interval.
        while !Task.isCancelled {
            try? await Task.sleep(nanoseconds: UInt64(MediaRevisions.refreshInterval * 1e9))
            guard !Task.isCancelled, let app else { return }
            try? await revisions.refresh(from: app.db)
        }
    }
    app.lifecycle.use(ListenerLifecycle(close: { await listener.close() }, flushWatchLog: true, background: refresher))
    app.logger.notice("Media listener on http://\(services.config.host):\(port)")
    return listener
}

/// Starts the RTMP ingest listener (OBS: `rtmp://HOST/live` + the channel's key) and remembers nothing else:
/// live state is in `AppServices.live` and the database.
@discardableResult
public func startRTMPListener(_ app: Application) async throws -> NIOCore.Channel {
    // A packaging ffmpeg that exits makes writes to its stdin fail; that must be an error, not SIGPIPE.
    signal(SIGPIPE, SIG_IGN)
    let services = app.videotube
    let config = services.config
    let server = RTMPServer(
        configuration: .init(host: config.host, port: config.rtmpPort),
        authorizer: LiveAuthorizer(
            database: { [unowned app] in app.db }, registry: services.live, liveRoot: config.liveDirectory, segmentSeconds: 1,
            storage: services.storage, jobs: services.jobs, ladder: config.liveLadder, logger: app.logger),
        logger: app.logger)
    // Recordings a crash of this node left behind become replays before ingest could write over them.
    if await LiveReplay.recoverInterrupted(liveRoot: config.liveDirectory, db: app.db, storage: services.storage, logger: app.logger) > 0 {
        services.jobs.wake()
    }
    let channel: NIOCore.Channel
    do {
        channel = try await server.start(group: app.eventLoopGroup)
    } catch {
        throw ConfigError(
            variable: "VIDEOTUBE_RTMP_PORT",
            message: "cannot listen on \(config.host):\(config.rtmpPort) (\(error)); choose a free port or run serve --no-rtmp")
    }
    services.rtmpPortBox.withLockedValue { $0 = channel.localAddress?.port ?? config.rtmpPort }
    let cleared = try await LiveService(db: app.db, registry: services.live).clearStale(liveRoot: config.liveDirectory)
    if cleared > 0 { app.logger.notice("Live: \(cleared) channel(s) left live by an earlier run are offline now") }
    let sweeper = Task { [weak app] in
        // Live flags whose node stopped beating (it crashed, here or elsewhere) go down within seconds.
        while !Task.isCancelled {
            try? await Task.sleep(nanoseconds: UInt64(LiveService.heartbeatInterval * 2 * 1e9))
            guard !Task.isCancelled, let app else { return }
            let cleared = (try? await LiveService(db: app.db, registry: services.live).clearStale(liveRoot: config.liveDirectory)) ?? 0
            if cleared > 0 { app.logger.notice("Live: \(cleared) channel(s) whose publisher's node went silent are offline now") }
        }
    }
    app.lifecycle.use(ListenerLifecycle(close: { try? await channel.close() }, flushWatchLog: false, background: sweeper))
    app.logger.notice("RTMP ingest on rtmp://\(config.host):\(services.rtmpPort)/live")
    return channel
}

/// Starts the `/metrics` listener (`VIDEOTUBE_METRICS_ADDRESS`) unless it is off.
public func startMetricsListener(_ app: Application) async throws {
    let services = app.videotube
    guard let address = services.config.metricsAddress else { return }
    let listener = MetricsListener(host: address.host, port: address.port, logger: app.logger) { [weak app] in
        guard let app else { return [] }
        return await services.metrics.scrape(services: services, db: app.db)
    }
    let channel: NIOCore.Channel
    do {
        channel = try await listener.start(group: app.eventLoopGroup)
    } catch {
        throw ConfigError(
            variable: "VIDEOTUBE_METRICS_ADDRESS",
            message: "cannot listen on \(address.host):\(address.port) (\(error)); choose a free port (each process on a machine needs its own) or set it to off")
    }
    app.lifecycle.use(ListenerLifecycle(close: { try? await channel.close() }, flushWatchLog: false))
    app.logger.notice("Metrics on http://\(address.host):\(channel.localAddress?.port ?? address.port)/metrics")
}

/// Starts the processing workers (after taking back this node's interrupted jobs) and stops them at shutdown.
public func startJobRunner(_ app: Application) async throws {
    try await app.videotube.jobs.start()
    app.lifecycle.use(JobRunnerLifecycle())
    if app.videotube.config.transcodeWorkers > 0 {
        app.logger.notice("Processing with \(app.videotube.config.transcodeWorkers) worker(s) as \(app.videotube.config.nodeID)")
    }
}

/// Closes this node's chat sockets and its bus listener at shutdown, before the databases close.
struct ChatLifecycle: LifecycleHandler {
    func shutdownAsync(_ application: Application) async {
        await application.videotube.chat.stop()
    }
}

struct JobRunnerLifecycle: LifecycleHandler {
    func shutdownAsync(_ application: Application) async {
        await application.videotube.jobs.stop()
    }
}

/// Closes a listener of this process at shutdown; the media listener's then flushes the watch log it fed.
struct ListenerLifecycle: LifecycleHandler {
    let close: @Sendable () async -> Void
    let flushWatchLog: Bool
    /// Work that lives as long as the listener (a refresh or heartbeat loop).
    var background: Task<Void, Never>?
    func shutdownAsync(_ application: Application) async {
        // Stopped and waited for before the databases close under it.
        background?.cancel()
        await background?.value
        await close()
        if flushWatchLog { await application.videotube.watchLog?.flush() }
    }
}
