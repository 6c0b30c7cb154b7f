import Foundation
import NIOHTTP1
import Testing
import VaporTesting

@testable import App

/// `Public/` from memory: fingerprinted URLs cached for a year, plain names revalidated, text gzipped.
@Suite("Static assets")
struct StaticAssetsTests {
    @Test("Pages load fingerprinted assets that are immutable; plain names answer 304 to their ETag; gzip when asked")
    func assetsAreCachedAndCompressed() async throws {
        try await withApp { app in
            // given: the home page and the stylesheet it links
            let home = try await LiveServer.send(app, .GET, "/", headers: [:], body: nil)
            let range = try #require(home.body.range(of: #"/assets/css/site\.[0-9a-f]{16}\.css"#, options: .regularExpression))
            let css = String(home.body[range])

            // when / then: the fingerprinted URL is cached for a year
            let fingerprinted = try await LiveServer.send(app, .GET, css, headers: [:], body: nil)
            #expect(fingerprinted.status == .ok)
            #expect(fingerprinted.headers.first(name: .cacheControl) == "public, max-age=31536000, immutable")
            #expect(fingerprinted.headers.first(name: .contentType) == "text/css; charset=utf-8")
            #expect(fingerprinted.body == (try String(contentsOfFile: app.directory.publicDirectory + "css/site.css", encoding: .utf8)))

            // the plain name revalidates: 304 with its ETag
            let plain = try await LiveServer.send(app, .GET, "/css/site.css", headers: [:], body: nil)
            #expect(plain.headers.first(name: .cacheControl) == "no-cache")
            let etag = try #require(plain.headers.first(name: .eTag))
            let again = try await LiveServer.send(app, .GET, "/css/site.css", headers: ["If-None-Match": etag], body: nil)
            #expect(again.status == .notModified && again.body.isEmpty)

            // gzip for a client that takes it, with its own ETag
            let zipped = try await LiveServer.send(app, .GET, css, headers: ["Accept-Encoding": "gzip, br"], body: nil)
            #expect(zipped.headers.first(name: .contentEncoding) == "gzip")
            #expect(zipped.headers.first(name: .vary) == "Accept-Encoding")
            #expect(zipped.headers.first(name: .eTag) != fingerprinted.headers.first(name: .eTag))
            #expect((Int(zipped.headers.first(name: .contentLength) ?? "") ?? .max) < fingerprinted.body.utf8.count)

            // HEAD tells the GET's length without the body; POST is not answered from the assets
            let head = try await LiveServer.send(app, .HEAD, css, headers: [:], body: nil)
            #expect(head.status == .ok && head.body.isEmpty)
            #expect(head.headers.first(name: .contentLength) == String(fingerprinted.body.utf8.count))
            #expect(head.headers.first(name: "X-Content-Type-Options") == "nosniff")
            let post = try await LiveServer.send(app, .POST, css, headers: [:], body: nil)
            #expect(post.status == .methodNotAllowed, "\(post.status)")

            // an ES module's relative import resolves beside the fingerprinted file
            #expect(try await LiveServer.send(app, .GET, "/assets/js/storyboard.js", headers: [:], body: nil).status == .ok)
            #expect(try await LiveServer.send(app, .GET, "/assets/js/nothing.js", headers: [:], body: nil).status == .notFound)
        }
    }
}
