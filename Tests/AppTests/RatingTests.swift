import App
import Fluent
import Foundation
import Testing
import VaporTesting

@Suite("Likes and dislikes", .serialized)
struct RatingTests {
    @Test("A user likes, changes to a dislike, takes it back; the counts and my_rating follow; strangers and bad input are refused")
    func toggling() async throws {
        try await withApp { app in
            let alice = try await Accounts.user(app, "alice")
            let (_, videoID) = try await Accounts.channelWithVideo(app, owner: alice, handle: "alices")
            let bob = try await Accounts.token(app, try await Accounts.user(app, "bob"))
            // when bob likes it
            let liked = try await api(app, .PUT, "/api/v1/videos/\(videoID)/rating", token: bob, json: ["rating": "like"])
            #expect(liked.status == .ok && liked.json["likes"] as? Int == 1 && liked.json["my_rating"] as? String == "like")
            // liking again changes nothing
            _ = try await api(app, .PUT, "/api/v1/videos/\(videoID)/rating", token: bob, json: ["rating": "like"])
            var video = try await api(app, .GET, "/api/v1/videos/\(videoID)", token: bob)
            #expect(video.json["likes"] as? Int == 1 && video.json["dislikes"] as? Int == 0 && video.json["my_rating"] as? String == "like")
            // a dislike replaces the like
            _ = try await api(app, .PUT, "/api/v1/videos/\(videoID)/rating", token: bob, json: ["rating": "dislike"])
            video = try await api(app, .GET, "/api/v1/videos/\(videoID)", token: bob)
            #expect(video.json["likes"] as? Int == 0 && video.json["dislikes"] as? Int == 1 && video.json["my_rating"] as? String == "dislike")
            // none takes it back
            _ = try await api(app, .PUT, "/api/v1/videos/\(videoID)/rating", token: bob, json: ["rating": "none"])
            video = try await api(app, .GET, "/api/v1/videos/\(videoID)")
            #expect(video.json["dislikes"] as? Int == 0 && video.json["my_rating"] == nil)
            // signed out: 401; a wrong value: 400; a missing video: 404
            #expect(try await api(app, .PUT, "/api/v1/videos/\(videoID)/rating", json: ["rating": "like"]).status == .unauthorized)
            #expect(try await api(app, .PUT, "/api/v1/videos/\(videoID)/rating", token: bob, json: ["rating": "love"]).status == .unprocessableEntity)
            #expect(try await api(app, .PUT, "/api/v1/videos/999999/rating", token: bob, json: ["rating": "like"]).status == .notFound)
            // a private video is as missing to a stranger
            let (_, hidden) = try await Accounts.channelWithVideo(app, owner: alice, handle: "alices2", visibility: .private)
            #expect(try await api(app, .PUT, "/api/v1/videos/\(hidden)/rating", token: bob, json: ["rating": "like"]).status == .notFound)
        }
    }

    @Test("Counts stay exact under concurrent votes: 20 users at once, and one user changing their mind 20 times at once")
    func concurrentVotes() async throws {
        try await withApp { app in
            let alice = try await Accounts.user(app, "alice")
            let (_, videoID) = try await Accounts.channelWithVideo(app, owner: alice, handle: "alices")
            var tokens: [String] = []
            for i in 0..<20 { tokens.append(try await Accounts.token(app, try await Accounts.user(app, "voter\(i)"))) }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (i, token) in tokens.enumerated() {
                    group.addTask {
                        _ = try await api(app, .PUT, "/api/v1/videos/\(videoID)/rating", token: token, json: ["rating": i % 4 == 0 ? "dislike" : "like"])
                    }
                }
                try await group.waitForAll()
            }
            var counts = try await RatingService(db: app.db).counts(videoIDs: [videoID])[videoID]
            #expect(counts == RatingService.Counts(likes: 15, dislikes: 5))
            let flipper = tokens[1]
            try await withThrowingTaskGroup(of: Void.self) { group in
                for i in 0..<20 {
                    group.addTask {
                        _ = try await api(app, .PUT, "/api/v1/videos/\(videoID)/rating", token: flipper, json: ["rating": ["like", "dislike", "none"][i % 3]])
                    }
                }
                try await group.waitForAll()
            }
            // whatever won, the counts are the rows: 14 other likes, 5 dislikes, plus the flipper's last word
            counts = try await RatingService(db: app.db).counts(videoIDs: [videoID])[videoID]
            let rows = try await VideoRating.query(on: app.db).filter(\.$video.$id == videoID).all()
            #expect(counts?.likes == rows.filter { $0.value == 1 }.count && counts?.dislikes == rows.filter { $0.value == -1 }.count)
            #expect(rows.count <= 20 && rows.count >= 19)
        }
    }

    @Test("Channels sort by rating, views or subscribers; live channels by viewers or rating")
    func channelSorts() async throws {
        try await withApp { app in
            let alice = try await Accounts.user(app, "alice")
            let (_, first) = try await Accounts.channelWithVideo(app, owner: alice, handle: "quiet")
            let (_, second) = try await Accounts.channelWithVideo(app, owner: alice, handle: "loved")
            try await Video.query(on: app.db).filter(\.$id == first).set(\.$views, to: 500).update()
            let bob = try await Accounts.token(app, try await Accounts.user(app, "bob"))
            _ = try await api(app, .PUT, "/api/v1/videos/\(second)/rating", token: bob, json: ["rating": "like"])
            _ = try await api(app, .PUT, "/api/v1/videos/\(first)/rating", token: bob, json: ["rating": "dislike"])
            func handles(_ sort: String) async throws -> [String] {
                let res = try await api(app, .GET, "/api/v1/channels?sort=\(sort)")
                return ((res.json["data"] as? [[String: Any]]) ?? []).compactMap { $0["handle"] as? String }
            }
            #expect(try await handles("rating") == ["loved", "quiet"])
            #expect(try await handles("views") == ["quiet", "loved"])
            let rated = try await api(app, .GET, "/api/v1/channels?sort=rating")
            #expect(((rated.json["data"] as? [[String: Any]])?.first?["rating"] as? Int) == 1)
            #expect(try await api(app, .GET, "/api/v1/channels?sort=best").status == .badRequest)
            #expect(try await api(app, .GET, "/api/v1/live?sort=rating").status == .ok)
            #expect(try await api(app, .GET, "/api/v1/live?sort=loudest").status == .badRequest)
        }
    }
}
