import Foundation

/// `/admin/reports`: open reports, one row per reported video, comment or channel.
struct AdminReportsPage: Encodable {
    /// The reported thing.
    struct Target: Encodable {
        var kind: String
        var text: String
        var detail: String
        var url: String?
        /// Whose it is (the comment's author, the channel's owner): the account "disable" acts on.
        var userID: Int?
        var exists = true
        var isTakenDown = false

        static func gone(_ what: String) -> Target {
            Target(kind: "Gone", text: "The \(what) no longer exists.", detail: "", url: nil, userID: nil, exists: false)
        }
    }

    struct Reason: Encodable {
        var reporter: String
        var reason: String
        var details: String
        var ageText: String
    }

    struct Item: Encodable {
        var target: Target
        var reasons: [Reason]
        var countText: String
        var dismissAction: String
        var deleteCommentAction: String?
        var takeDownAction: String?
        var disableUserAction: String?

        init(_ report: Report, target: Target, me: User) {
            let id = report.id ?? 0
            self.target = target
            reasons = []
            countText = ""
            dismissAction = SiteURL.adminReportAction(.value(id), .value("dismiss")).path
            if target.exists && report.targetType == .comment {
                deleteCommentAction = SiteURL.adminReportAction(.value(id), .value("delete-comment")).path
            }
            if target.exists && report.targetType == .video && !target.isTakenDown {
                takeDownAction = SiteURL.adminReportAction(.value(id), .value("take-down")).path
            }
            if let user = target.userID, user != me.id {
                disableUserAction = SiteURL.adminReportAction(.value(id), .value("disable-user")).path
            }
            add(report)
        }

        mutating func add(_ report: Report) {
            reasons.append(
                Reason(
                    reporter: report.$reporter.value?.username ?? "?", reason: report.reason.label, details: report.details,
                    ageText: Formatting.age(of: report.createdAt)))
            countText = Formatting.counted(reasons.count, "report")
        }
    }

    var title = "Reports · Admin · Videotube"
    var items: [Item]
}
