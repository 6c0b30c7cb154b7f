import Fluent
import Media
import Vapor

/// Subscribe buttons and the subscriptions feed page.
struct SubscriptionPageController {
    /// POST /channels/:id/subscribe and /channels/:id/unsubscribe — back to the channel page.
    func change(req: Request) async throws -> Response {
        let user = try req.requireUser()
        let channel = try await req.channelParameter(idStatus: .notFound)
        let id = try channel.requireID()
        let subscribe = req.url.path.hasSuffix("/subscribe")
        if subscribe {
            try await req.subscriptions.subscribe(userID: user.requireID(), channelID: id)
        } else {
            try await req.subscriptions.unsubscribe(userID: user.requireID(), channelID: id)
        }
        return req.redirectAfterForm(to: SiteURL.channel(.value(channel.handle)).path, notice: subscribe ? .subscribed : .unsubscribed)
    }

    /// GET /feed/subscriptions
    func feed(req: Request) async throws -> View {
        let user = try req.requireUser()
        let links = req.mediaLinks
        let channels = try await req.subscriptions.channels(userID: user.requireID())
        let videos = try await req.subscriptions.feed(userID: user.requireID(), perPage: 48)
        return try await req.render(
            "feed",
            FeedPage(
                channels: channels.map { ChannelChip(name: $0.name, url: SiteURL.channel(.value($0.handle)).path, logoURL: $0.logoURL(links, site: "")) },
                videos: try await req.videoGrid(videos.items)))
    }
}
