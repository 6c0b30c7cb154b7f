import Fluent
import Vapor

/// Admin pages: totals, users, channels, videos and the watch log. Every handler starts with `requireAdmin`.
struct AdminController {
    /// GET /admin
    func home(req: Request) async throws -> View {
        _ = try req.requireAdmin()
        return try await req.render("admin", AdminPage(try await req.admin.totals()))
    }

    // MARK: users

    /// GET /admin/users?q=
    func users(req: Request) async throws -> View {
        let me = try req.requireAdmin()
        let q = (req.query[String.self, at: "q"] ?? "").trimmingCharacters(in: .whitespaces).lowercased()
        let page = try AdminUsersPage(
            users: try await req.admin.users(matching: q), channelCounts: try await req.catalog.channelCountsByOwner(), me: me, query: q)
        return try await req.render("admin-users", page)
    }

    /// POST /admin/users/:id/:action — disable, enable, promote, demote.
    func userAction(req: Request) async throws -> Response {
        let user = try await targetUser(req)
        switch req.parameters.get("action") {
        case "disable": try await req.admin.setDisabled(user, true, accounts: req.accounts)
        case "enable": try await req.admin.setDisabled(user, false, accounts: req.accounts)
        case "promote": try await req.admin.setRole(user, .admin)
        case "demote": try await req.admin.setRole(user, .user)
        default: throw Abort(.notFound, reason: "User actions are disable, enable, promote and demote.")
        }
        return req.redirectAfterForm(to: SiteURL.adminUsers.path, notice: .userUpdated)
    }

    /// GET /admin/users/:id/delete — asks first.
    func confirmDeleteUser(req: Request) async throws -> View {
        let user = try await targetUser(req)
        let channels = try await req.catalog.channels(ownedBy: user.requireID()).count
        return try await req.render(
            "confirm",
            ConfirmPage(
                title: "Delete \(user.username) · Admin", heading: "Delete the user \(user.username)?",
                detail: "Their \(Formatting.counted(channels, "channel")) and every video in them are deleted with the account. This cannot be undone.",
                action: SiteURL.adminUserDelete(.value(try user.requireID())).path, button: "Delete user", cancelURL: SiteURL.adminUsers.path))
    }

    /// POST /admin/users/:id/delete
    func deleteUser(req: Request) async throws -> Response {
        let user = try await targetUser(req)
        try await req.admin.deleteUser(user)
        return req.redirectAfterForm(to: SiteURL.adminUsers.path, notice: .deleted)
    }

    /// The user in the path; an admin cannot act on their own account here (no locking yourself out).
    private func targetUser(_ req: Request) async throws -> User {
        let me = try req.requireAdmin()
        let id = try req.numericID(what: "user")
        guard let user = try await req.admin.user(id: id) else { throw Abort(.notFound, reason: "There is no user \(id).") }
        guard user.id != me.id else {
            throw Abort(.forbidden, reason: "You cannot disable, demote or delete your own account; ask another admin.")
        }
        return user
    }

    // MARK: channels

    /// GET /admin/channels
    func channels(req: Request) async throws -> View {
        _ = try req.requireAdmin()
        let page = try AdminChannelsPage(channels: try await req.catalog.channels(), videoCounts: try await req.catalog.videoCounts(listedOnly: false))
        return try await req.render("admin-channels", page)
    }

    // MARK: videos

    /// GET /admin/videos?page=
    func videos(req: Request) async throws -> View {
        _ = try req.requireAdmin()
        let window = PageWindow(page: req.query[Int.self, at: "page"], perPage: 100)
        let (videos, total) = try await req.admin.videos(window)
        return try await req.render("admin-videos", try AdminVideosPage(videos: videos, nextPage: window.next(total: total)))
    }

    /// GET /admin/videos/:id/takedown — asks first, with a reason the owner will see.
    func confirmTakedown(req: Request) async throws -> View {
        _ = try req.requireAdmin()
        let video = try await targetVideo(req)
        return try await req.render(
            "confirm",
            ConfirmPage(
                title: "Take down · Admin", heading: "Take down “\(video.title)”?",
                detail: "Nobody but admins can watch it until it is restored; its owner sees the reason.",
                action: SiteURL.adminVideoTakedown(.value(try video.requireID())).path, button: "Take down", cancelURL: SiteURL.adminVideos.path, askReason: true))
    }

    /// POST /admin/videos/:id/takedown
    func takedown(req: Request) async throws -> Response {
        _ = try req.requireAdmin()
        struct Form: Content { var reason: String? }
        try await req.admin.takeDown(try await targetVideo(req), reason: try req.content.decode(Form.self).reason ?? "")
        return req.redirectAfterForm(to: SiteURL.adminVideos.path, notice: .takenDown)
    }

    /// POST /admin/videos/:id/restore
    func restore(req: Request) async throws -> Response {
        _ = try req.requireAdmin()
        try await req.admin.restore(try await targetVideo(req))
        return req.redirectAfterForm(to: SiteURL.adminVideos.path, notice: .restored)
    }

    private func targetVideo(_ req: Request) async throws -> Video {
        let id = try req.numericID(what: "video")
        guard let video = try await req.catalog.anyVideo(id: id) else { throw Abort(.notFound, reason: "There is no video \(id).") }
        return video
    }

    // MARK: watch log

    /// GET /admin/watch-log?video=&user=&source=&status=&from=&to=&page=
    func watchLog(req: Request) async throws -> View {
        _ = try req.requireAdmin()
        let filter: WatchLogFilter
        do {
            filter = try req.query.decode(WatchLogFilter.self)
        } catch {
            throw Abort(.badRequest, reason: "Filters: video and status are numbers, from and to are days like 2026-01-31.")
        }
        let (rows, total) = try await req.admin.watchLog(filter)
        return try await req.render("admin-watch-log", WatchLogPage(entries: rows, total: total, filters: filter))
    }
}
