@testable import App
import Fluent
import Foundation
import Testing
import VaporTesting

@Suite("Pages", .serialized)
struct PageTests {
    @Test("Home channel and watch pages show the catalog") func homeChannelAndWatchPagesShowTheCatalog() async throws {
        try await withApp { app in
            // given one video
            let id = try await Fixtures.importVideo(app, title: "Sunrise timelapse")
            let tester = try app.testing()
            // then the home page has its video box, the channel page its header, the watch page its player
            try await tester.test(.GET, "/") { res async in
                #expect(res.status == .ok)
                let html = String(buffer: res.body)
                #expect(html.contains("Sunrise timelapse") && html.contains("/watch?v=\(id)") && html.contains("red-loading-bar"))
                #expect(html.contains("0 views"))
            }
            try await tester.test(.GET, "/@alice") { res async in
                #expect(res.status == .ok && String(buffer: res.body).contains("@alice"))
            }
            try await tester.test(.GET, "/channels") { res async in
                #expect(res.status == .ok && String(buffer: res.body).contains("1 video"))
            }
            try await tester.test(.GET, "/watch?v=\(id)") { res async in
                let html = String(buffer: res.body)
                #expect(res.status == .ok && html.contains("<video") && html.contains("/videos/\(id)/download"))
            }
            for path in ["/watch?v=abc", "/watch", "/@nobody", "/nothing-here", "/watch?v=999"] {
                try await tester.test(.GET, path) { res async in
                    #expect(res.status == .notFound, "\(path)")
                    #expect(res.headers.contentType?.subType == "html")
                }
            }
        }
    }

    @Test("Hostile text is escaped") func hostileTextIsEscaped() async throws {
        try await withApp { app in
            // given a title and channel name that try to inject markup
            let hostile = "<script>alert(1)</script>\"><img src=x onerror=alert(2)>'"
            let id = try await Fixtures.importVideo(app, title: hostile)
            let channel = try #require(try await App.Channel.query(on: app.db).first())
            channel.name = hostile
            channel.description = hostile
            try await channel.save(on: app.db)
            // then no page carries it unescaped
            for path in ["/", "/channels", "/@alice", "/watch?v=\(id)"] {
                try await app.testing().test(.GET, path) { res async in
                    let html = String(buffer: res.body)
                    #expect(!html.contains("<script>alert"), "\(path)")
                    #expect(!html.contains("<img src=x"), "\(path)")
                    #expect(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;&quot;&gt;"), "\(path)")
                }
            }
        }
    }

    @Test("Addresses in a description are links (nofollow, ugc, noopener), and nothing else a description holds is markup")
    func descriptionLinks() async throws {
        try await withApp { app in
            // given
            let id = try await Fixtures.importVideo(app, title: "Linked")
            let video = try #require(try await Video.find(id, on: app.db))
            video.description = "Notes: https://example.com/a?b=1&c=2. Also <b>bold</b> and https://x.org/\"><script>y</script>"
            try await video.save(on: app.db)

            // when
            try await app.testing().test(.GET, "/watch?v=\(id)") { res async in
                let html = String(buffer: res.body)
                // then
                #expect(html.contains(#"<a class="link" href="https://example.com/a?b=1&amp;c=2" rel="nofollow ugc noopener" target="_blank">https://example.com/a?b=1&amp;c=2</a>. Also &lt;b&gt;bold&lt;/b&gt;"#))
                #expect(html.contains(#"href="https://x.org/""#) && !html.contains("<script>y"))
            }
            // Thumbnails are announced by their title, not only their duration.
            try await app.testing().test(.GET, "/") { res async in
                #expect(String(buffer: res.body).contains(#"<a class="thumb" href="/watch?v=\#(id)" aria-label="Linked ("#))
            }
        }
    }
}

@Suite("Formatting")
struct FormattingTests {
    @Test("Linkified text: http(s) addresses only, trailing punctuation left as text")
    func linkified() {
        #expect(TextPart.linkified("see https://a.org/x. ok") == [
            TextPart(text: "see "), TextPart(text: "https://a.org/x", url: "https://a.org/x"), TextPart(text: ". ok"),
        ])
        #expect(TextPart.linkified("(http://b.net)") == [TextPart(text: "("), TextPart(text: "http://b.net", url: "http://b.net"), TextPart(text: ")")])
        #expect(TextPart.linkified("javascript:alert(1) httpx://no http:// https") == [TextPart(text: "javascript:alert(1) httpx://no http:// https")])
        #expect(TextPart.linkified("") == [])
    }

    @Test("Counts") func counts() {
        #expect(Formatting.count(999) == "999")
        #expect(Formatting.count(1000) == "1K")
        #expect(Formatting.count(1234) == "1.2K")
        #expect(Formatting.count(48_213) == "48K")
        #expect(Formatting.count(3_400_000) == "3.4M")
        #expect(Formatting.count(1_100_000_000) == "1.1B")
    }

    @Test("Ages") func ages() {
        let now = Date(timeIntervalSince1970: 1_000_000_000)
        #expect(Formatting.age(of: now.addingTimeInterval(-5), now: now) == "just now")
        #expect(Formatting.age(of: now.addingTimeInterval(-60), now: now) == "1 minute ago")
        #expect(Formatting.age(of: now.addingTimeInterval(-300), now: now) == "5 minutes ago")
        #expect(Formatting.age(of: now.addingTimeInterval(-3 * 86400), now: now) == "3 days ago")
        #expect(Formatting.age(of: now.addingTimeInterval(-2 * 365 * 86400), now: now) == "2 years ago")
        #expect(Formatting.duration(65) == "1:05" && Formatting.duration(3723) == "1:02:03")
    }
}

@Suite("Configuration")
struct ConfigTests {
    @Test("Malformed values name the variable") func malformedValuesNameTheVariable() throws {
        for (name, value) in [
            ("VIDEOTUBE_MAX_CHUNK_BYTES", "lots"), ("PORT", "99999"), ("VIDEOTUBE_WATCH_LOG", "maybe"),
            ("DATABASE_URL", "mysql://x"), ("VIDEOTUBE_MEDIA_PORT", "-1"), ("VIDEOTUBE_SECRET", "short"),
        ] {
            #expect {
                _ = try AppConfig.load(environment: [name: value])
            } throws: { error in
                // the message names the variable, and echoes the value unless it is a secret
                (error as? ConfigError)?.variable == name && (name == "VIDEOTUBE_SECRET" || "\(error)".contains(value))
            }
        }
        #expect(try AppConfig.load(environment: [:]).maxChunkBytes == 8 << 20)
        #expect(try AppConfig.load(environment: ["VIDEOTUBE_WATCH_LOG": "off"]).watchLog == false)
    }

    @Test("serve --port names the node after that port, as PORT does; other commands and a bad value are told apart")
    func portFromTheCommandLine() throws {
        let host = ProcessInfo.processInfo.hostName
        #expect(try AppConfig.load(environment: [:], arguments: ["videotube", "serve", "--port", "38080"]).nodeID == "\(host):38080")
        #expect(try AppConfig.load(environment: [:], arguments: ["videotube", "-p", "38081"]).port == 38081)
        #expect(try AppConfig.load(environment: ["PORT": "9000"], arguments: ["videotube", "serve"]).nodeID == "\(host):9000")
        #expect(try AppConfig.load(environment: [:], arguments: ["videotube", "import", "x.mp4", "--port", "1"]).port == 8080)
        #expect(try AppConfig.load(environment: ["VIDEOTUBE_NODE_ID": "n1"], arguments: ["videotube", "serve", "-p", "5"]).nodeID == "n1")
        #expect(throws: ConfigError.self) { try AppConfig.load(environment: [:], arguments: ["videotube", "serve", "--port", "lots"]) }
    }
}

@Suite("Importing")
struct ImportTests {
    @Test("Non video is refused and nothing is left") func nonVideoIsRefusedAndNothingIsLeft() async throws {
        try await withApp { app in
            // given a text file named like a video
            let path = NSTemporaryDirectory() + "not-a-video-\(UUID().uuidString).mp4"
            try Data("hello, this is not a video".utf8).write(to: URL(fileURLWithPath: path))
            defer { try? FileManager.default.removeItem(atPath: path) }
            // when importing it, then the refusal says what to do
            await #expect {
                _ = try await VideoImporter(db: app.db, storage: app.videotube.storage).importFile(at: path, .init(channelHandle: "alice"))
            } throws: { error in
                "\(error)".contains("not a video")
            }
            // and no row or stored file was made
            #expect(try await Video.query(on: app.db).count() == 0)
            let media = app.videotube.config.mediaDirectory
            let files = FileManager.default.enumerator(atPath: media)?.allObjects.compactMap { $0 as? String }.filter { $0.contains(".") } ?? []
            #expect(files.isEmpty)
        }
    }

    @Test("Handles are checked") func handlesAreChecked() throws {
        #expect(throws: ValidationFailure.self) { try App.Channel.normalizedHandle("ab") }
        #expect(throws: ValidationFailure.self) { try App.Channel.normalizedHandle(String(repeating: "a", count: 26)) }
        #expect(throws: ValidationFailure.self) { try App.Channel.normalizedHandle("bad handle!") }
        #expect(try App.Channel.normalizedHandle("@Alice_01") == "alice_01")
    }
}
