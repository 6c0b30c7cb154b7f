import Fluent
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOWebSocket
import Vapor

/// One reader's socket on this node. A reader that stops reading is dropped once its connection holds
/// `maxPending` bytes it has not taken (the connection's write high-water mark), so one slow client cannot hold
/// the server's memory or slow anyone else.
final class ChatClient: Sendable {
    static let maxPending = 256 * 1024
    let socket: WebSocket
    let connection: any NIOCore.Channel
    let channelID: Int
    let viewerKey: String

    private struct State {
        /// Until hello and history are out, live frames wait here (in order).
        var ready = false
        var queued: [ByteBuffer] = []
        var queuedBytes = 0
        var dropped = false
    }
    private let state = NIOLockedValueBox(State())

    init(socket: WebSocket, connection: any NIOCore.Channel, channelID: Int, viewerKey: String) {
        self.socket = socket
        self.connection = connection
        self.channelID = channelID
        self.viewerKey = viewerKey
    }

    /// Sends a text frame (already-encoded JSON) from any thread, or queues it until `open()`.
    func send(_ frame: ByteBuffer) {
        if connection.eventLoop.inEventLoop {
            sendOnLoop(frame)
        } else {
            connection.eventLoop.execute { self.sendOnLoop(frame) }
        }
    }

    /// `send` on the connection's own event loop: no hop, no allocation beyond the frame's header.
    func sendOnLoop(_ frame: ByteBuffer) {
        let ready: Bool? = state.withLockedValue { s in
            guard !s.dropped else { return false }
            guard s.ready else {
                s.queued.append(frame)
                s.queuedBytes += frame.readableBytes
                if s.queuedBytes > Self.maxPending { s.dropped = true; return nil }
                return false
            }
            if !connection.isWritable { s.dropped = true; return nil }
            return true
        }
        switch ready {
        case true?: socket.send(frame, opcode: .text, fin: true, promise: nil)
        case nil: connection.close(promise: nil)  // a reader that stopped reading: no close handshake, the connection goes
        default: break
        }
    }

    /// Sends the first frames (hello, history), then what arrived meanwhile; from then on frames go straight out.
    func open(first: [ByteBuffer]) {
        connection.eventLoop.execute {
            for frame in first { self.socket.send(frame, opcode: .text, fin: true, promise: nil) }
            let queued = self.state.withLockedValue { s in
                s.ready = true
                defer { s.queued = []; s.queuedBytes = 0 }
                return s.queued
            }
            for frame in queued { self.socket.send(frame, opcode: .text, fin: true, promise: nil) }
        }
    }

    /// Closes with `code` after a last frame; the socket is cut if the peer does not answer the close.
    func close(_ code: WebSocketErrorCode, last: ByteBuffer? = nil) {
        if let last { socket.send(last, opcode: .text, fin: true, promise: nil) }
        let connection = self.connection
        socket.close(code: code, promise: nil)
        connection.eventLoop.scheduleTask(in: .seconds(2)) { connection.close(promise: nil) }
    }
}

/// Every chat socket on this node, by channel, and the delivery of events to them. Events come from the bus
/// (`LocalChatBus` in one process, `PostgresChatBus` across nodes), so a line posted on any node reaches the
/// readers of all of them. Viewer counts and live state are pushed from here too.
actor ChatHub {
    /// The bus's lines: `f CHANNEL JSON` (a frame for a channel's readers), `l CHANNEL 0|1` (went offline/live),
    /// `p NODE CHANNEL COUNT` (a node's viewers of a channel).
    enum Event {
        static func frame(_ channelID: Int, _ json: String) -> String { "f \(channelID) \(json)" }
        static func live(_ channelID: Int, _ live: Bool) -> String { "l \(channelID) \(live ? 1 : 0)" }
        static func presence(_ node: String, _ channelID: Int, _ count: Int) -> String { "p \(node) \(channelID) \(count)" }
    }

    /// How often viewer counts (and, every fifth time, live flags) are checked.
    static let tick: TimeInterval = 2

    let bus: any ChatBus
    let viewers: ViewerCounter
    let registry: LiveRegistry
    let database: @Sendable () -> any Database
    let logger: Logger
    /// This process, among the nodes reporting viewers.
    let node = UUID().uuidString.prefix(12).lowercased()
    let limiter = ChatRateLimiter()

    private var rooms: [Int: [ObjectIdentifier: ChatClient]] = [:]
    /// Open chat sockets on this node (for `/metrics`).
    func socketCount() -> Int { rooms.values.reduce(0) { $0 + $1.count } }
    /// Each room's readers grouped by event loop (made again after a join or leave), so a frame reaches a
    /// thousand readers with one hop per loop instead of one per reader.
    private var byLoop: [Int: [(any EventLoop, [ChatClient])]] = [:]
    private var shownViewers: [Int: Int] = [:]
    private var shownLive: [Int: Bool] = [:]
    private var reported: Set<Int> = []
    /// What every new reader of a channel gets first — its settings and the last lines, encoded — kept briefly, so
    /// a thousand readers arriving when a stream starts cost one query, not a thousand. Any line, delete or clear in
    /// the channel drops it.
    private var opening: [Int: (at: Date, settings: ChatSettings, history: [ByteBuffer])] = [:]
    static let openingLifetime: TimeInterval = 2
    private var started = false
    private var starting: Task<Void, Never>?
    private var ticker: Task<Void, Never>?

    init(bus: any ChatBus, viewers: ViewerCounter, registry: LiveRegistry, database: @escaping @Sendable () -> any Database, logger: Logger) {
        self.bus = bus
        self.viewers = viewers
        self.registry = registry
        self.database = database
        self.logger = logger
    }

    /// Starts the bus and the ticker the first time a socket joins.
    func start() async {
        if started { return }
        if let starting { return await starting.value }
        let task = Task {
            await bus.start { [weak self] line in await self?.deliver(line) }
            registry.observe { [weak self] channelID, live in
                Task { await self?.bus.publish(Event.live(channelID, live)) }
            }
        }
        starting = task
        await task.value
        started = true
        ticker = Task { [weak self] in
            var round = 0
            while !Task.isCancelled {
                try? await Task.sleep(nanoseconds: UInt64(Self.tick * 1e9))
                guard !Task.isCancelled, let self else { return }
                round += 1
                await self.refresh(checkLive: round % 5 == 0)
            }
        }
    }

    func stop() async {
        ticker?.cancel()
        await ticker?.value
        await bus.stop()
        for client in rooms.values.flatMap(\.values) { client.close(.goingAway) }
        rooms = [:]
    }

    func join(_ client: ChatClient) async {
        await start()
        rooms[client.channelID, default: [:]][ObjectIdentifier(client)] = client
        byLoop[client.channelID] = nil
        viewers.join(client.channelID, key: client.viewerKey)
    }

    func leave(_ client: ChatClient) {
        guard rooms[client.channelID]?.removeValue(forKey: ObjectIdentifier(client)) != nil else { return }
        byLoop[client.channelID] = nil
        if rooms[client.channelID]?.isEmpty == true {
            // Nobody here has seen anything of this room now: the next reader's hello sets it afresh.
            rooms[client.channelID] = nil
            byLoop[client.channelID] = nil
            shownViewers[client.channelID] = nil
            shownLive[client.channelID] = nil
        }
        viewers.leave(client.channelID, key: client.viewerKey)
    }

    /// The channel's settings and its last lines (encoded, oldest first), from memory when they are fresh.
    func opening(_ room: ChatRoom, chat: ChatService, now: Date = Date()) async throws -> (ChatSettings, [ByteBuffer]) {
        if let cached = opening[room.id], now.timeIntervalSince(cached.at) < Self.openingLifetime {
            return (cached.settings, cached.history)
        }
        let settings = try await chat.settings(channelID: room.id)
        let lines = try await chat.messages(in: room, limit: ChatService.historyOnConnect).reversed()
        let history = try lines.map { ByteBuffer(string: try Self.encode($0)) }
        if opening.count > 1000 { opening = opening.filter { now.timeIntervalSince($0.value.at) < Self.openingLifetime } }
        opening[room.id] = (now, settings, history)
        return (settings, history)
    }

    /// Settings changed (on this node): new readers must not get the old ones.
    func settingsChanged(_ channelID: Int) { opening[channelID] = nil }

    /// Sends a frame to every reader of `channelID` on every node.
    func broadcast(_ channelID: Int, _ frame: some Encodable) async {
        guard let json = try? Self.encode(frame) else { return }
        await bus.publish(Event.frame(channelID, json))
    }

    /// One event from the bus.
    func deliver(_ line: String) {
        let parts = line.split(separator: " ", maxSplits: 3, omittingEmptySubsequences: false)
        switch parts.first {
        case "f" where parts.count >= 3:
            guard let channelID = Int(parts[1]) else { return }
            opening[channelID] = nil
            guard rooms[channelID] != nil else { return }
            let json = line.dropFirst(parts[0].count + parts[1].count + 2)
            fanOut(channelID, ByteBuffer(string: String(json)))
        case "l" where parts.count == 3:
            guard let channelID = Int(parts[1]) else { return }
            setLive(channelID, parts[2] == "1")
        case "p" where parts.count == 4:
            guard String(parts[1]) != node, let channelID = Int(parts[2]), let count = Int(parts[3]) else { return }
            viewers.report(node: String(parts[1]), channelID: channelID, count: count)
        default:
            logger.debug("Chat: ignored bus event \(line.prefix(40))")
        }
    }

    private func setLive(_ channelID: Int, _ live: Bool) {
        guard shownLive[channelID] != live else { return }
        shownLive[channelID] = live
        send(channelID, ["type": .string("live"), "live": .bool(live)])
    }

    /// Remembers what a new reader's hello said, so only changes are pushed.
    func noteShown(_ channelID: Int, live: Bool, viewers: Int) {
        if shownLive[channelID] == nil { shownLive[channelID] = live }
        if shownViewers[channelID] == nil { shownViewers[channelID] = viewers }
    }

    private enum Value: Encodable {
        case string(String), bool(Bool), int(Int)
        func encode(to encoder: any Encoder) throws {
            var c = encoder.singleValueContainer()
            switch self {
            case .string(let s): try c.encode(s)
            case .bool(let b): try c.encode(b)
            case .int(let i): try c.encode(i)
            }
        }
    }

    /// A frame for this node's readers of a channel only (counts and live state every node computes itself).
    private func send(_ channelID: Int, _ frame: [String: Value]) {
        guard rooms[channelID] != nil, let json = try? Self.encode(frame) else { return }
        fanOut(channelID, ByteBuffer(string: json))
    }

    /// One frame to every reader of a room: each event loop writes to its own readers in one go.
    private func fanOut(_ channelID: Int, _ frame: ByteBuffer) {
        let groups: [(any EventLoop, [ChatClient])]
        if let cached = byLoop[channelID] {
            groups = cached
        } else {
            var grouped: [ObjectIdentifier: (any EventLoop, [ChatClient])] = [:]
            for client in rooms[channelID]?.values ?? [:].values {
                let loop = client.connection.eventLoop
                grouped[ObjectIdentifier(loop), default: (loop, [])].1.append(client)
            }
            groups = Array(grouped.values)
            byLoop[channelID] = groups
        }
        for (loop, clients) in groups {
            loop.execute { for client in clients { client.sendOnLoop(frame) } }
        }
    }

    /// Pushes changed viewer counts, reports this node's counts to the others, and now and then reads the live
    /// flags (a broadcast that started or ended on another node whose event was missed).
    private func refresh(checkLive: Bool) async {
        let local = viewers.localCounts()
        if bus.isShared {
            for (channelID, count) in local { await bus.publish(Event.presence(String(node), channelID, count)) }
            for channelID in reported.subtracting(local.keys) { await bus.publish(Event.presence(String(node), channelID, 0)) }
            reported = Set(local.keys)
        }
        for channelID in rooms.keys {
            let count = viewers.count(channelID)
            if shownViewers[channelID] != count {
                shownViewers[channelID] = count
                send(channelID, ["type": .string("viewers"), "count": .int(count)])
            }
        }
        shownViewers = shownViewers.filter { rooms[$0.key] != nil }
        shownLive = shownLive.filter { rooms[$0.key] != nil }
        guard checkLive, !rooms.isEmpty else { return }
        let ids = Array(rooms.keys)
        guard let channels = try? await Channel.query(on: database()).filter(\.$id ~~ ids).field(\.$id).field(\.$liveStartedAt).all() else { return }
        for channel in channels {
            guard let id = channel.id else { continue }
            setLive(id, channel.liveStartedAt != nil || registry.isLive(channelID: id))
        }
    }

    static func encode(_ value: some Encodable) throws -> String {
        String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes, .sortedKeys]
        return encoder
    }()
}
