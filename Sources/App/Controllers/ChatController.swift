import Fluent
import NIOCore
import NIOHTTP1
import NIOWebSocket
import Vapor

/// Live chat: the socket, its history and settings over HTTP, moderators and bans, the pop-out page and a
/// replay's chat. The rules are `ChatService`'s; the sockets are `ChatHub`'s.
struct ChatController {
    /// The largest frame a reader may send (a 500-character line as JSON fits many times over).
    static let maxFrameBytes = 4096

    /// GET /api/v1/channels/:id/chat — with `Upgrade: websocket`, the chat socket (docs/CHAT.md); without it, the
    /// chat's settings (blocked words only for those who moderate).
    func socketOrSettings(req: Request) async throws -> Response {
        let channel = try await req.channelParameter(idStatus: .badRequest)
        let since = try req.wholeNumberQuery("since")
        guard req.headers[.upgrade].contains(where: { $0.lowercased().contains("websocket") }) else {
            let standing: ChatService.Standing? = if let user = req.user { try await req.chat.standing(of: user, in: try ChatRoom(channel)) } else { nil }
            return try await settingsDTO(try await req.chat.settings(channelID: channel.requireID()), full: standing?.canModerate == true)
                .encodeResponse(for: req)
        }
        // The socket keeps only what it needs of the channel and the user, for as long as it is open.
        let room = try ChatRoom(channel)
        let person = try await req.chatUser().map(ChatPerson.init)
        let services = req.services
        let channelID = try channel.requireID()
        let live = channel.liveStartedAt != nil || services.live.isLive(channelID: channelID)
        let hub = services.chat
        let viewerKey = req.viewerKey
        let response = Response(status: .switchingProtocols)
        response.upgrader = ChatUpgrader(maxFrameBytes: Self.maxFrameBytes) { socket, connection in
            socket.pingInterval = .seconds(30)
            let client = ChatClient(socket: socket, connection: connection, channelID: channelID, viewerKey: viewerKey)
            let session = ChatSession(hub: hub, client: client, room: room, user: person, database: hub.database, live: live, since: since)
            session.attach()
            Task { await session.run() }
        }
        return response
    }

    /// PATCH /api/v1/channels/:id/chat — slow mode, subscribers-only, blocked words, links (owner, moderators, admins).
    func updateSettings(req: Request) async throws -> ChatSettingsDTO {
        let (channel, standing) = try await req.chatStanding()
        let patch = try req.content.decode(ChatSettingsPatch.self)
        let settings = try await req.chat.update(patch, in: try ChatRoom(channel), by: standing)
        await req.services.chat.settingsChanged(try channel.requireID())
        return settingsDTO(settings, full: true)
    }

    private func settingsDTO(_ settings: ChatSettings, full: Bool) -> ChatSettingsDTO {
        ChatSettingsDTO(
            slow_mode_seconds: settings.slowModeSeconds, subscribers_only: settings.subscribersOnly,
            blocked_words: full ? settings.blockedWords.split(separator: "\n").map(String.init) : [],
            links_allowed: settings.linksAllowed)
    }

    /// GET /api/v1/channels/:id/chat/messages?before=ID&limit=50 — history, newest first, deleted lines absent.
    func history(req: Request) async throws -> ChatHistoryDTO {
        let channel = try await req.channelParameter(idStatus: .badRequest)
        let limit = try req.wholeNumberQuery("limit") ?? 50
        guard (1...100).contains(limit) else { throw Abort(.badRequest, reason: "limit is 1 to 100") }
        let before = try req.wholeNumberQuery("before")
        let page = try await req.chat.messages(in: try ChatRoom(channel), before: before, limit: limit)
        return ChatHistoryDTO(data: page, next_before: page.count == limit ? page.last?.id : nil)
    }

    /// DELETE /api/v1/channels/:id/chat/messages/:message_id — a moderator removes a line (as the socket's `delete`).
    func deleteMessage(req: Request) async throws -> HTTPStatus {
        let (channel, standing) = try await req.chatStanding()
        let id = try req.numericID("message_id", status: .badRequest, what: "message")
        let deleted = try await req.chat.delete(messageID: id, in: try ChatRoom(channel), by: standing)
        await req.services.chat.broadcast(try channel.requireID(), ChatDeleteDTO(id: deleted))
        return .noContent
    }

    /// GET /api/v1/channels/:id/chat/bans — bans and time-outs in force (those who moderate).
    func bans(req: Request) async throws -> ListDTO<ChatBanDTO> {
        let (channel, _) = try await req.chatStanding()
        return ListDTO(data: try await req.chat.bans(of: try ChatRoom(channel)))
    }

    /// PUT /api/v1/channels/:id/chat/bans/:user_id `{"seconds": N}` times out; without `seconds`, bans.
    func ban(req: Request) async throws -> HTTPStatus {
        let (channel, standing) = try await req.chatStanding()
        let userID = try req.numericID("user_id", status: .badRequest, what: "user")
        struct Body: Content { var seconds: Int? }
        // No body bans; a body must be the JSON it says it is.
        let body = (req.body.data?.readableBytes ?? 0) == 0 ? Body() : try req.content.decode(Body.self)
        try await req.chat.restrict(userID: userID, seconds: body.seconds, in: try ChatRoom(channel), by: standing)
        await req.services.chat.broadcast(try channel.requireID(), ChatClearDTO(user_id: userID))
        return .noContent
    }

    /// DELETE /api/v1/channels/:id/chat/bans/:user_id — lifts a ban or time-out.
    func unban(req: Request) async throws -> HTTPStatus {
        let (channel, standing) = try await req.chatStanding()
        try await req.chat.unban(userID: try req.numericID("user_id", status: .badRequest, what: "user"), in: try ChatRoom(channel), by: standing)
        return .noContent
    }

    /// GET /api/v1/channels/:id/chat/log — the moderation log, newest first (those who moderate).
    func moderationLog(req: Request) async throws -> ListDTO<ChatModerationDTO> {
        let (channel, _) = try await req.chatStanding()
        return ListDTO(data: try await req.chat.moderationLog(of: try ChatRoom(channel)))
    }

    /// GET /api/v1/channels/:id/moderators
    func moderators(req: Request) async throws -> ListDTO<ChatModeratorDTO> {
        let (channel, _) = try await req.chatStanding()
        return ListDTO(data: try await req.chat.moderators(of: try ChatRoom(channel)))
    }

    /// PUT /api/v1/channels/:id/moderators/:user_id — the owner (or an admin) appoints a moderator.
    func addModerator(req: Request) async throws -> ListDTO<ChatModeratorDTO> {
        try await setModerator(req: req, true)
    }

    /// DELETE /api/v1/channels/:id/moderators/:user_id
    func removeModerator(req: Request) async throws -> ListDTO<ChatModeratorDTO> {
        try await setModerator(req: req, false)
    }

    private func setModerator(req: Request, _ on: Bool) async throws -> ListDTO<ChatModeratorDTO> {
        let (channel, standing) = try await req.chatStanding()
        try await req.chat.setModerator(userID: try req.numericID("user_id", status: .badRequest, what: "user"), on, in: try ChatRoom(channel), by: standing)
        return ListDTO(data: try await req.chat.moderators(of: try ChatRoom(channel)))
    }

    /// GET /api/v1/videos/:id/chat — a replay's chat with each line's offset into the video; 404 for videos that
    /// are not replays.
    func replay(req: Request) async throws -> ChatReplayDTO {
        let id = try req.numericID(status: .badRequest, what: "video")
        guard try await req.catalog.watchableVideo(id: id, viewer: req.user) != nil, let replay = try await req.chat.replay(videoID: id) else {
            throw Abort(.notFound, reason: "video \(id) has no chat replay (only replays of live broadcasts do)")
        }
        return replay
    }

    /// GET /live/:handle/chat — the chat alone: a pop-out window, or with `?overlay=1` a transparent OBS overlay.
    func popout(req: Request) async throws -> View {
        let handle = (req.parameters.get("handle") ?? "").lowercased()
        guard let channel = try await req.catalog.channel(handle: handle) else {
            throw Abort(.notFound, reason: "There is no channel @\(handle.prefix(30)).")
        }
        return try await req.render("chat-popout", ChatPopoutPage(channel, overlay: req.query[String.self, at: "overlay"] == "1"))
    }
}

extension Request {
    var chat: ChatService { ChatService(db: db) }

    /// Who writes on this socket: the `Authorization: Bearer` token, `?access_token=` for clients that cannot
    /// set headers, or the session cookie — but a cookie only counts when the page that opened the socket is
    /// this site's, so another site cannot chat as its visitor (the socket then reads anonymously).
    func chatUser() async throws -> User? {
        if let viewer {
            if case .session = viewer.method, let origin = headers.first(name: .origin), !isSameOrigin(origin) { return nil }
            return viewer.user
        }
        if let token = query[String.self, at: "access_token"], !token.isEmpty {
            return try await accounts.bearer(token: token).1
        }
        return nil
    }

    /// Whether `origin` (scheme://host[:port]) is this site: the public URL's, else the `Host` the request used.
    func isSameOrigin(_ origin: String) -> Bool {
        guard let url = URLComponents(string: origin), let host = url.host?.lowercased() else { return false }
        let authority = url.port.map { "\(host):\($0)" } ?? host
        if let publicURL = services.config.publicURL, let site = URLComponents(string: publicURL), let siteHost = site.host?.lowercased() {
            return authority == (site.port.map { "\(siteHost):\($0)" } ?? siteHost)
        }
        return authority == headers.first(name: .host)?.lowercased()
    }

    /// The path's channel and the signed-in user's standing in its chat, if they moderate it: 401 signed out,
    /// 403 otherwise.
    func chatStanding() async throws -> (Channel, ChatService.Standing) {
        let user = try requireUser()
        let channel = try await channelParameter(idStatus: .badRequest)
        let standing = try await chat.standing(of: user, in: try ChatRoom(channel))
        guard standing.canModerate else {
            throw Abort(.forbidden, reason: "Only the owner of @\(channel.handle), its moderators and admins can do this.")
        }
        return (channel, standing)
    }
}

/// The WebSocket upgrade for chat sockets: frames over `maxFrameBytes` close the socket with 1009, and so does a
/// message assembled from fragments that grows past it (Vapor's own upgrader lets fragments pile up unbounded).
struct ChatUpgrader: Upgrader {
    let maxFrameBytes: Int
    let onUpgrade: @Sendable (WebSocket, any NIOCore.Channel) -> Void

    func applyUpgrade(req: Request, res: Response) -> any HTTPServerProtocolUpgrader {
        NIOWebSocketServerUpgrader(
            maxFrameSize: maxFrameBytes, automaticErrorHandling: false,
            shouldUpgrade: { channel, _ in channel.eventLoop.makeSucceededFuture([:]) },
            upgradePipelineHandler: { [maxFrameBytes, onUpgrade] channel, _ in
                var configuration = WebSocket.Configuration()
                configuration.maxAccumulatedFrameSize = maxFrameBytes
                configuration.maxAccumulatedFrameCount = 16
                return WebSocket.server(on: channel, config: configuration) { socket in onUpgrade(socket, channel) }.flatMapThrowing {
                    try channel.pipeline.syncOperations.addHandler(CloseAfterProtocolError())
                    // Unwritable past this many unsent bytes: a reader that stopped reading is dropped then.
                    try channel.syncOptions?.setOption(
                        NIOCore.ChannelOptions.writeBufferWaterMark,
                        value: NIOCore.ChannelOptions.Types.WriteBufferWaterMark(low: ChatClient.maxPending / 2, high: ChatClient.maxPending))
                }
            })
    }
}

/// After a protocol error (an oversized frame) the socket has sent its close frame, but its frame decoder reads no
/// more, so the peer's answer would never be seen: the connection is cut shortly after instead of lingering.
private final class CloseAfterProtocolError: ChannelInboundHandler, Sendable {
    typealias InboundIn = Never

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        let channel = context.channel
        context.eventLoop.scheduleTask(in: .milliseconds(250)) { channel.close(promise: nil) }
    }
}

extension ChatRefusal: AbortError {
    public var status: HTTPResponseStatus {
        switch code {
        case "forbidden": .forbidden
        case "not_found": .notFound
        case "unauthorized": .unauthorized
        case "rate_limited", "slow_mode": .tooManyRequests
        case "bad_request", "bad_frame", "empty", "too_long": .badRequest
        default: .unprocessableEntity
        }
    }
    public var reason: String { message }
}

// MARK: studio

extension ChatController {
    /// GET /studio/channels/:id/chat — settings, moderators, bans and the moderation log.
    func studioPage(req: Request) async throws -> View {
        let (channel, standing) = try await req.chatStanding()
        return try await req.render("studio-chat", try await studioModel(channel, standing, req: req))
    }

    private func studioModel(_ channel: Channel, _ standing: ChatService.Standing, req: Request) async throws -> StudioChatPage {
        let chat = req.chat
        return StudioChatPage(
            channel: channel, settings: try await chat.settings(channelID: channel.requireID()), canAppoint: standing.isOwner || standing.isAdmin,
            moderators: try await chat.moderators(of: try ChatRoom(channel)), bans: try await chat.bans(of: try ChatRoom(channel)), log: try await chat.moderationLog(of: try ChatRoom(channel)))
    }

    /// POST /studio/channels/:id/chat — the settings form.
    func studioUpdate(req: Request) async throws -> Response {
        let (channel, standing) = try await req.chatStanding()
        struct Form: Content {
            var slow_mode_seconds: String?
            var subscribers_only: String?
            var links_allowed: String?
            var blocked_words: String?
        }
        let form = try req.content.decode(Form.self)
        let patch = ChatSettingsPatch(
            slow_mode_seconds: Int(form.slow_mode_seconds?.trimmingCharacters(in: .whitespaces) ?? "") ?? 0,
            subscribers_only: form.subscribers_only == "on", blocked_words: (form.blocked_words ?? "").split(whereSeparator: \.isNewline).map(String.init),
            links_allowed: form.links_allowed == "on")
        do {
            _ = try await req.chat.update(patch, in: try ChatRoom(channel), by: standing)
            await req.services.chat.settingsChanged(try channel.requireID())
        } catch let refusal as ChatRefusal {
            var page = try await studioModel(channel, standing, req: req)
            page.errors = [refusal.message]
            return try await req.render("studio-chat", page, status: .badRequest)
        }
        return req.redirectAfterForm(to: SiteURL.studioChannelChat(.value(try channel.requireID())).path, notice: .saved)
    }

    /// POST /studio/channels/:id/moderators — appoint by username.
    func studioAddModerator(req: Request) async throws -> Response {
        let (channel, standing) = try await req.chatStanding()
        struct Form: Content { var username: String? }
        let name = (try req.content.decode(Form.self).username ?? "").trimmingCharacters(in: .whitespaces).lowercased()
        do {
            guard let user = try await User.query(on: req.db).filter(\.$username == name).first(), let userID = user.id else {
                throw ChatRefusal("not_found", "There is no user named “\(name.prefix(30))”; check the spelling.")
            }
            try await req.chat.setModerator(userID: userID, true, in: try ChatRoom(channel), by: standing)
        } catch let refusal as ChatRefusal {
            var page = try await studioModel(channel, standing, req: req)
            page.errors = [refusal.message]
            return try await req.render("studio-chat", page, status: refusal.status == .forbidden ? .forbidden : .badRequest)
        }
        return req.redirectAfterForm(to: SiteURL.studioChannelChat(.value(try channel.requireID())).path, notice: .saved)
    }

    /// POST /studio/channels/:id/moderators/:user_id/remove
    func studioRemoveModerator(req: Request) async throws -> Response {
        let (channel, standing) = try await req.chatStanding()
        try await req.chat.setModerator(userID: try req.numericID("user_id", what: "user"), false, in: try ChatRoom(channel), by: standing)
        return req.redirectAfterForm(to: SiteURL.studioChannelChat(.value(try channel.requireID())).path, notice: .saved)
    }

    /// POST /studio/channels/:id/bans/:user_id/remove
    func studioUnban(req: Request) async throws -> Response {
        let (channel, standing) = try await req.chatStanding()
        try await req.chat.unban(userID: try req.numericID("user_id", what: "user"), in: try ChatRoom(channel), by: standing)
        return req.redirectAfterForm(to: SiteURL.studioChannelChat(.value(try channel.requireID())).path, notice: .saved)
    }
}
