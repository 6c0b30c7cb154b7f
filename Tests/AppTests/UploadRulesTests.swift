import Fluent
import Foundation
import NIOHTTP1
import Testing
import VaporTesting

@testable import App

/// Rules every upload path shares: the one lock per upload that no path can leak, and the same text limits with
/// the same answer for tus, single uploads, imports, edits and the shell.
@Suite("Upload rules: scoped locks, one set of text limits")
struct UploadRulesTests {
    struct Boom: Error {}

    @Test("An upload's lock is held only while its body runs: a throw frees it, a second writer meanwhile gets 409")
    func uploadLockIsScoped() async throws {
        // given
        let locks = UploadLocks()
        let busy = Abort(.conflict, reason: "busy")

        // when the body throws in the middle
        await #expect(throws: Boom.self) {
            try await locks.withLock("up_1", otherwise: busy) { throw Boom() }
        }

        // then the lock is free again
        #expect(await !locks.isLocked("up_1"))
        let (entered, release) = AsyncStream.makeStream(of: Void.self)
        let (held, hold) = AsyncStream.makeStream(of: Void.self)
        let first = Task {
            try await locks.withLock("up_1", otherwise: busy) {
                release.yield()
                for await _ in held { break }
            }
        }
        for await _ in entered { break }
        await #expect(throws: Abort.self) { try await locks.withLock("up_1", otherwise: busy) {} }
        hold.yield()
        try await first.value
        #expect(await !locks.isLocked("up_1"))
    }

    @Test("Too long a title or description is refused the same way on every path; a title from a file name is cut")
    func textLimitsAreTheSameEverywhere() async throws {
        try await withApp { app in
            // given
            let user = try await Accounts.user(app, "writer")
            let token = try await Accounts.token(app, user)
            _ = try await api(app, .POST, "/api/v1/channels", token: token, json: ["handle": "writer", "name": "Writer"])
            let long = String(repeating: "t", count: VideoLimits.title + 1)
            let longText = String(repeating: "d", count: VideoLimits.description + 1)
            let message = { (json: [String: Any]) in ((json["error"] as? [String: Any])?["message"] as? String) ?? "" }

            // tus: refused at creation, before any byte
            var headers: HTTPHeaders = ["Tus-Resumable": "1.0.0", "Upload-Length": "1000"]
            headers.add(
                name: "Upload-Metadata",
                value: "title \(Data(long.utf8).base64EncodedString()),channel \(Data("writer".utf8).base64EncodedString())")
            let tus = try await api(app, .POST, "/api/v1/uploads", token: token, headers: headers)
            #expect(tus.status == .unprocessableEntity)
            #expect(message(tus.json).contains("at most \(VideoLimits.title) characters"))

            // a single upload: refused before the body is read
            let single = try await api(
                app, .POST, "/api/v1/videos?channel=writer&title=\(long)", token: token, headers: ["Content-Type": "video/mp4"],
                body: ByteBuffer(bytes: try Data(contentsOf: URL(fileURLWithPath: try await Fixtures.video()))))
            #expect(single.status == .unprocessableEntity && message(single.json) == message(tus.json))

            // an import and an edit
            let imported = try await api(
                app, .POST, "/api/v1/videos/import", token: token, json: ["url": "http://127.0.0.1:1/x.mp4", "description": longText])
            #expect(imported.status == .unprocessableEntity && message(imported.json).contains("at most \(VideoLimits.description) characters"))
            let (_, id) = try await Accounts.channelWithVideo(app, owner: user, handle: "writer")
            let edit = try await api(app, .PATCH, "/api/v1/videos/\(id)", token: token, json: ["title": long])
            #expect(edit.status == .unprocessableEntity && message(edit.json).contains(message(tus.json)))

            // the shell's import
            var options = VideoImporter.Options(channelHandle: "writer", title: long)
            options.ownerID = try user.requireID()
            await #expect(throws: ValidationFailure.self) {
                _ = try await VideoImporter(db: app.db, storage: app.videotube.storage).importFile(at: try await Fixtures.video(), options)
            }
            #expect(try await Video.query(on: app.db).count() == 1)

            // a title taken from a long file name is cut to fit, not refused
            #expect(VideoLimits.title(fromFilename: "/tmp/" + String(repeating: "n", count: 300) + ".mp4").count == VideoLimits.title)
        }
    }
}
