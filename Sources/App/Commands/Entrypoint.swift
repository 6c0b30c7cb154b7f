import Foundation
import Logging
import Media
import Vapor

/// Builds the application, registers the commands and runs the one named on the command line.
public func runVideotube() async {
    var env: Environment
    do {
        env = try Environment.detect()
        try LoggingSystem.bootstrap(from: &env)
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

/// The command table: `serve` (default), `import`, `demo`, `user`, `migrate`, `routes`.
public func registerCommands(_ app: Application) {
    let vaporServe = app.asyncCommands.commands["serve"] ?? app.asyncCommands.defaultCommand!
    app.asyncCommands.use(VideotubeServeCommand(vaporServe: vaporServe), as: "serve", isDefault: true)
    app.asyncCommands.use(ImportCommand(), as: "import")
    app.asyncCommands.use(DemoCommand(), as: "demo")
    app.asyncCommands.use(UserCommand(), as: "user")
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
