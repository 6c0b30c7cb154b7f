import Foundation

/// The chat column (`chat-panel.leaf`) that the live page, a live channel's page and the pop-out share.
struct ChatPanel: Encodable {
    var channelID: Int
    var overlay: Bool
    var popout: Bool
    var popoutURL: String

    init(_ channel: Channel, overlay: Bool = false, popout: Bool = false) {
        channelID = channel.id ?? 0
        self.overlay = overlay
        self.popout = popout
        popoutURL = SiteURL.liveChat(.value(channel.handle)).path
    }
}
