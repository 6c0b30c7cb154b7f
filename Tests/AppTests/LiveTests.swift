import App
import Fluent
import Foundation
import Testing
import VaporTesting

/// Stream keys: only the owner sees or replaces them; a new key makes the old one useless.
@Suite("Live: stream keys", .serialized)
struct LiveTests {
    @Test("The owner reads and replaces the key; strangers get 403, nobody signed in 401; the old key stops resolving")
    func streamKeys() async throws {
        try await withApp { app in
            // given
            let owner = try await Accounts.user(app, "lena")
            let token = try await Accounts.token(app, owner)
            _ = try await api(app, .POST, "/api/v1/channels", token: token, json: ["handle": "lena-live", "name": "Lena"])
            let stranger = try await Accounts.token(app, try await Accounts.user(app, "max"))

            // when / then
            let first = try await api(app, .GET, "/api/v1/channels/@lena-live/stream-key", token: token)
            #expect(first.status == .ok)
            let key = try #require(first.json["stream_key"] as? String)
            #expect(key.hasPrefix("live_") && key.count > 40)
            #expect((first.json["server"] as? String)?.hasPrefix("rtmp://") == true)
            #expect(first.json["live"] as? Bool == false)
            let again = try await api(app, .GET, "/api/v1/channels/@lena-live/stream-key", token: token)
            #expect(again.json["stream_key"] as? String == key)
            #expect(try await api(app, .GET, "/api/v1/channels/@lena-live/stream-key", token: stranger).status == .forbidden)
            #expect(try await api(app, .POST, "/api/v1/channels/@lena-live/stream-key", token: stranger).status == .forbidden)
            #expect(try await api(app, .GET, "/api/v1/channels/@lena-live/stream-key").status == .unauthorized)

            let live = LiveService(db: app.db, registry: app.videotube.live)
            #expect(try await live.channel(forKey: key)?.handle == "lena-live")
            let replaced = try await api(app, .POST, "/api/v1/channels/@lena-live/stream-key", token: token)
            let newKey = try #require(replaced.json["stream_key"] as? String)
            #expect(newKey != key)
            #expect(try await live.channel(forKey: key) == nil)
            #expect(try await live.channel(forKey: newKey)?.handle == "lena-live")

            // A disabled owner's key does not publish.
            try await AdminService(db: app.db, storage: app.videotube.storage).setDisabled(owner, true, accounts: Accounts.service(app))
            #expect(try await live.channel(forKey: newKey) == nil)
        }
    }

    @Test("A channel left live by a node that died goes offline at the next start; one with a fresh playlist stays live")
    func staleLiveFlags() async throws {
        try await withApp { app in
            // given: two channels flagged live a minute ago; only one has a playlist being written
            let owner = try await Accounts.user(app, "nora")
            let token = try await Accounts.token(app, owner)
            for handle in ["dead-stream", "alive-stream"] {
                _ = try await api(app, .POST, "/api/v1/channels", token: token, json: ["handle": handle, "name": handle])
            }
            try await App.Channel.query(on: app.db).set(\.$liveStartedAt, to: Date().addingTimeInterval(-60)).update()
            let alive = try #require(try await App.Channel.query(on: app.db).filter(\.$handle == "alive-stream").first())
            let root = app.videotube.config.liveDirectory
            try FileManager.default.createDirectory(atPath: "\(root)/\(alive.id!)", withIntermediateDirectories: true)
            FileManager.default.createFile(atPath: "\(root)/\(alive.id!)/index.m3u8", contents: Data("#EXTM3U\n".utf8))

            // when
            let cleared = try await LiveService(db: app.db, registry: app.videotube.live).clearStale(liveRoot: root)

            // then
            #expect(cleared == 1)
            let live = try await LiveService(db: app.db, registry: app.videotube.live).liveChannels().map(\.handle)
            #expect(live == ["alive-stream"])
            let playlist = try await api(app, .GET, "/live/dead-stream/index.m3u8")
            #expect(playlist.status == .notFound)
            let served = try await LiveServer.send(app, .GET, "/live/alive-stream/index.m3u8", headers: [:], body: nil)
            #expect(served.status == .ok)
            #expect(served.headers.first(name: .contentType) == "application/vnd.apple.mpegurl")
        }
    }

    @Test("Regenerating drops the publisher registered for the channel, and one channel has one publisher")
    func registry() {
        let registry = LiveRegistry()
        let dropped = LockedCounter()
        let first = registry.claim(channelID: 7, disconnect: { @Sendable in dropped.increment() })
        let second = registry.claim(channelID: 7, disconnect: { @Sendable in })
        #expect(first)
        #expect(!second)
        registry.disconnect(channelID: 7, reason: "test")
        #expect(dropped.value == 1)
        registry.release(channelID: 7)
        #expect(!registry.isLive(channelID: 7))
        let third = registry.claim(channelID: 7, disconnect: { @Sendable in })
        #expect(third)
    }
}

final class LockedCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func increment() { lock.withLock { count += 1 } }
    var value: Int { lock.withLock { count } }
}
