import Logging
import NIOCore
import NIOHTTP1
import NIOPosix

/// A listener of its own for `/metrics` (Prometheus text format), on a private address such as
/// `127.0.0.1:9464`, as exporters do: scrapes never reach the public site, and the site's middleware, rate
/// limits and caches never see them. Only `GET`/`HEAD /metrics` is answered; anything else is 404 or 405.
public struct MetricsListener: Sendable {
    public typealias Render = @Sendable () async -> [UInt8]

    public let host: String
    public let port: Int
    let render: Render
    let logger: Logger

    public init(host: String, port: Int, logger: Logger, render: @escaping Render) {
        self.host = host
        self.port = port
        self.logger = logger
        self.render = render
    }

    /// Binds and starts serving; the returned channel closes the listener.
    public func start(group: any EventLoopGroup) async throws -> any Channel {
        let render = self.render
        return try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 64)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(IdleStateHandler(readTimeout: .seconds(30)))
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(MetricsHandler(render: render))
                }
            }
            .bind(host: host, port: port).get()
    }
}

private final class MetricsHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let render: MetricsListener.Render
    private var head: HTTPRequestHead?

    init(render: @escaping MetricsListener.Render) { self.render = render }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): self.head = head
        case .body: break  // scrapes have no body; anything sent is dropped
        case .end:
            guard let head else { return }
            self.head = nil
            respond(context: context, head: head)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent { context.close(promise: nil) } else { context.fireUserInboundEventTriggered(event) }
    }

    private func respond(context: ChannelHandlerContext, head: HTTPRequestHead) {
        let path = head.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? head.uri
        guard path == "/metrics" else { return send(context, head, .notFound, Array("Only /metrics is served here.\n".utf8)) }
        guard head.method == .GET || head.method == .HEAD else {
            return send(context, head, .methodNotAllowed, Array("Use GET.\n".utf8), extra: [("Allow", "GET, HEAD")])
        }
        let loop = context.eventLoop
        let bound = NIOLoopBound((self, context), eventLoop: loop)
        let render = self.render
        Task {
            let body = await render()
            loop.execute {
                let (handler, context) = bound.value
                handler.send(context, head, .ok, body, contentType: "text/plain; version=0.0.4; charset=utf-8")
            }
        }
    }

    private func send(
        _ context: ChannelHandlerContext, _ head: HTTPRequestHead, _ status: HTTPResponseStatus, _ body: [UInt8],
        contentType: String = "text/plain; charset=utf-8", extra: [(String, String)] = []
    ) {
        var headers = HTTPHeaders([("Content-Type", contentType), ("Content-Length", String(body.count))])
        headers.add(contentsOf: extra)
        let keepAlive = head.isKeepAlive
        if !keepAlive { headers.add(name: "Connection", value: "close") }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: status, headers: headers))), promise: nil)
        if head.method != .HEAD {
            var buffer = context.channel.allocator.buffer(capacity: body.count)
            buffer.writeBytes(body)
            context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        }
        let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if !keepAlive { done.whenComplete { [channel = context.channel] _ in channel.close(promise: nil) } }
    }
}
