import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// Where a published stream's frames go once its key was accepted. Called on the connection's event loop, in
/// order; an implementation must not block (queue the work).
public protocol PublishSink: Sendable {
    func metadata(_ value: AMF0Value)
    func media(_ message: RTMPMessage)
    /// The publisher stopped, went silent or was disconnected; called once.
    func ended(reason: String)
}

/// What the application says about a `publish`.
public enum PublishDecision: Sendable {
    case accept(any PublishSink)
    /// An `onStatus` error with this code and description, then the connection closes.
    case reject(code: String, description: String)
}

/// A publish request and the means to end it later (when its key is regenerated, say).
public struct PublishRequest: Sendable {
    public let app: String
    public let key: String
    public let remoteAddress: String?
    /// Closes the connection; the sink then hears `ended`.
    public let disconnect: @Sendable () -> Void
}

/// The application's side: which keys may publish.
public protocol PublishAuthorizer: Sendable {
    func authorize(_ request: PublishRequest) async -> PublishDecision
}

/// An RTMP ingest server on SwiftNIO: one `PublishSession` per connection, timeouts for silent peers, every
/// protocol error a log line and a closed connection (never a crash), other connections untouched.
public struct RTMPServer: Sendable {
    public struct Configuration: Sendable {
        public var host: String
        public var port: Int
        /// Time to finish the handshake, `connect` and `publish`: a peer that shows no key within it is closed.
        public var handshakeTimeout: TimeAmount
        /// A connection that sends nothing for this long is closed (a publisher sends frames many times a second,
        /// so 5 s of silence means it is gone: the channel goes offline then, not after a TCP timeout).
        public var idleTimeout: TimeAmount
        /// A message begun but not finished within this long closes the connection (a trickle of bytes would
        /// otherwise hold its buffer as long as it likes).
        public var partialMessageTimeout: TimeAmount
        public var maxMessageLength: Int
        /// Connections at once, in all and from one address; more are closed as they arrive.
        public var maxConnections: Int
        public var maxConnectionsPerAddress: Int
        /// Bytes all connections together may hold in partial messages and unread input; the connection that
        /// would go over it is closed.
        public var memoryBudget: Int

        public init(host: String = "0.0.0.0", port: Int = 1935, handshakeTimeout: TimeAmount = .seconds(10),
                    idleTimeout: TimeAmount = .seconds(5), partialMessageTimeout: TimeAmount = .seconds(10),
                    maxMessageLength: Int = 8 << 20, maxConnections: Int = 256, maxConnectionsPerAddress: Int = 16,
                    memoryBudget: Int = 256 << 20) {
            self.host = host
            self.port = port
            self.handshakeTimeout = handshakeTimeout
            self.idleTimeout = idleTimeout
            self.partialMessageTimeout = partialMessageTimeout
            self.maxMessageLength = maxMessageLength
            self.maxConnections = maxConnections
            self.maxConnectionsPerAddress = maxConnectionsPerAddress
            self.memoryBudget = memoryBudget
        }
    }

    public let configuration: Configuration
    public let authorizer: any PublishAuthorizer
    public let logger: Logger

    public init(configuration: Configuration, authorizer: any PublishAuthorizer, logger: Logger) {
        self.configuration = configuration
        self.authorizer = authorizer
        self.logger = logger
    }

    /// Binds and starts accepting connections; close the returned channel to stop.
    public func start(group: any EventLoopGroup) async throws -> any Channel {
        let configuration = self.configuration
        let authorizer = self.authorizer
        let logger = self.logger
        let limits = ConnectionLimits(configuration: configuration)
        return try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                let address = channel.remoteAddress?.ipAddress ?? "?"
                guard limits.admit(address) else {
                    logger.notice("RTMP: refusing a connection from \(address): too many connections")
                    return channel.close()
                }
                channel.closeFuture.whenComplete { _ in limits.leave(address) }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        IdleStateHandler(readTimeout: configuration.idleTimeout))
                    try channel.pipeline.syncOperations.addHandler(
                        RTMPConnectionHandler(configuration: configuration, authorizer: authorizer, limits: limits, logger: logger))
                }
            }
            .bind(host: configuration.host, port: configuration.port).get()
    }
}

/// What all connections share: how many there are (in all and per address) and how much memory they hold.
final class ConnectionLimits: Sendable {
    private struct State {
        var total = 0
        var perAddress: [String: Int] = [:]
        var memory = 0
    }
    private let state = NIOLockedValueBox(State())
    let maxConnections: Int
    let maxPerAddress: Int
    let memoryBudget: Int

    init(configuration: RTMPServer.Configuration) {
        maxConnections = configuration.maxConnections
        maxPerAddress = configuration.maxConnectionsPerAddress
        memoryBudget = configuration.memoryBudget
    }

    /// Counts a new connection in, or says no when either cap is reached.
    func admit(_ address: String) -> Bool {
        state.withLockedValue { s in
            guard s.total < maxConnections, s.perAddress[address, default: 0] < maxPerAddress else { return false }
            s.total += 1
            s.perAddress[address, default: 0] += 1
            return true
        }
    }

    func leave(_ address: String) {
        state.withLockedValue { s in
            s.total -= 1
            let left = s.perAddress[address, default: 1] - 1
            s.perAddress[address] = left > 0 ? left : nil
        }
    }

    /// Moves one connection's holding from `old` to `new` bytes; false when that takes the total over the budget
    /// (the holding is then released: the caller closes the connection).
    func hold(from old: Int, to new: Int) -> Bool {
        state.withLockedValue { s in
            s.memory += new - old
            guard s.memory <= memoryBudget else {
                s.memory -= new
                return false
            }
            return true
        }
    }

    var memoryInUse: Int { state.withLockedValue { $0.memory } }
}

final class RTMPConnectionHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var session: PublishSession
    private let configuration: RTMPServer.Configuration
    private let authorizer: any PublishAuthorizer
    private var logger: Logger
    private var sink: (any PublishSink)?
    private var endReason: String?
    private let limits: ConnectionLimits
    /// What this connection holds in `limits`' memory count.
    private var held = 0
    private var partialCheck: RepeatedTask?

    init(configuration: RTMPServer.Configuration, authorizer: any PublishAuthorizer, limits: ConnectionLimits, logger: Logger) {
        self.configuration = configuration
        self.authorizer = authorizer
        self.limits = limits
        self.logger = logger
        self.session = PublishSession(decoder: ChunkDecoder(maxMessageLength: configuration.maxMessageLength))
    }

    func channelActive(context: ChannelHandlerContext) {
        let peer = context.remoteAddress?.description ?? "?"
        logger[metadataKey: "rtmp-peer"] = "\(peer)"
        let channel = context.channel
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        context.eventLoop.scheduleTask(in: configuration.handshakeTimeout) {
            let handler = loopBound.value
            if handler.session.phase != .publishing && handler.session.phase != .finished {
                handler.logger.notice("RTMP: no handshake, connect and publish within the time limit; closing")
                handler.endReason = "handshake timeout"
                channel.close(promise: nil)
            }
        }
        let timeout = configuration.partialMessageTimeout
        partialCheck = context.eventLoop.scheduleRepeatedTask(initialDelay: .seconds(1), delay: .seconds(1)) { _ in
            let handler = loopBound.value
            guard let since = handler.session.oldestPartialMessage else { return }
            if NIODeadline.now().uptimeNanoseconds - since > UInt64(timeout.nanoseconds) {
                handler.logger.notice("RTMP: a message stayed half-sent for over \(timeout.nanoseconds / 1_000_000_000) s; closing")
                handler.endReason = "partial message timeout"
                channel.close(promise: nil)
            }
        }
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        guard let bytes = buffer.readBytes(length: buffer.readableBytes), session.phase != .finished else { return }
        let events: [PublishSession.Event]
        do {
            events = try session.receive(bytes, now: NIODeadline.now().uptimeNanoseconds)
        } catch {
            logger.notice("RTMP: closing the connection: \(error)")
            endReason = "protocol error: \(error)"
            context.close(promise: nil)
            return
        }
        let holding = session.memoryInUse
        guard limits.hold(from: held, to: holding) else {
            held = 0
            logger.warning("RTMP: all connections together hold over \(limits.memoryBudget >> 20) MB; closing this one")
            endReason = "server memory budget"
            context.close(promise: nil)
            return
        }
        held = holding
        for event in events {
            switch event {
            case .send(let out):
                context.write(wrapOutboundOut(context.channel.allocator.buffer(bytes: out)), promise: nil)
            case .publishRequested(let app, let key):
                requestDecision(context: context, app: app, key: key)
            case .metadata(let value):
                sink?.metadata(value)
            case .media(let message):
                sink?.media(message)
            case .unpublished:
                endReason = "the publisher stopped"
                context.close(promise: nil)
            }
        }
        context.flush()
    }

    private func requestDecision(context: ChannelHandlerContext, app: String, key: String) {
        let channel = context.channel
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        let request = PublishRequest(
            app: app, key: key, remoteAddress: context.remoteAddress?.ipAddress,
            disconnect: { channel.close(promise: nil) })
        let authorizer = self.authorizer
        Task {
            let decision = await authorizer.authorize(request)
            channel.eventLoop.execute {
                let handler = loopBound.value
                guard channel.isActive else {
                    if case .accept(let sink) = decision { sink.ended(reason: "the publisher went away") }
                    return
                }
                switch decision {
                case .accept(let sink):
                    handler.sink = sink
                    channel.writeAndFlush(ByteBuffer(bytes: handler.session.accept()), promise: nil)
                    handler.logger.info("RTMP: publishing \(handler.session.streamKeyRedacted) in /\(app)")
                case .reject(let code, let description):
                    handler.logger.notice("RTMP: refused \(handler.session.streamKeyRedacted) in /\(app): \(description)")
                    handler.endReason = "refused"
                    channel.writeAndFlush(ByteBuffer(bytes: handler.session.reject(code: code, description: description)))
                        .whenComplete { _ in channel.close(promise: nil) }
                }
            }
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            logger.notice("RTMP: nothing received for \(configuration.idleTimeout.nanoseconds / 1_000_000_000) s; closing")
            endReason = "the publisher went silent"
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        logger.info("RTMP: connection error: \(error)")
        endReason = endReason ?? "connection error"
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        partialCheck?.cancel()
        _ = limits.hold(from: held, to: 0)
        held = 0
        if let sink {
            sink.ended(reason: endReason ?? "the connection closed")
            self.sink = nil
        }
        context.fireChannelInactive()
    }
}
