import App
import Fluent
import Foundation
import Testing
import VaporTesting

@Suite("JSON API and reference routes", .serialized)
struct CatalogAPITests {
    @Test("Lists videos with URLs and paging") func listsVideosWithURLsAndPaging() async throws {
        try await withApp { app in
            // given three public videos and a private one, with different view counts
            let a = try await Fixtures.importVideo(app, title: "Alpha")
            let b = try await Fixtures.importVideo(app, channel: "bob", title: "Bravo")
            let c = try await Fixtures.importVideo(app, title: "Charlie")
            _ = try await Fixtures.importVideo(app, title: "Secret", visibility: .private)
            for (id, views) in [(a, 10), (b, 500), (c, 42)] {
                let video = try #require(try await Video.find(id, on: app.db))
                video.views = views
                try await video.save(on: app.db)
            }
            // when listing by views, two per page
            try await app.testing(method: .running(port: 0)).test(.GET, "/api/v1/videos?sort=views&per_page=2") { res async throws in
                // then the most viewed come first and the private one is not counted
                #expect(res.status == .ok)
                let json = try JSONSerialization.jsonObject(with: Data(buffer: res.body)) as! [String: Any]
                let data = json["data"] as! [[String: Any]]
                #expect(json["total"] as? Int == 3)
                #expect(data.map { $0["title"] as! String } == ["Bravo", "Charlie"])
                let first = data[0]
                #expect((first["stream_url"] as! String).contains("/m/videos/"))
                #expect((first["download_url"] as! String).hasSuffix("/videos/\(b)/download"))
                #expect((first["thumbnail_url"] as! String).contains("/m/thumbnails/"))
                #expect((first["channel"] as! [String: Any])["handle"] as? String == "bob")
                #expect(first["width"] as? Int == 320 && first["video_codec"] as? String == "h264")
            }
        }
    }

    @Test("Bad parameters and ids are clear errors") func badParametersAndIdsAreClearErrors() async throws {
        try await withApp { app in
            let tester = try app.testing()
            for (path, status) in [
                ("/api/v1/videos?sort=oldest", HTTPStatus.badRequest), ("/api/v1/videos?per_page=1000", .badRequest),
                ("/api/v1/videos?page=abc", .badRequest), ("/api/v1/videos/abc", .badRequest),
                ("/api/v1/videos/99999999999999999999", .badRequest), ("/api/v1/videos/12345", .notFound),
                ("/api/v1/channels/@nobody", .notFound), ("/video_metadata/abc", .notFound), ("/channel/0", .notFound),
                ("/videos/12345/stream", .notFound), ("/video_stream/-1", .notFound),
            ] {
                try await tester.test(.GET, path) { res async throws in
                    #expect(res.status == status, "\(path)")
                    let body = try JSONDecoder().decode(ErrorBody.self, from: Data(buffer: res.body))
                    #expect(!body.error.message.isEmpty && !body.error.message.contains("/tmp"), "\(path)")
                }
            }
        }
    }

    @Test("Reference routes keep the reference keys") func referenceRoutesKeepTheReferenceKeys() async throws {
        try await withApp { app in
            // given one video on channel alice
            let id = try await Fixtures.importVideo(app)
            let channelID = try #require(try await App.Channel.query(on: app.db).first()?.id)
            let tester = try app.testing()
            func object(_ path: String) async throws -> [String: Any] {
                var result: [String: Any] = [:]
                try await tester.test(.GET, path) { res async throws in
                    #expect(res.status == .ok, "\(path)")
                    result = try JSONSerialization.jsonObject(with: Data(buffer: res.body)) as! [String: Any]
                }
                return result
            }
            // then each route answers with exactly the reference's keys
            let videoKeys: Set = ["id", "channel_id", "name", "description", "video_url", "thumbnail_url", "created_at", "channel_logo_url", "views"]
            let all = try await object("/all_videos")
            #expect(Set((all["all_videos"] as! [[String: Any]])[0].keys) == videoKeys)
            let meta = try await object("/video_metadata/\(id)")
            #expect(Set((meta["video"] as! [String: Any]).keys) == videoKeys.union(["channel_name", "channel_subs"]))
            let byChannel = try await object("/videos_by_channel_id/\(channelID)")
            #expect((byChannel["videos"] as! [[String: Any]]).count == 1)
            let channels = try await object("/all_channels")
            #expect(
                Set((channels["all_channels"] as! [[String: Any]])[0].keys)
                    == ["id", "name", "description", "logo_url", "subscribers_count", "owner_username", "owner_id"])
            // /channel/{id} wraps a JSON string, as the reference's json.dumps did
            let channel = try await object("/channel/\(channelID)")
            let inner = try JSONSerialization.jsonObject(with: Data((channel["channel"] as! String).utf8)) as! [String: Any]
            #expect(inner["name"] as? String == "alice" && inner["created_at"] is String)
        }
    }
}
