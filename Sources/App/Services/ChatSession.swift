import Fluent
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import Vapor

/// One chat socket from upgrade to close: the hello and history, then the reader's frames one at a time
/// (`send`, and for moderators `delete`, `timeout`, `ban`, `unban`), each answered with a broadcast or an
/// `error` frame. Protocol: docs/CHAT.md.
struct ChatSession: Sendable {
    let hub: ChatHub
    let client: ChatClient
    let room: ChatRoom
    let user: ChatPerson?
    let database: @Sendable () -> any Database
    let live: Bool
    /// `?since=ID`: the reader reconnects and wants what it missed.
    let since: Int?

    /// Frames a reader may send in `floodWindow` seconds before it is cut off (1008): a person types far fewer.
    static let floodLimit = 40
    static let floodWindow: TimeInterval = 10
    /// Frames waiting to be handled before the reader counts as flooding.
    static let inboundQueue = 16

    /// The reader's frames, in order: `nil` for a binary frame.
    private let frames: AsyncStream<String?>
    private let continuation: AsyncStream<String?>.Continuation

    init(hub: ChatHub, client: ChatClient, room: ChatRoom, user: ChatPerson?, database: @escaping @Sendable () -> any Database, live: Bool, since: Int?) {
        self.hub = hub
        self.client = client
        self.room = room
        self.user = user
        self.database = database
        self.live = live
        self.since = since
        (frames, continuation) = AsyncStream<String?>.makeStream(bufferingPolicy: .bufferingOldest(Self.inboundQueue))
    }

    /// Takes the socket's frames from now on. Called on the socket's event loop, right after the upgrade, so no
    /// frame is missed; they wait (up to `inboundQueue`) until `run` reads them.
    func attach() {
        let client = self.client, continuation = self.continuation
        client.socket.onText { _, text in
            if case .dropped = continuation.yield(text) {
                client.close(.policyViolation, last: Self.frame(ChatRefusal("flood", "Too many frames at once; the connection is closed.")))
            }
        }
        client.socket.onBinary { _, _ in
            if case .dropped = continuation.yield(nil) { client.close(.policyViolation) }
        }
        client.socket.onClose.whenComplete { _ in continuation.finish() }
    }

    func run() async {
        // The start (queries, hello, history) is a function of its own, so what stays suspended for the socket's
        // life is only the small loop below (memory per reader matters at thousands of readers).
        guard let standing = await start() else { return }
        await serve(standing: standing)
        await hub.leave(client)
    }

    /// Joins the room and sends the hello and the history; nil (and the socket closed) if the database failed.
    private func start() async -> ChatService.Standing?? {
        let chat = ChatService(db: database())
        let channelID = room.id
        do {
            let standing = if let user { try await chat.standing(of: user, in: room) } else { ChatService.Standing?.none }
            let (settings, recent) = try await hub.opening(room, chat: chat)
            let refusal: ChatRefusal? = if let standing { try await chat.restriction(for: standing, in: channelID, settings: settings) } else { nil }
            await hub.join(client)
            let viewers = hub.viewers.count(channelID)
            await hub.noteShown(channelID, live: live, viewers: viewers)
            let hello = ChatHelloDTO(
                channel_id: channelID, live: live, viewers: viewers, slow_mode_seconds: settings.slowModeSeconds,
                subscribers_only: settings.subscribersOnly, links_allowed: settings.linksAllowed, you: standing?.user,
                can_send: standing != nil && refusal == nil, can_moderate: standing?.canModerate ?? false,
                reason: refusal.map(ChatErrorDTO.init))
            var first = [ByteBuffer(string: try ChatHub.encode(hello))]
            if let since {
                for message in try await chat.messages(in: room, after: since, limit: ChatService.maxCatchUp) {
                    first.append(ByteBuffer(string: try ChatHub.encode(message)))
                }
            } else {
                first += recent
            }
            client.open(first: first)
            return .some(standing)
        } catch {
            client.close(.unexpectedServerError, last: Self.frame(ChatRefusal("unavailable", "The chat is unavailable; try again in a moment.")))
            await hub.leave(client)
            continuation.finish()
            return nil
        }
    }

    /// The reader's frames, handled one at a time, in order; a reader that sends faster than they are handled is
    /// flooding.
    private func serve(standing start: ChatService.Standing?) async {
        var standing = start
        var recent: [Date] = []
        for await text in frames {
            let now = Date()
            recent = recent.filter { now.timeIntervalSince($0) < Self.floodWindow } + [now]
            if recent.count > Self.floodLimit {
                client.close(.policyViolation, last: Self.frame(ChatRefusal("flood", "Too many frames: at most \(Self.floodLimit) in \(Int(Self.floodWindow)) seconds. The connection is closed.")))
                break
            }
            guard let text else {
                client.send(Self.frame(ChatRefusal("bad_frame", "Send text frames holding one JSON object each (see docs/CHAT.md); binary frames are ignored.")))
                continue
            }
            await answer(text, standing: &standing)
        }
    }

    private func answer(_ text: String, standing: inout ChatService.Standing?) async {
        do {
            try await handle(text, standing: &standing, chat: ChatService(db: database()))
        } catch let refusal as ChatRefusal {
            client.send(Self.frame(refusal))
        } catch {
            client.send(Self.frame(ChatRefusal("unavailable", "That did not work (the server had a problem); try again.")))
        }
    }

    private struct Incoming: Decodable {
        var type: String
        var text: String?
        var id: Int?
        var user_id: Int?
        var seconds: Int?
    }

    private func handle(_ text: String, standing: inout ChatService.Standing?, chat: ChatService) async throws {
        guard let frame = try? JSONDecoder().decode(Incoming.self, from: Data(text.utf8)) else {
            throw ChatRefusal("bad_frame", "A frame is one JSON object with a \"type\", such as {\"type\":\"send\",\"text\":\"hi\"}.")
        }
        let channelID = room.id
        guard let current = standing else {
            throw ChatRefusal("unauthorized", "Sign in to chat: everyone can read, only signed-in users can write.")
        }
        // Moderators come and go while a socket is open: read the reader's standing again for every action.
        let fresh = if let user { try await chat.standing(of: user, in: room) } else { current }
        standing = fresh
        switch frame.type {
        case "send":
            guard let line = frame.text else { throw ChatRefusal("bad_frame", "A send frame has a \"text\".") }
            let message = try await chat.send(line, by: fresh, in: room, limiter: hub.limiter)
            await hub.broadcast(channelID, message)
        case "delete":
            guard let id = frame.id else { throw ChatRefusal("bad_frame", "A delete frame has the message's \"id\".") }
            let deleted = try await chat.delete(messageID: id, in: room, by: fresh)
            await hub.broadcast(channelID, ChatDeleteDTO(id: deleted))
        case "timeout", "ban":
            guard let target = frame.user_id else { throw ChatRefusal("bad_frame", "A \(frame.type) frame has a \"user_id\".") }
            if frame.type == "timeout", frame.seconds == nil { throw ChatRefusal("bad_frame", "A timeout frame has \"seconds\".") }
            try await chat.restrict(userID: target, seconds: frame.type == "ban" ? nil : frame.seconds, in: room, by: fresh)
            await hub.broadcast(channelID, ChatClearDTO(user_id: target))
        case "unban":
            guard let target = frame.user_id else { throw ChatRefusal("bad_frame", "An unban frame has a \"user_id\".") }
            try await chat.unban(userID: target, in: room, by: fresh)
        default:
            throw ChatRefusal("bad_frame", "Unknown frame type \"\(frame.type.prefix(20))\": send, delete, timeout, ban or unban.")
        }
    }

    static func frame(_ refusal: ChatRefusal) -> ByteBuffer {
        ByteBuffer(string: (try? ChatHub.encode(ChatErrorDTO(refusal))) ?? #"{"type":"error","code":"unavailable","message":"error"}"#)
    }
}
