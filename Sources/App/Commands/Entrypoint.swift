import Foundation
import Logging
import Media
import Metrics
import Prometheus
import Vapor

/// Builds the application, registers the commands and runs the one named on the command line.
public func runVideotube() async {
    var env: Environment
    do {
        env = try Environment.detect()
        switch ProcessInfo.processInfo.environment["LOG_FORMAT"]?.lowercased() {
        case nil, "", "text": try LoggingSystem.bootstrap(from: &env)
        case "json": try LoggingSystem.bootstrap(from: &env) { level in { label in JSONLogHandler(label: label, level: level) } }
        case let other?: throw ConfigError(variable: "LOG_FORMAT", message: "expected text or json, got '\(other)'")
        }
    } catch {
        FileHandle.standardError.write(Data("error: \(error)\n".utf8))
        exit(2)
    }
    let app: Application
    do {
        app = try await Application.make(env)
    } catch {
        FileHandle.standardError.write(Data("error: \(error)\n".utf8))
        exit(1)
    }
    var status: Int32 = 0
    do {
        let config = try AppConfig.load()
        try await configure(app, config)
        // Vapor's request counters and latency timers (by route and status) land in the `/metrics` registry.
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: app.videotube.metrics.registry))
        registerCommands(app)
        try await app.execute()
    } catch let error as ConfigError {
        FileHandle.standardError.write(Data("Configuration error: \(error)\n".utf8))
        status = 2
    } catch {
        FileHandle.standardError.write(Data("error: \(Entrypoint.message(for: error))\n".utf8))
        status = 1
    }
    try? await app.asyncShutdown()
    if status != 0 { exit(status) }
}

/// The command table: `serve` (default), `worker`, `import`, `demo`, `user`, `backup`, `migrate`, `routes`.
public func registerCommands(_ app: Application) {
    let vaporServe = app.asyncCommands.commands["serve"] ?? app.asyncCommands.defaultCommand!
    app.asyncCommands.use(VideotubeServeCommand(vaporServe: vaporServe), as: "serve", isDefault: true)
    app.asyncCommands.use(ImportCommand(), as: "import")
    app.asyncCommands.use(DemoCommand(), as: "demo")
    app.asyncCommands.use(UserCommand(), as: "user")
    app.asyncCommands.use(WorkerCommand(), as: "worker")
    app.asyncCommands.use(BackupCommand(), as: "backup")
}

enum Entrypoint {
    static func message(for error: any Error) -> String {
        switch error {
        case let e as ProbeError: e.description
        case let e as ValidationFailure: e.description
        case let e as ProcessError: e.description
        case let e as StorageError: e.description
        default: String(describing: error)
        }
    }
}
