/// `/channels`: every channel as a channel box.
struct ChannelsPage: Encodable {
    var title = "Channels · Videotube"
    var channels: [ChannelCard]
}
