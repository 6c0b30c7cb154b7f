import Vapor

/// The subscribe button wherever a channel is shown: a form for signed-in users, a sign-in link otherwise,
/// and a link to the settings for the channel's owner.
struct SubscribeBox: Encodable {
    var channelID: Int
    var channelName: String
    var signedIn: Bool
    var subscribed: Bool
    var canEdit: Bool
    var settingsURL: String
    var loginURL: String
    var subscribeAction: String
    var unsubscribeAction: String

    /// `back` is where sign-in returns to.
    init(channel: Channel, viewer: User?, subscribed: Bool, back: String) throws {
        let id = try channel.requireID()
        channelID = id
        channelName = channel.name
        signedIn = viewer != nil
        self.subscribed = subscribed
        canEdit = Policy.canEdit(channel, by: viewer)
        settingsURL = SiteURL.studioChannel(.value(id)).path
        // Signing in from here finishes the subscription: the sign-in form carries the channel.
        loginURL = AuthController.loginURL(next: back) + "&subscribe=\(id)"
        subscribeAction = SiteURL.subscribe(.value(id)).path
        unsubscribeAction = SiteURL.unsubscribe(.value(id)).path
    }
}

extension Request {
    /// The subscribe box for `channel` as this request's user sees it; `back` is where sign-in returns to.
    func subscribeBox(_ channel: Channel, back: String) async throws -> SubscribeBox {
        var subscribed = false
        if let user { subscribed = try await subscriptions.isSubscribed(userID: user.requireID(), channelID: try channel.requireID()) }
        return try SubscribeBox(channel: channel, viewer: user, subscribed: subscribed, back: back)
    }
}
