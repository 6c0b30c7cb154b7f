import App
import Fluent
import Foundation
import Media
import Testing
import VaporTesting

/// Runs `body` against a configured, migrated app: in-memory SQLite, or PostgreSQL when `DATABASE_URL` is set
/// (each test then gets a clean schema). The media listener runs on a free port. Each SQLite test has a database
/// of its own, so those run in parallel; PostgreSQL tests share one database and run one at a time.
func withApp(_ body: @Sendable (Application) async throws -> Void) async throws {
    try await withApp(settings: { _ in }, body)
}

/// `withApp` with settings changed first (limits, flags).
func withApp(
    settings: @escaping @Sendable (inout AppConfig) -> Void, _ body: @Sendable (Application) async throws -> Void
) async throws {
    if DatabaseLock.isShared {
        try await DatabaseLock.shared.run { try await withUnlockedApp(settings, body) }
    } else {
        try await withUnlockedApp(settings, body)
    }
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
    /// Whether the tests share one database server (PostgreSQL), which only one test may use at a time.
    static let isShared = ProcessInfo.processInfo.environment["DATABASE_URL"].map { !$0.isEmpty } ?? false
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

    private static let making = AsyncLock()

    /// Made once, by whichever test asks first while the others wait.
    static func video() async throws -> String {
        try await making.run {
            if !FileManager.default.fileExists(atPath: videoPath) {
                try await FFmpeg.generateTestVideo(to: videoPath + ".tmp.mp4", width: 320, height: 180, seconds: 2)
                try FileManager.default.moveItem(atPath: videoPath + ".tmp.mp4", toPath: videoPath)
            }
            return videoPath
        }
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
