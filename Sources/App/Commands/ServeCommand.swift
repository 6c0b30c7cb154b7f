import Vapor

/// `videotube serve [--hostname H] [--port P] [--no-demo]`: migrates, makes demo content into an empty catalog,
/// starts the media listener, then serves the site with Vapor's own server.
struct VideotubeServeCommand: AsyncCommand {
    struct Signature: CommandSignature {
        @Option(name: "hostname", short: "H", help: "Address to listen on (default 127.0.0.1, or HOST).")
        var hostname: String?
        @Option(name: "port", short: "p", help: "Port for the site (default 8080, or PORT).")
        var port: Int?
        @Flag(name: "no-demo", help: "Do not create demo content when the catalog is empty.")
        var noDemo: Bool
        @Flag(name: "no-rtmp", help: "Do not listen for RTMP publishers (VIDEOTUBE_RTMP_PORT, default 1935).")
        var noRTMP: Bool
        init() {}
    }

    var help: String {
        "Serves the site, the media listener (VIDEOTUBE_MEDIA_PORT, default 8081) and RTMP ingest (VIDEOTUBE_RTMP_PORT, default 1935)."
    }

    /// Vapor's serve command, which runs the HTTP server and waits for SIGINT/SIGTERM.
    let vaporServe: any AnyAsyncCommand

    func run(using context: CommandContext, signature: Signature) async throws {
        let app = context.application
        try await prepareDatabase(app)
        if !signature.noDemo, try await CatalogService(db: app.db).isEmpty() {
            app.logger.notice("The catalog is empty: creating demo content (use --no-demo to skip).")
            try await DemoSeeder(db: app.db, storage: app.videotube.storage, logger: app.logger).run()
        }
        if let hostname = signature.hostname { app.http.server.configuration.hostname = hostname }
        if let port = signature.port { app.http.server.configuration.port = port }
        try await startMetricsListener(app)
        try await startMediaListener(app)
        try await startJobRunner(app)
        if !signature.noRTMP { try await startRTMPListener(app) }
        var inner = context
        inner.input = CommandInput(arguments: ["videotube"])
        try await vaporServe.run(using: &inner)
    }
}
