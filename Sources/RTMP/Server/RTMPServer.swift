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
        /// Time to finish the handshake and `connect`.
        public var handshakeTimeout: TimeAmount
        /// A connection that sends nothing for this long is closed (a publisher sends frames many times a second,
        /// so 5 s of silence means it is gone: the channel goes offline then, not after a TCP timeout).
        public var idleTimeout: TimeAmount
        public var maxMessageLength: Int

        public init(host: String = "0.0.0.0", port: Int = 1935, handshakeTimeout: TimeAmount = .seconds(10),
                    idleTimeout: TimeAmount = .seconds(5), maxMessageLength: Int = 8 << 20) {
            self.host = host
            self.port = port
            self.handshakeTimeout = handshakeTimeout
            self.idleTimeout = idleTimeout
            self.maxMessageLength = maxMessageLength
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
        return try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        IdleStateHandler(readTimeout: configuration.idleTimeout))
                    try channel.pipeline.syncOperations.addHandler(
                        RTMPConnectionHandler(configuration: configuration, authorizer: authorizer, logger: logger))
                }
            }
            .bind(host: configuration.host, port: configuration.port).get()
    }
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

    init(configuration: RTMPServer.Configuration, authorizer: any PublishAuthorizer, logger: Logger) {
        self.configuration = configuration
        self.authorizer = authorizer
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
            if handler.session.phase == .handshake || handler.session.phase == .connecting {
                handler.logger.notice("RTMP: no handshake and connect within the time limit; closing")
                handler.endReason = "handshake timeout"
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
            events = try session.receive(bytes)
        } catch {
            logger.notice("RTMP: closing the connection: \(error)")
            endReason = "protocol error: \(error)"
            context.close(promise: nil)
            return
        }
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
        if let sink {
            sink.ended(reason: endReason ?? "the connection closed")
            self.sink = nil
        }
        context.fireChannelInactive()
    }
}
