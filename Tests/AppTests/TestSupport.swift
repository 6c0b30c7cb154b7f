import App
import Fluent
import Foundation
import Media
import Testing
import VaporTesting

/// Runs `body` against a configured, migrated app: in-memory SQLite, or PostgreSQL when `DATABASE_URL` is set
/// (each test then gets a clean schema). The media listener runs on a free port. Tests with an app run one at a
/// time, since the PostgreSQL suites share one database.
func withApp(_ body: @Sendable (Application) async throws -> Void) async throws {
    try await DatabaseLock.shared.run { try await withUnlockedApp({ _ in }, body) }
}

/// `withApp` with settings changed first (limits, flags).
func withApp(
    settings: @escaping @Sendable (inout AppConfig) -> Void, _ body: @Sendable (Application) async throws -> Void
) async throws {
    try await DatabaseLock.shared.run { try await withUnlockedApp(settings, body) }
}

private func withUnlockedApp(
    _ settings: @Sendable (inout AppConfig) -> Void, _ body: @Sendable (Application) async throws -> Void
) async throws {
    let dataDirectory = NSTemporaryDirectory() + "videotube-test-\(UUID().uuidString)"
    let databaseURL = ProcessInfo.processInfo.environment["DATABASE_URL"].flatMap { $0.isEmpty ? nil : $0 }
    let app = try await Application.make(.testing)
    do {
        var config = AppConfig.testing(dataDirectory: dataDirectory, databaseURL: databaseURL)
        settings(&config)
        try await configure(app, config)
        if databaseURL != nil { try await app.autoRevert() }
        try await prepareDatabase(app)
        try await startMediaListener(app)
        try await body(app)
        await LiveServer.stop(app)
        if databaseURL != nil { try await app.autoRevert() }
    } catch {
        await LiveServer.stop(app)
        try? await app.asyncShutdown()
        try? FileManager.default.removeItem(atPath: dataDirectory)
        throw error
    }
    try await app.asyncShutdown()
    try? FileManager.default.removeItem(atPath: dataDirectory)
}

enum DatabaseLock {
    static let shared = AsyncLock()
}

actor AsyncLock {
    private var busy = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    func run<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> T {
        if busy {
            await withCheckedContinuation { waiters.append($0) }
        }
        busy = true
        defer {
            if waiters.isEmpty { busy = false } else { waiters.removeFirst().resume() }
        }
        return try await body()
    }
}

/// A generated MP4 shared by the tests of one run (ffmpeg makes it once).
enum Fixtures {
    static let videoPath: String = {
        let path = NSTemporaryDirectory() + "videotube-fixture-\(ProcessInfo.processInfo.processIdentifier).mp4"
        return path
    }()

    static func video() async throws -> String {
        if !FileManager.default.fileExists(atPath: videoPath) {
            try await FFmpeg.generateTestVideo(to: videoPath, width: 320, height: 180, seconds: 2)
        }
        return videoPath
    }

    /// Imports the fixture into a channel and returns the video's id.
    @discardableResult
    static func importVideo(_ app: Application, channel: String = "alice", title: String = "First light", visibility: Visibility = .public) async throws -> Int {
        let importer = VideoImporter(db: app.db, storage: app.videotube.storage)
        var options = VideoImporter.Options(channelHandle: channel, title: title, description: "A test clip")
        options.visibility = visibility
        return try await importer.importFile(at: try await video(), options).requireID()
    }
}

struct ErrorBody: Decodable {
    struct Detail: Decodable {
        var code: String
        var message: String
    }
    var error: Detail
}
