import App
import Fluent
import Foundation
import Testing
import VaporTesting

@Suite("Demo content")
struct DemoContentTests {
    @Test("Demo channels say so on their pages, and their made-up counts stay out of the admin's totals")
    func demoCountsAreLabelledAndLeftOutOfTotals() async throws {
        try await withApp { app in
            // given a real video with 5 views and a demo channel's video with a million made-up views
            try await Accounts.user(app, "root", admin: true)
            let real = try await Fixtures.importVideo(app, channel: "realchannel")
            let demo = try await Fixtures.importVideo(app, channel: "testpatterns", title: "Colour bars")
            try await Video.query(on: app.db).filter(\.$id == real).set(\.$views, to: 5).update()
            try await Video.query(on: app.db).filter(\.$id == demo).set(\.$views, to: 1_000_000).update()
            try await App.Channel.query(on: app.db).filter(\.$handle == "testpatterns")
                .set(\.$isDemo, to: true).set(\.$subscribersCount, to: 1_450_000).update()
            // then the admin's totals count the real channel, video and views only, and say what was left out
            let admin = Browser(app)
            try await admin.signIn("root")
            let page = try await admin.get("/admin")
            #expect(page.status == .ok)
            let totals = Self.totals(page.body)
            #expect(totals["Channels"] == "1" && totals["Videos"] == "1" && totals["Views"] == "5", "\(totals)")
            #expect(page.body.contains("Demo content: 1 channel and 1 video"))
            #expect(page.body.contains("are not in these totals"))
            // and the demo channel's page and its video's page are marked as demo data
            let channel = try await Browser(app).get("/@testpatterns")
            #expect(channel.body.contains("<span class=\"badge demo\">Demo</span>") && channel.body.contains("are made up"))
            #expect(try await Browser(app).get("/watch?v=\(demo)").body.contains("class=\"badge demo\""))
            // a real channel is not
            #expect(!(try await Browser(app).get("/@realchannel").body.contains("badge demo")))
            #expect(!(try await Browser(app).get("/watch?v=\(real)").body.contains("badge demo")))
        }
    }

    /// label → value of the admin page's totals.
    static func totals(_ html: String) -> [String: String] {
        var totals: [String: String] = [:]
        let pattern = /<span class="total-value">([^<]*)<\/span><span class="muted">([^<]*)<\/span>/
        for match in html.matches(of: pattern) { totals[String(match.output.2)] = String(match.output.1) }
        return totals
    }
}
