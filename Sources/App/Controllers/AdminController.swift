import Fluent
import Vapor

/// Admin pages: totals, users, channels, videos and the watch log. Every handler starts with `requireAdmin`.
struct AdminController {
    /// GET /admin
    func home(req: Request) async throws -> View {
        _ = try req.requireAdmin()
        let t = try await req.admin.totals()
        let c = Formatting.count
        return try await req.render(
            "admin", AdminPage(totals: [
                .init(label: "Users", value: c(t.users), url: "/admin/users"),
                .init(label: "Admins", value: c(t.admins), url: nil),
                .init(label: "Disabled users", value: c(t.disabled), url: nil),
                .init(label: "Channels", value: c(t.channels), url: "/admin/channels"),
                .init(label: "Videos", value: c(t.videos), url: "/admin/videos"),
                .init(label: "Private videos", value: c(t.privateVideos), url: nil),
                .init(label: "Taken down", value: c(t.takenDown), url: nil),
                .init(label: "Subscriptions", value: c(t.subscriptions), url: nil),
                .init(label: "Views", value: c(t.views), url: nil),
                .init(label: "Watch log entries", value: c(t.watchLog), url: "/admin/watch-log"),
            ]))
    }

    // MARK: users

    /// GET /admin/users?q=
    func users(req: Request) async throws -> View {
        let me = try req.requireAdmin()
        let q = (req.query[String.self, at: "q"] ?? "").trimmingCharacters(in: .whitespaces).lowercased()
        var query = User.query(on: req.db).sort(\.$id)
        if !q.isEmpty { query = query.group(.or) { $0.filter(\.$username ~~ q).filter(\.$email ~~ q) } }
        let users = try await query.limit(200).all()
        var rows: [AdminUsersPage.Row] = []
        for user in users {
            let count = try await Channel.query(on: req.db).filter(\.$owner.$id == user.requireID()).count()
            rows.append(
                .init(
                    id: try user.requireID(), username: user.username, email: user.email, role: user.role.rawValue, disabled: user.disabled,
                    isSelf: user.id == me.id, channelsText: Formatting.counted(count, "channel"), joinedText: Formatting.day(user.createdAt),
                    lastLoginText: user.lastLoginAt.map { Formatting.age(of: $0) } ?? "never"))
        }
        return try await req.render("admin-users", AdminUsersPage(query: q, users: rows))
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
        return req.redirectAfterForm(to: "/admin/users", notice: .userUpdated)
    }

    /// GET /admin/users/:id/delete — asks first.
    func confirmDeleteUser(req: Request) async throws -> View {
        let user = try await targetUser(req)
        let channels = try await Channel.query(on: req.db).filter(\.$owner.$id == user.requireID()).count()
        return try await req.render(
            "confirm",
            ConfirmPage(
                title: "Delete \(user.username) · Admin", heading: "Delete the user \(user.username)?",
                detail: "Their \(Formatting.counted(channels, "channel")) and every video in them are deleted with the account. This cannot be undone.",
                action: "/admin/users/\(try user.requireID())/delete", button: "Delete user", cancelURL: "/admin/users"))
    }

    /// POST /admin/users/:id/delete
    func deleteUser(req: Request) async throws -> Response {
        let user = try await targetUser(req)
        try await req.admin.deleteUser(user)
        return req.redirectAfterForm(to: "/admin/users", notice: .deleted)
    }

    /// The user in the path; an admin cannot act on their own account here (no locking yourself out).
    private func targetUser(_ req: Request) async throws -> User {
        let me = try req.requireAdmin()
        let id = try req.numericID(what: "user")
        guard let user = try await User.find(id, on: req.db) else { throw Abort(.notFound, reason: "There is no user \(id).") }
        guard user.id != me.id else {
            throw Abort(.forbidden, reason: "You cannot disable, demote or delete your own account; ask another admin.")
        }
        return user
    }

    // MARK: channels

    /// GET /admin/channels
    func channels(req: Request) async throws -> View {
        _ = try req.requireAdmin()
        var rows: [AdminChannelsPage.Row] = []
        for channel in try await req.catalog.channels() {
            let id = try channel.requireID()
            let count = try await Video.query(on: req.db).filter(\.$channel.$id == id).count()
            rows.append(
                .init(
                    id: id, name: channel.name, handle: channel.handle, url: "/@\(channel.handle)",
                    owner: channel.loadedOwner?.username ?? "—", subscribersText: Formatting.counted(channel.subscribersCount, "subscriber"),
                    videosText: Formatting.counted(count, "video")))
        }
        return try await req.render("admin-channels", AdminChannelsPage(channels: rows))
    }

    // MARK: videos

    /// GET /admin/videos?page=
    func videos(req: Request) async throws -> View {
        _ = try req.requireAdmin()
        let window = PageWindow(page: req.query[Int.self, at: "page"], perPage: 100)
        let query = Video.query(on: req.db).with(\.$channel)
        let total = try await query.count()
        let videos = try await query.sort(\.$createdAt, .descending).sort(\.$id, .descending).range(window.rows).all()
        return try await req.render(
            "admin-videos",
            AdminVideosPage(
                videos: try videos.map {
                    let id = try $0.requireID()
                    return .init(
                        id: id, title: $0.title, channelHandle: $0.channel.handle, visibility: $0.visibility.rawValue,
                        status: $0.status.rawValue, viewsText: Formatting.counted($0.views, "view"), dateText: Formatting.day($0.createdAt),
                        takedownReason: $0.takedownReason, watchURL: "/watch?v=\(id)")
                }, nextPage: window.next(total: total)))
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
                action: "/admin/videos/\(try video.requireID())/takedown", button: "Take down", cancelURL: "/admin/videos", askReason: true))
    }

    /// POST /admin/videos/:id/takedown
    func takedown(req: Request) async throws -> Response {
        _ = try req.requireAdmin()
        struct Form: Content { var reason: String? }
        try await req.admin.takeDown(try await targetVideo(req), reason: try req.content.decode(Form.self).reason ?? "")
        return req.redirectAfterForm(to: "/admin/videos", notice: .takenDown)
    }

    /// POST /admin/videos/:id/restore
    func restore(req: Request) async throws -> Response {
        _ = try req.requireAdmin()
        try await req.admin.restore(try await targetVideo(req))
        return req.redirectAfterForm(to: "/admin/videos", notice: .restored)
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
        var next: String?
        if let nextPage = PageWindow(page: filter.page, perPage: AdminService.watchLogPageSize).next(total: total) {
            var components = URLComponents()
            components.path = "/admin/watch-log"
            components.queryItems = [
                ("video", filter.video.map(String.init)), ("user", filter.user), ("source", filter.source),
                ("status", filter.status.map(String.init)), ("from", filter.from), ("to", filter.to), ("page", String(nextPage)),
            ].compactMap { name, value in value.flatMap { $0.isEmpty ? nil : URLQueryItem(name: name, value: $0) } }
            next = components.string
        }
        return try await req.render(
            "admin-watch-log",
            WatchLogPage(
                filters: filter, sources: ["", "media", "stream", "download"],
                rows: rows.map { entry, user in
                    .init(
                        time: Formatting.iso8601(entry.createdAt), videoID: entry.$video.id, videoTitle: entry.video.title,
                        user: user?.username ?? (entry.userID.map { "#\($0)" } ?? "anonymous"), address: entry.remoteAddress ?? "",
                        source: entry.source, status: entry.status, userAgent: String((entry.userAgent ?? "").prefix(80)))
                }, total: total, nextPageURL: next))
    }
}
