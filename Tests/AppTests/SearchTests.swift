import App
import Fluent
import Foundation
import Testing
import VaporTesting

/// Search on the engine the tests run on (SQLite's FTS5, or PostgreSQL's full-text search with DATABASE_URL).
@Suite("Search", .serialized)
struct SearchTests {
    /// A video made quickly (no ffmpeg): a row with the given text in a channel of that handle.
    @discardableResult
    private func video(
        _ app: Application, _ title: String, description: String = "", channel handle: String = "alice",
        visibility: Visibility = .public, status: VideoStatus = .ready
    ) async throws -> Int {
        let channel: App.Channel
        if let found = try await App.Channel.query(on: app.db).filter(\.$handle == handle).first() {
            channel = found
        } else {
            channel = App.Channel(handle: handle, name: handle.capitalized)
            try await channel.save(on: app.db)
        }
        let video = Video(
            channelID: try channel.requireID(), title: title, description: description, mediaKey: "videos/x.mp4", thumbnailKey: nil,
            duration: 10, size: 100, width: 640, height: 360, mimeType: "video/mp4", videoCodec: "h264", audioCodec: nil,
            visibility: visibility, status: status)
        try await video.save(on: app.db)
        return try video.requireID()
    }

    private func titles(_ app: Application, _ query: String) async throws -> [String] {
        try await SearchService(db: app.db).videos(query).items.map(\.title)
    }

    @Test("Titles rank above descriptions; prefixes match; case and accents don't matter; more words narrow")
    func rankingPrefixAccents() async throws {
        try await withApp { app in
            try await video(app, "Cooking pasta", description: "A speedrun of dinner")
            try await video(app, "Speedrun any% world record", description: "Fast")
            try await video(app, "Été à Paris", description: "Summer")
            try await video(app, "Unrelated", description: "nothing here")
            #expect(try await titles(app, "speedrun") == ["Speedrun any% world record", "Cooking pasta"])
            #expect(try await titles(app, "spee") == ["Speedrun any% world record", "Cooking pasta"])
            #expect(try await titles(app, "ete") == ["Été à Paris"])
            #expect(try await titles(app, "ETE") == ["Été à Paris"])
            #expect(try await titles(app, "été") == ["Été à Paris"])
            #expect(try await titles(app, "speedrun world") == ["Speedrun any% world record"])
            #expect(try await titles(app, "speedrun paris") == [])
            // punctuation and operators are just separators, never syntax
            #expect(try await titles(app, "\"speed* OR (paris") == [])
            #expect(try await titles(app, "   ") == [])
            #expect(try await titles(app, "pasta:* & !x | y") == [])
            #expect(try await titles(app, "cooking-pasta") == ["Cooking pasta"])
            // the channel's name is searched too
            try await video(app, "Morning show", channel: "zoe-bakes")
            #expect(try await titles(app, "zoe") == ["Morning show"])
        }
    }

    @Test("Nothing private, unlisted, unfinished, taken down or of a disabled owner is ever found")
    func onlyListedVideos() async throws {
        try await withApp { app in
            try await video(app, "Secret recipe one", visibility: .private)
            try await video(app, "Secret recipe two", visibility: .unlisted)
            try await video(app, "Secret recipe three", status: .processing)
            let down = try await video(app, "Secret recipe four")
            try await Video.query(on: app.db).filter(\.$id == down).set(\.$takedownReason, to: "spam").update()
            let owner = try await Accounts.user(app, "dora")
            let channel = App.Channel(handle: "doras", name: "Dora's Secret Kitchen")
            channel.$owner.id = try owner.requireID()
            try await channel.save(on: app.db)
            try await video(app, "Secret recipe five", channel: "doras")
            try await video(app, "Secret recipe six")
            #expect(try await titles(app, "secret").sorted() == ["Secret recipe five", "Secret recipe six"])
            #expect(try await SearchService(db: app.db).channels("secret kitchen").items.map(\.handle) == ["doras"])
            owner.disabled = true
            try await owner.save(on: app.db)
            #expect(try await titles(app, "secret") == ["Secret recipe six"])
            #expect(try await SearchService(db: app.db).channels("secret kitchen").items.isEmpty)
        }
    }

    @Test("Edits, renames and deletes reach the index at once")
    func indexFollowsWrites() async throws {
        try await withApp { app in
            let id = try await video(app, "Old title")
            #expect(try await titles(app, "old") == ["Old title"])
            let video = try #require(try await Video.find(id, on: app.db))
            video.title = "Brand new title"
            try await video.save(on: app.db)
            #expect(try await titles(app, "old") == [])
            #expect(try await titles(app, "brand") == ["Brand new title"])
            // renaming the channel changes what finds its videos
            let channel = try #require(try await App.Channel.query(on: app.db).filter(\.$handle == "alice").first())
            channel.name = "Quokka Films"
            try await channel.save(on: app.db)
            #expect(try await titles(app, "quokka") == ["Brand new title"])
            #expect(try await SearchService(db: app.db).channels("quok").items.map(\.name) == ["Quokka Films"])
            // a live title and tags find the channel among live ones
            channel.liveTitle = "Marathon stream"
            channel.liveTags = "chill,retro"
            channel.liveStartedAt = Date()
            try await channel.save(on: app.db)
            #expect(try await SearchService(db: app.db).channels("retro", live: true).items.map(\.name) == ["Quokka Films"])
            try await video.delete(on: app.db)
            #expect(try await titles(app, "brand") == [])
            try await channel.delete(on: app.db)
            #expect(try await SearchService(db: app.db).channels("quokka").items.isEmpty)
        }
    }

    @Test("The API, the suggestions and the results page")
    func apiAndPages() async throws {
        try await withApp { app in
            for i in 1...30 { try await video(app, "Speedrun part \(i)") }
            try await video(app, "Private speedrun", visibility: .private)
            let all = try await api(app, .GET, "/api/v1/search?q=speedrun")
            #expect(all.status == .ok)
            #expect((all.json["videos"] as? [String: Any])?["total"] as? Int == 30)
            let paged = try await api(app, .GET, "/api/v1/search?q=speedrun&type=video&page=2&per_page=20")
            #expect((paged.json["data"] as? [Any])?.count == 10 && paged.json["total"] as? Int == 30)
            let past = try await api(app, .GET, "/api/v1/search?q=speedrun&type=video&page=4&per_page=10")
            #expect((past.json["data"] as? [Any])?.count == 0 && past.json["total"] as? Int == 30)
            #expect(try await api(app, .GET, "/api/v1/search?q=speedrun&type=people").status == .badRequest)
            #expect(try await api(app, .GET, "/api/v1/search?q=x&per_page=1000").status == .badRequest)
            let suggest = try await api(app, .GET, "/api/v1/search/suggest?q=spee")
            let suggestions = try #require(suggest.json["suggestions"] as? [[String: Any]])
            #expect(suggestions.count == 5 + 0 && suggestions.allSatisfy { ($0["url"] as? String)?.hasPrefix("/watch?v=") == true })
            let page = try await LiveServer.send(app, .GET, "/search?q=speedrun", headers: [:], body: nil)
            #expect(page.status == .ok && page.body.contains("Speedrun part 1") && page.body.contains("More results"))
            #expect(!page.body.contains("Private speedrun"))
            let escaped = try await LiveServer.send(app, .GET, "/search?q=%3Cscript%3Ealert(1)%3C/script%3E", headers: [:], body: nil)
            #expect(escaped.status == .ok && !escaped.body.contains("<script>alert(1)") && escaped.body.contains("Nothing matches"))
            // a very long query is cut, not refused
            let long = String(repeating: "speedrun ", count: 500)
            #expect(try await api(app, .GET, "/api/v1/search?q=" + long.replacingOccurrences(of: " ", with: "%20")).status == .ok)
        }
    }
}
