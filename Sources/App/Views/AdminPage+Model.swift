import Foundation

/// `/admin`: site totals and the way to each list.
struct AdminPage: Encodable {
    struct Total: Encodable {
        var label: String
        var value: String
        var url: String?
    }
    var title = "Admin · Videotube"
    var totals: [Total]
    /// "Demo content: 3 channels and 8 videos …", when there is any.
    var demoNote: String?

    init(_ t: AdminService.Totals) {
        let c = Formatting.count
        totals = [
            Total(label: "Open reports", value: c(t.openReports), url: SiteURL.adminReports.path),
            Total(label: "Users", value: c(t.users), url: SiteURL.adminUsers.path),
            Total(label: "Admins", value: c(t.admins), url: nil),
            Total(label: "Disabled users", value: c(t.disabled), url: nil),
            Total(label: "Channels", value: c(t.channels), url: SiteURL.adminChannels.path),
            Total(label: "Videos", value: c(t.videos), url: SiteURL.adminVideos.path),
            Total(label: "Private videos", value: c(t.privateVideos), url: nil),
            Total(label: "Taken down", value: c(t.takenDown), url: nil),
            Total(label: "Subscriptions", value: c(t.subscriptions), url: nil),
            Total(label: "Views", value: c(t.views), url: nil),
            Total(label: "Watch sessions", value: c(t.watchLog), url: SiteURL.adminWatchLog.path),
            Total(label: "Comments", value: c(t.comments), url: nil),
            Total(label: "Comments held for approval", value: c(t.heldComments), url: nil),
        ]
        if t.demoChannels > 0 {
            demoNote = "Demo content: \(Formatting.counted(t.demoChannels, "channel")) and \(Formatting.counted(t.demoVideos, "video")) made by "
                + "videotube demo. Their views and subscribers are made up and are not in these totals; delete the channels "
                + "in Channels to remove them."
        }
    }
}
