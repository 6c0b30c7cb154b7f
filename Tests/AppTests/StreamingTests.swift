import App
import Fluent
import Foundation
import Media
import Testing
import VaporTesting

@Suite("Streaming and download over HTTP", .serialized)
struct StreamingTests {
    @Test("Ranges on the app route") func rangesOnTheAppRoute() async throws {
        try await withApp { app in
            // given an imported video and its bytes on disk
            let id = try await Fixtures.importVideo(app)
            let original = try Data(contentsOf: URL(fileURLWithPath: try await Fixtures.video()))
            let size = original.count
            let tester = try app.testing(method: .running(port: 0))
            for path in ["/videos/\(id)/stream", "/video_stream/\(id)"] {
                // whole file
                try await tester.test(.GET, path) { res async in
                    #expect(res.status == .ok)
                    #expect(res.headers.first(name: "Accept-Ranges") == "bytes")
                    #expect(res.headers.first(name: .contentType) == "video/mp4")
                    #expect(Data(buffer: res.body) == original)
                }
                // a range, a suffix, an end past the file
                for (range, slice, contentRange) in [
                    ("bytes=0-99", 0..<100, "bytes 0-99/\(size)"),
                    ("bytes=-10", (size - 10)..<size, "bytes \(size - 10)-\(size - 1)/\(size)"),
                    ("bytes=100-99999999", 100..<size, "bytes 100-\(size - 1)/\(size)"),
                ] {
                    try await tester.test(.GET, path, headers: ["Range": range]) { res async in
                        #expect(res.status == .partialContent, "\(range)")
                        #expect(res.headers.first(name: "Content-Range") == contentRange)
                        #expect(Data(buffer: res.body) == original[slice])
                    }
                }
                // unsatisfiable and junk
                try await tester.test(.GET, path, headers: ["Range": "bytes=\(size)-"]) { res async in
                    #expect(res.status == .rangeNotSatisfiable)
                    #expect(res.headers.first(name: "Content-Range") == "bytes */\(size)")
                }
                try await tester.test(.GET, path, headers: ["Range": "bytes=--1"]) { res async in
                    #expect(res.status == .ok && res.body.readableBytes == size)
                }
            }
            // several ranges → multipart/byteranges with both parts
            try await tester.test(.GET, "/videos/\(id)/stream", headers: ["Range": "bytes=0-3,10-13"]) { res async in
                #expect(res.status == .partialContent)
                let type = res.headers.first(name: .contentType) ?? ""
                #expect(type.hasPrefix("multipart/byteranges; boundary="))
                let body = String(decoding: Data(buffer: res.body), as: UTF8.self)
                #expect(body.contains("Content-Range: bytes 0-3/\(size)") && body.contains("Content-Range: bytes 10-13/\(size)"))
            }
            // validators: 304 for If-None-Match, full 200 for a stale If-Range
            var etag = ""
            try await tester.test(.HEAD, "/videos/\(id)/stream") { res async in
                #expect(res.status == .ok)
                #expect(res.headers.first(name: .contentLength) == "\(size)")
                etag = res.headers.first(name: .eTag) ?? ""
                #expect(res.headers.first(name: .lastModified) != nil)
            }
            try await tester.test(.GET, "/videos/\(id)/stream", headers: ["If-None-Match": etag]) { res async in
                #expect(res.status == .notModified)
            }
            try await tester.test(.GET, "/videos/\(id)/stream", headers: ["Range": "bytes=0-9", "If-Range": "\"stale\""]) { res async in
                #expect(res.status == .ok && res.body.readableBytes == size)
            }
        }
    }

    @Test("Download names the file after the title") func downloadNamesTheFileAfterTheTitle() async throws {
        try await withApp { app in
            let id = try await Fixtures.importVideo(app, title: "Ünïcode \"quoted\" a/b")
            try await app.testing().test(.GET, "/videos/\(id)/download") { res async in
                #expect(res.status == .ok)
                #expect(
                    res.headers.first(name: .contentDisposition)
                        == "attachment; filename=\"_n_code _quoted_ a_b.mp4\"; filename*=UTF-8''%C3%9Cn%C3%AFcode%20%22quoted%22%20a_b.mp4")
            }
        }
    }

    @Test("Private videos are not found anywhere") func privateVideosAreNotFoundAnywhere() async throws {
        try await withApp { app in
            let id = try await Fixtures.importVideo(app, visibility: .private)
            let tester = try app.testing()
            for path in ["/videos/\(id)/stream", "/videos/\(id)/download", "/api/v1/videos/\(id)", "/video_metadata/\(id)"] {
                try await tester.test(.GET, path) { res async in
                    #expect(res.status == .notFound, "\(path)")
                    #expect(!String(buffer: res.body).contains(app.videotube.config.dataDirectory))
                }
            }
            try await tester.test(.GET, "/watch?v=\(id)") { res async in #expect(res.status == .notFound) }
        }
    }

    @Test("Media listener serves signed URLs and logs watches") func mediaListenerServesSignedURLsAndLogsWatches() async throws {
        try await withApp { app in
            // given the stream URL the API hands out
            let id = try await Fixtures.importVideo(app)
            var streamURL = ""
            try await app.testing().test(.GET, "/api/v1/videos/\(id)", headers: ["Host": "127.0.0.1:8080"]) { res async throws in
                let json = try JSONSerialization.jsonObject(with: Data(buffer: res.body)) as! [String: Any]
                streamURL = json["stream_url"] as! String
            }
            #expect(streamURL.hasPrefix("http://127.0.0.1:\(app.videotube.mediaPort)/m/"))
            // when a real client fetches a range from the media listener
            var request = URLRequest(url: URL(string: streamURL)!)
            request.setValue("bytes=0-1023", forHTTPHeaderField: "Range")
            let (body, response) = try await URLSession.shared.data(for: request)
            // then it gets the bytes, and the watch log records the request against the video
            #expect((response as! HTTPURLResponse).statusCode == 206 && body.count == 1024)
            // (the listener reports a connection's requests at the latest a second after them)
            var logs: [WatchSession] = []
            let deadline = Date().addingTimeInterval(5)
            repeat {
                try await Task.sleep(for: .milliseconds(100))
                await app.videotube.watchLog?.flush()
                logs = try await WatchSession.query(on: app.db).filter(\.$video.$id == id).all()
            } while logs.isEmpty && Date() < deadline
            #expect(logs.contains { $0.source == .media && $0.status == 206 && $0.remoteAddress == "127.0.0.1" && $0.bytes == 1024 })
        }
    }
}

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
