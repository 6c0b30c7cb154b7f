import App
import Fluent
import Foundation
import Testing
import VaporTesting

@Suite("Categories")
struct CategoryTests {
    @Test("Category slugs are lowercase words joined by hyphens, and lead back to their category")
    func slugs() {
        #expect(ChannelOptions.slug(of: "Science & Technology") == "science-technology")
        #expect(ChannelOptions.category(slug: "science-technology") == "Science & Technology")
        #expect(ChannelOptions.category(slug: "FOOD-DRINK") == "Food & Drink")
        #expect(ChannelOptions.category(slug: "../etc") == nil)
        #expect(Set(ChannelOptions.categories.map(ChannelOptions.slug(of:))).count == ChannelOptions.categories.count)
    }

    @Test("A category's page shows its channels' videos, the list counts channels, the home page offers chips")
    func pages() async throws {
        try await withApp { app in
            // given a Gaming channel with a video and an uncategorised one
            let gaming = try await Fixtures.importVideo(app, channel: "gamer", title: "Speedrun of the week")
            let other = try await Fixtures.importVideo(app, channel: "cook", title: "Pasta night")
            try await App.Channel.query(on: app.db).filter(\.$handle == "gamer").set(\.$category, to: "Gaming").update()
            // then the Gaming page lists the gaming video only
            let page = try await LiveServer.send(app, .GET, "/categories/gaming", headers: [:], body: nil)
            #expect(page.status == .ok && page.body.contains("Speedrun of the week") && !page.body.contains("Pasta night"))
            #expect(page.body.contains("/watch?v=\(gaming)") && !page.body.contains("/watch?v=\(other)"))
            #expect(try await LiveServer.send(app, .GET, "/categories/music", headers: [:], body: nil).body.contains("No videos in Music yet"))
            #expect(try await LiveServer.send(app, .GET, "/categories/nothing-here", headers: [:], body: nil).status == .notFound)
            // the list and the API count channels per category
            let list = try await LiveServer.send(app, .GET, "/categories", headers: [:], body: nil)
            #expect(list.body.contains("href=\"/categories/gaming\"") && list.body.contains("1 channel"))
            let json = try await api(app, .GET, "/api/v1/categories")
            let entries = try #require(json.json["data"] as? [[String: Any]])
            let entry = try #require(entries.first { $0["slug"] as? String == "gaming" })
            #expect(entry["name"] as? String == "Gaming" && entry["channels"] as? Int == 1 && entry["live"] as? Int == 0)
            #expect(entries.count == ChannelOptions.categories.count)
            // the home page offers a chip for Gaming (it has a channel), none for Music; the channel page links it
            let home = try await LiveServer.send(app, .GET, "/", headers: [:], body: nil)
            #expect(home.body.contains("href=\"/categories/gaming\">Gaming</a>") && !home.body.contains("href=\"/categories/music\""))
            let channel = try await LiveServer.send(app, .GET, "/@gamer", headers: [:], body: nil)
            #expect(channel.body.contains("<a class=\"link\" href=\"/categories/gaming\">Gaming</a>"))
        }
    }
}

@Suite("Up next")
struct UpNextTests {
    @Test("Up next shows the same channel's videos first, then the most watched of the rest")
    func sameChannelThenPopular() async throws {
        try await withApp { app in
            let watching = try await Fixtures.importVideo(app, channel: "ann", title: "Part one")
            let sibling = try await Fixtures.importVideo(app, channel: "ann", title: "Part two")
            let quiet = try await Fixtures.importVideo(app, channel: "ben", title: "Quiet one")
            let popular = try await Fixtures.importVideo(app, channel: "ben", title: "Popular one")
            try await Video.query(on: app.db).filter(\.$id == popular).set(\.$views, to: 1000).update()
            let page = try await LiveServer.send(app, .GET, "/watch?v=\(watching)", headers: [:], body: nil).body
            let aside = String(page[try #require(page.range(of: "class=\"up-next\"")).lowerBound...])
            func position(_ id: Int) -> Int? { aside.range(of: "href=\"/watch?v=\(id)\"").map { aside.distance(from: aside.startIndex, to: $0.lowerBound) } }
            let order = [sibling, popular, quiet].compactMap(position)
            #expect(order.count == 3 && order == order.sorted())
            #expect(position(watching) == nil)
        }
    }
}
