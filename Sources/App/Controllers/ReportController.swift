import Fluent
import Vapor

/// Reports: anyone signed in files one (`POST /api/v1/reports`); admins work through the queue at `/admin/reports`
/// (dismiss, delete the comment, take the video down, disable the user), each action closing every open report of
/// the same target.
struct ReportController {
    /// POST /api/v1/reports `{"type": "video"|"comment"|"channel", "id": 12, "reason": "spam", "details": "…"}` — 201.
    func file(req: Request) async throws -> Response {
        let user = try req.requireUser()
        struct Body: Content {
            var type: String?
            var id: Int?
            var reason: String?
            var details: String?
        }
        let body = try? req.content.decode(Body.self)
        guard let target = body?.type.flatMap(Report.Target.init(rawValue:)), let id = body?.id else {
            throw ValidationFailure(
                "Send {\"type\": \"video\", \"comment\" or \"channel\", \"id\": …, \"reason\": …}.", field: body?.id == nil ? "id" : "type")
        }
        guard let reason = body?.reason.flatMap(Report.Reason.init(rawValue:)) else {
            let reasons = Report.Reason.allCases.map(\.rawValue).joined(separator: ", ")
            throw ValidationFailure("reason is one of \(reasons).", field: "reason")
        }
        guard try await exists(target, id: id, for: user, req: req) else {
            throw Abort(.notFound, reason: "There is no \(target.rawValue) \(id) to report.")
        }
        let report = try await req.reports.file(by: user, target: target, id: id, reason: reason, details: body?.details ?? "")
        return try await ReportDTO(
            id: try report.requireID(), type: target.rawValue, target_id: id, reason: reason.rawValue, status: report.status.rawValue
        ).encodeResponse(status: .created, for: req)
    }

    /// Whether `user` can see what they report.
    private func exists(_ target: Report.Target, id: Int, for user: User, req: Request) async throws -> Bool {
        switch target {
        case .video:
            return try await req.catalog.watchableVideo(id: id, viewer: user) != nil
        case .channel:
            return try await req.catalog.channel(id: id) != nil
        case .comment:
            guard let comment = try await Comment.find(id, on: req.db) else { return false }
            guard let video = try await req.catalog.watchableVideo(id: comment.$video.id, viewer: user) else { return false }
            return CommentService.isVisible(comment, to: user, moderator: Policy.canEdit(video.channel, by: user))
        }
    }

    /// GET /admin/reports — open reports, one row per reported thing, oldest first.
    func queue(req: Request) async throws -> View {
        let me = try req.requireAdmin()
        let reports = try await req.reports.open()
        var items: [AdminReportsPage.Item] = []
        var index: [String: Int] = [:]
        for report in reports {
            let key = "\(report.targetType.rawValue)|\(report.targetID)"
            if let at = index[key] {
                items[at].add(report)
                continue
            }
            let target = try await describe(report, req: req)
            index[key] = items.count
            items.append(AdminReportsPage.Item(report, target: target, me: me))
        }
        return try await req.render("admin-reports", AdminReportsPage(items: items))
    }

    /// POST /admin/reports/:id/:action — `dismiss`, `delete-comment`, `take-down`, `disable-user`.
    func resolve(req: Request) async throws -> Response {
        let me = try req.requireAdmin()
        let id = try req.numericID(what: "report")
        guard let report = try await Report.find(id, on: req.db) else { throw Abort(.notFound, reason: "There is no report \(id).") }
        let target = try await describe(report, req: req)
        let done: String
        switch req.parameters.get("action") {
        case "dismiss":
            try await req.reports.close(target: report.targetType, id: report.targetID, status: .dismissed, resolution: "dismissed", by: me)
            return req.redirectAfterForm(to: SiteURL.adminReports.path, notice: .reportResolved)
        case "delete-comment":
            guard report.targetType == .comment, let comment = try await Comment.find(report.targetID, on: req.db) else {
                throw Abort(.badRequest, reason: "This report is not about a comment that still exists; dismiss it instead.")
            }
            try await req.comments.delete(comment)
            done = "comment deleted"
        case "take-down":
            guard report.targetType == .video, let video = try await req.catalog.anyVideo(id: report.targetID) else {
                throw Abort(.badRequest, reason: "This report is not about a video that still exists; dismiss it instead.")
            }
            try await req.admin.takeDown(video, reason: "Reported as \(report.reason.label.lowercased()) and reviewed by an administrator.")
            done = "video taken down"
        case "disable-user":
            guard let userID = target.userID, let user = try await req.admin.user(id: userID) else {
                throw Abort(.badRequest, reason: "Nobody to disable: the account is gone.")
            }
            guard user.id != me.id else { throw Abort(.badRequest, reason: "You cannot disable your own account.") }
            try await req.admin.setDisabled(user, true, accounts: req.accounts)
            done = "user disabled"
        default:
            throw Abort(.notFound, reason: "Report actions are dismiss, delete-comment, take-down and disable-user.")
        }
        try await req.reports.close(target: report.targetType, id: report.targetID, status: .resolved, resolution: done, by: me)
        return req.redirectAfterForm(to: SiteURL.adminReports.path, notice: .reportResolved)
    }

    /// What a report is about, as the queue shows it.
    private func describe(_ report: Report, req: Request) async throws -> AdminReportsPage.Target {
        switch report.targetType {
        case .video:
            guard let video = try await req.catalog.anyVideo(id: report.targetID) else { return .gone("video \(report.targetID)") }
            return AdminReportsPage.Target(
                kind: "Video", text: video.title, detail: "@" + video.channel.handle + (video.takedownReason == nil ? "" : " · taken down"),
                url: SiteURL.watch(report.targetID), userID: video.channel.$owner.id, isTakenDown: video.takedownReason != nil)
        case .channel:
            guard let channel = try await req.catalog.channel(id: report.targetID) else { return .gone("channel \(report.targetID)") }
            return AdminReportsPage.Target(
                kind: "Channel", text: channel.name, detail: "@" + channel.handle, url: SiteURL.channel(.value(channel.handle)).path,
                userID: channel.$owner.id)
        case .comment:
            guard let entry = try await req.comments.entry(id: report.targetID) else { return .gone("comment \(report.targetID)") }
            return AdminReportsPage.Target(
                kind: "Comment", text: String(entry.body.prefix(300)), detail: "by " + entry.username + (entry.held ? " · held" : ""),
                url: SiteURL.watch(entry.video_id) + "#comments", userID: entry.user_id)
        }
    }
}
