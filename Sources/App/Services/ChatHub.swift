import Fluent
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOWebSocket
import Vapor

/// One reader's socket on this node. Everything sent to it is counted until the socket has taken it; a reader
/// that stops reading is dropped once `maxPending` bytes wait, so one slow client cannot hold the server's memory.
final class ChatClient: Sendable {
    static let maxPending = 256 * 1024
    let socket: WebSocket
    let connection: any NIOCore.Channel
    let channelID: Int
    let viewerKey: String

    private struct State {
        var pending = 0
        /// Until hello and history are out, live frames wait here (in order).
        var ready = false
        var queued: [ByteBuffer] = []
        var dropped = false
    }
    private let state = NIOLockedValueBox(State())

    init(socket: WebSocket, connection: any NIOCore.Channel, channelID: Int, viewerKey: String) {
        self.socket = socket
        self.connection = connection
        self.channelID = channelID
        self.viewerKey = viewerKey
    }

    /// Sends a text frame (already-encoded JSON), or queues it until `open()`.
    func send(_ frame: ByteBuffer) {
        let size = frame.readableBytes
        let go: Bool? = state.withLockedValue { s in
            guard !s.dropped else { return false }
            if !s.ready {
                s.queued.append(frame)
                s.pending += size
            } else {
                s.pending += size
            }
            if s.pending > Self.maxPending {
                s.dropped = true
                return nil
            }
            return s.ready
        }
        switch go {
        case true?: write(frame, size: size)
        case nil: drop()
        default: break
        }
    }

    /// Sends what arrived while the first frames were going out, then sends directly.
    func open(first: [ByteBuffer]) {
        for frame in first { write(frame, size: 0) }
        let queued = state.withLockedValue { s in
            s.ready = true
            defer { s.queued = [] }
            return s.queued
        }
        for frame in queued { write(frame, size: frame.readableBytes) }
    }

    private func write(_ frame: ByteBuffer, size: Int) {
        let promise = connection.eventLoop.makePromise(of: Void.self)
        if size > 0 { promise.futureResult.whenComplete { [state] _ in state.withLockedValue { $0.pending -= size } } }
        socket.send(frame, opcode: .text, fin: true, promise: promise)
    }

    /// Closes with `code` after a last frame; the socket is cut if the peer does not answer the close.
    func close(_ code: WebSocketErrorCode, last: ByteBuffer? = nil) {
        if let last { write(last, size: 0) }
        let connection = self.connection
        socket.close(code: code, promise: nil)
        connection.eventLoop.scheduleTask(in: .seconds(2)) { connection.close(promise: nil) }
    }

    /// A reader that stopped reading: no close handshake, the connection goes.
    private func drop() { connection.close(promise: nil) }
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
    private var shownViewers: [Int: Int] = [:]
    private var shownLive: [Int: Bool] = [:]
    private var reported: Set<Int> = []
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
        viewers.join(client.channelID, key: client.viewerKey)
    }

    func leave(_ client: ChatClient) {
        guard rooms[client.channelID]?.removeValue(forKey: ObjectIdentifier(client)) != nil else { return }
        if rooms[client.channelID]?.isEmpty == true {
            // Nobody here has seen anything of this room now: the next reader's hello sets it afresh.
            rooms[client.channelID] = nil
            shownViewers[client.channelID] = nil
            shownLive[client.channelID] = nil
        }
        viewers.leave(client.channelID, key: client.viewerKey)
    }

    /// Readers of a channel on this node.
    func readers(of channelID: Int) -> Int { rooms[channelID]?.count ?? 0 }

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
            guard let channelID = Int(parts[1]), let room = rooms[channelID] else { return }
            let json = line.dropFirst(parts[0].count + parts[1].count + 2)
            let buffer = ByteBuffer(string: String(json))
            for client in room.values { client.send(buffer) }
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
        guard let room = rooms[channelID], let json = try? Self.encode(frame) else { return }
        let buffer = ByteBuffer(string: json)
        for client in room.values { client.send(buffer) }
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
