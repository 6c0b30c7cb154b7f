import Foundation

/// `/live/{handle}/chat`: the chat on its own page; `overlay` makes the background transparent and drops the
/// input, for an OBS browser source.
struct ChatPopoutPage: Encodable {
    var title: String
    var handle: String
    var channelID: Int
    var channelName: String
    var overlay: Bool
    var chat: ChatPanel

    init(_ channel: Channel, overlay: Bool) {
        title = "Chat · \(channel.name) · Videotube"
        handle = channel.handle
        channelID = channel.id ?? 0
        channelName = channel.name
        self.overlay = overlay
        chat = ChatPanel(channel, overlay: overlay, popout: true)
    }
}
