import App
import Fluent
import Foundation
import Media
import Testing
import VaporTesting

/// Visibility chosen at upload (tus, single request, import) and a video's own thumbnail (API and studio form).
@Suite("Creator choices: visibility at upload, custom thumbnails", .serialized)
struct CreatorChoicesTests {
    private func owner(_ app: Application) async throws -> (token: String, user: User) {
        let user = try await Accounts.user(app, "vera")
        let token = try await Accounts.token(app, user)
        #expect(try await api(app, .POST, "/api/v1/channels", token: token, json: ["handle": "veras", "name": "Vera"]).status == .created)
        return (token, user)
    }

    private func b64(_ text: String) -> String { Data(text.utf8).base64EncodedString() }

    @Test("The visibility chosen at upload is the video's from the start, by tus and by a single request; a wrong one is 422")
    func visibilityAtUpload() async throws {
        try await withApp { app in
            let (token, _) = try await owner(app)
            let file = try Data(contentsOf: URL(fileURLWithPath: try await Fixtures.video()))
            // tus, private
            var headers: HTTPHeaders = ["Tus-Resumable": "1.0.0", "Upload-Length": "\(file.count)"]
            headers.add(name: "Upload-Metadata", value: "filename \(b64("a.mp4")),channel \(b64("veras")),visibility \(b64("private"))")
            let created = try await api(app, .POST, "/api/v1/uploads", token: token, headers: headers)
            let location = try #require(created.headers.first(name: .location).flatMap { URL(string: $0)?.path })
            let done = try await api(
                app, .PATCH, location, token: token,
                headers: ["Tus-Resumable": "1.0.0", "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"],
                body: ByteBuffer(data: file))
            let tusID = try #require(Int(done.headers.first(name: "Videotube-Video-Id") ?? ""))
            #expect(try await Video.find(tusID, on: app.db)?.visibility == .private)
            // a single request, unlisted
            let single = try await api(
                app, .POST, "/api/v1/videos?channel=veras&visibility=unlisted", token: token, body: ByteBuffer(data: file))
            #expect(single.status == .created && single.json["visibility"] as? String == "unlisted")
            // without one: public
            let plain = try await api(app, .POST, "/api/v1/videos?channel=veras", token: token, body: ByteBuffer(data: file))
            #expect(plain.json["visibility"] as? String == "public")
            // a visibility that is none of the three is refused before a byte is stored
            let wrong = try await api(app, .POST, "/api/v1/videos?channel=veras&visibility=secret", token: token, body: ByteBuffer(data: file))
            #expect(wrong.status == .unprocessableEntity)
            var bad = HTTPHeaders(headers.map { ($0.name, $0.value) })
            bad.replaceOrAdd(name: "Upload-Metadata", value: "channel \(b64("veras")),visibility \(b64("friends"))")
            let refused = try await api(app, .POST, "/api/v1/uploads", token: token, headers: bad)
            #expect(refused.status == .unprocessableEntity)
            #expect("\(refused.json)".contains("public, unlisted or private"))
            #expect(try await Video.query(on: app.db).count() == 3)
        }
    }

    @Test("A custom thumbnail replaces the frame, survives processing, refuses non-pictures and strangers")
    func customThumbnail() async throws {
        try await withApp { app in
            let (token, _) = try await owner(app)
            let file = try Data(contentsOf: URL(fileURLWithPath: try await Fixtures.video()))
            let created = try await api(app, .POST, "/api/v1/videos?channel=veras", token: token, body: ByteBuffer(data: file))
            let id = try #require(created.json["id"] as? Int)
            // the owner sends a picture before processing has made a frame
            let png = try await OwnershipTests.png()
            let saved = try await api(app, .PUT, "/api/v1/videos/\(id)/thumbnail", token: token, headers: ["Content-Type": "image/png"], body: png)
            #expect(saved.status == .ok && (saved.json["thumbnail_url"] as? String) != nil)
            let key = try #require(try await Video.find(id, on: app.db)?.thumbnailKey)
            let probe = try await ProcessRunner.run(
                "ffprobe", ["-v", "error", "-show_entries", "stream=codec_name,width,height", "-of", "csv=p=0", try app.videotube.storage.localPath(for: key)])
            #expect(String(decoding: probe.stdout, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) == "mjpeg,1280,720")
            // processing keeps it, and leaves no stray frame in storage
            #expect(try await app.videotube.jobs.runNext())
            #expect(try await Video.find(id, on: app.db)?.thumbnailKey == key)
            let thumbnails = (FileManager.default.enumerator(atPath: app.videotube.config.mediaDirectory + "/thumbnails")?.allObjects as? [String] ?? [])
                .filter { $0.hasSuffix(".jpg") }
            #expect(thumbnails.count == 1)
            // a second picture replaces the first, whose file goes
            let again = try await api(app, .PUT, "/api/v1/videos/\(id)/thumbnail", token: token, headers: ["Content-Type": "image/png"], body: png)
            #expect(again.status == .ok)
            let second = try #require(try await Video.find(id, on: app.db)?.thumbnailKey)
            #expect(second != key && app.videotube.storage.representation(of: key) == nil)
            // a non-picture is refused and changes nothing
            let text = try await api(
                app, .PUT, "/api/v1/videos/\(id)/thumbnail", token: token, headers: ["Content-Type": "image/png"],
                body: ByteBuffer(string: "not a picture at all"))
            #expect(text.status == .unprocessableEntity)
            #expect(try await Video.find(id, on: app.db)?.thumbnailKey == second)
            // someone else may watch it but not change it (403), and no one can change what isn't there (404)
            let other = try await Accounts.token(app, try await Accounts.user(app, "mallory"))
            let stranger = try await api(app, .PUT, "/api/v1/videos/\(id)/thumbnail", token: other, headers: ["Content-Type": "image/png"], body: png)
            let missing = try await api(app, .PUT, "/api/v1/videos/999999/thumbnail", token: other, headers: ["Content-Type": "image/png"], body: png)
            #expect(stranger.status == .forbidden && missing.status == .notFound)
            #expect(try await Video.find(id, on: app.db)?.thumbnailKey == second)
        }
    }

    @Test("The studio's thumbnail form saves a picture and redraws the edit page with the reason for a refused one")
    func studioThumbnailForm() async throws {
        try await withApp { app in
            let (token, _) = try await owner(app)
            let file = try Data(contentsOf: URL(fileURLWithPath: try await Fixtures.video()))
            let id = try #require(try await api(app, .POST, "/api/v1/videos?channel=veras", token: token, body: ByteBuffer(data: file)).json["id"] as? Int)
            let browser = Browser(app)
            try await browser.signIn("vera")
            let page = try await browser.get("/studio/videos/\(id)")
            #expect(page.body.contains("action=\"/studio/videos/\(id)/thumbnail\"") && page.body.contains("enctype=\"multipart/form-data\""))
            let refused = try await browser.send(
                .POST, "/studio/videos/\(id)/thumbnail", headers: ["Content-Type": "multipart/form-data; boundary=XYZ"],
                body: OwnershipTests.multipart(csrf: browser.csrf, filename: "x.txt", type: "text/plain", data: Data("hello".utf8)))
            #expect(refused.status == .unprocessableEntity && refused.body.contains("The thumbnail was not changed"))
            #expect(refused.body.contains("Danger zone"))
            let saved = try await browser.send(
                .POST, "/studio/videos/\(id)/thumbnail", headers: ["Content-Type": "multipart/form-data; boundary=XYZ"],
                body: OwnershipTests.multipart(csrf: browser.csrf, filename: "t.png", type: "image/png", data: Data(buffer: try await OwnershipTests.png())))
            #expect(saved.status == .seeOther)
            #expect(try await Video.find(id, on: app.db)?.thumbnailKey != nil)
            // without the CSRF token the form is refused
            let forged = try await browser.send(
                .POST, "/studio/videos/\(id)/thumbnail", headers: ["Content-Type": "multipart/form-data; boundary=XYZ"],
                body: OwnershipTests.multipart(csrf: "forged", filename: "t.png", type: "image/png", data: Data(buffer: try await OwnershipTests.png())))
            #expect(forged.status == .forbidden)
        }
    }
}
