import App
import Fluent
import Foundation
import Testing
import VaporTesting

@Suite("Watch log sessions")
struct WatchLogTests {
    private func entry(
        _ target: WatchLogRecorder.Entry.Target, viewer: String = "user:1", source: WatchSession.Source = .hls, bytes: Int64 = 1000,
        at: Date
    ) -> WatchLogRecorder.Entry {
        .init(
            target: target, viewer: viewer, userID: nil, remoteAddress: "203.0.113.9", userAgent: "test", source: source,
            status: 200, bytes: bytes, at: at)
    }

    @Test("A player's segment requests are one session row, brought up to date, not a row per request")
    func segmentsFoldIntoOneSession() async throws {
        try await withApp { app in
            let id = try await Fixtures.importVideo(app)
            let recorder = WatchLogRecorder(db: app.db, logger: app.logger)
            let start = Date()
            // given a player fetching 30 segments, two seconds apart (a minute of video)
            for i in 0..<10 { recorder.record(entry(.video(id), at: start.addingTimeInterval(Double(i) * 2))) }
            await recorder.flush()
            // then one row is there already, counting what came so far
            var rows = try await WatchSession.query(on: app.db).filter(\.$video.$id == id).all()
            #expect(rows.count == 1 && rows.first?.requests == 10)
            for i in 10..<30 { recorder.record(entry(.video(id), at: start.addingTimeInterval(Double(i) * 2))) }
            await recorder.flush()
            rows = try await WatchSession.query(on: app.db).filter(\.$video.$id == id).all()
            let session = try #require(rows.first)
            #expect(rows.count == 1)
            #expect(session.requests == 30 && session.bytes == 30_000 && session.seconds == 58 && session.source == .hls)
        }
    }

    @Test("A new session starts after a minute without requests, for another viewer, source or live channel")
    func sessionsSplitByGapViewerSourceAndTarget() async throws {
        try await withApp { app in
            let id = try await Fixtures.importVideo(app)
            let channel = try #require(try await App.Channel.query(on: app.db).first()?.id)
            let recorder = WatchLogRecorder(db: app.db, logger: app.logger)
            let start = Date()
            recorder.record(entry(.video(id), at: start))
            recorder.record(entry(.video(id), at: start.addingTimeInterval(30)))
            // past the idle gap: the viewer came back later
            recorder.record(entry(.video(id), at: start.addingTimeInterval(30 + WatchLogRecorder.idleGap + 1)))
            recorder.record(entry(.video(id), viewer: "addr:x", at: start))
            recorder.record(entry(.video(id), source: .download, at: start))
            recorder.record(entry(.live(channelID: channel), source: .live, at: start))
            recorder.record(entry(.live(channelID: channel), source: .live, at: start.addingTimeInterval(1)))
            // a request for nothing (id 0) is not a session
            recorder.record(entry(.video(0), at: start))
            await recorder.flush()
            let rows = try await WatchSession.query(on: app.db).sort(\.$id).all()
            #expect(rows.count == 5)
            // the user's two sessions and the other viewer's one
            let hls = rows.filter { $0.$video.id == id && $0.source == .hls }
            #expect(hls.map(\.requests).sorted() == [1, 1, 2])
            #expect(hls.first { $0.requests == 2 }?.seconds == 30)
            #expect(rows.filter { $0.source == .download }.count == 1)
            let live = try #require(rows.first { $0.source == .live })
            #expect(live.$channel.id == channel && live.$video.id == nil && live.requests == 2)
        }
    }

    @Test("Open sessions are bounded: past the cap new ones are counted as dropped")
    func openSessionsAreBounded() async throws {
        try await withApp { app in
            let id = try await Fixtures.importVideo(app)
            let recorder = WatchLogRecorder(db: app.db, logger: app.logger, capacity: 3)
            for viewer in 0..<5 { recorder.record(entry(.video(id), viewer: "v\(viewer)", at: Date())) }
            // a known session still counts its requests
            recorder.record(entry(.video(id), viewer: "v0", at: Date()))
            await recorder.flush()
            #expect(recorder.dropped == 2)
            #expect(try await WatchSession.query(on: app.db).count() == 3)
        }
    }
}
