import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A playback request the listener served, handed to whoever keeps the watch log.
public struct PlaybackEvent: Sendable {
    public var grant: MediaGrant
    public var remoteAddress: String?
    public var userAgent: String?
    public var status: Int
    /// Body bytes the response carries (0 for HEAD and 304).
    public var bytes: Int64
}

/// A small HTTP/1.1 server for stored media: GET and HEAD of signed `/m/KEY?…` URLs, answered with the same
/// range planner as the app and with bodies sent by `FileRegion` (sendfile: no copy through user space).
///
/// It knows nothing of Vapor or the database: the signature says which key may be read until when, so the
/// hot path is a stat, an HMAC and a sendfile.
public final class MediaServer: Sendable {
    public struct Configuration: Sendable {
        public var host: String
        public var port: Int
        public var signer: URLSigner
        public var storage: any MediaStorage
        public var responder: MediaResponder
        /// Silent connections are closed after this many seconds.
        public var idleTimeout: Int64
        /// Called on the event loop after each GET/HEAD with a valid signature; must not block.
        public var onPlayback: (@Sendable (PlaybackEvent) -> Void)?
        /// Whether a validly signed grant still holds (its video's access revision is current); must not block.
        public var isCurrent: (@Sendable (MediaGrant) -> Bool)?
        /// Proxies whose `X-Forwarded-For` names the client in playback events.
        public var trustedProxies = TrustedProxies()

        public init(
            host: String, port: Int, signer: URLSigner, storage: any MediaStorage, responder: MediaResponder,
            idleTimeout: Int64 = 60, onPlayback: (@Sendable (PlaybackEvent) -> Void)? = nil,
            isCurrent: (@Sendable (MediaGrant) -> Bool)? = nil
        ) {
            self.host = host
            self.port = port
            self.signer = signer
            self.storage = storage
            self.responder = responder
            self.idleTimeout = idleTimeout
            self.onPlayback = onPlayback
            self.isCurrent = isCurrent
        }
    }

    public let configuration: Configuration
    private let logger: Logger
    private let verified = VerifiedLinks()

    public init(configuration: Configuration, logger: Logger = Logger(label: "videotube.media")) {
        self.configuration = configuration
        self.logger = logger
    }

    /// Binds and starts serving; returns the listening channel (its `localAddress` has the real port).
    public func start(group: EventLoopGroup) async throws -> Channel {
        let configuration = self.configuration
        let logger = self.logger
        let verified = self.verified
        return try await ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.backlog, value: 1024)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(ChannelOptions.maxMessagesPerRead, value: 4)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    // Every header this listener sends is made here from the file and the range (no user text), so NIO's
                    // outbound header validation would only re-check our own constants on each response.
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(
                        withErrorHandling: true, withOutboundHeaderValidation: false)
                    try channel.pipeline.syncOperations.addHandler(
                        IdleStateHandler(readTimeout: .seconds(configuration.idleTimeout)))
                    try channel.pipeline.syncOperations.addHandler(
                        MediaHTTPHandler(configuration: configuration, verified: verified, logger: logger))
                }
            }
            .bind(host: configuration.host, port: configuration.port)
            .get()
    }
}

final class MediaHTTPHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let configuration: MediaServer.Configuration
    private let verified: VerifiedLinks
    private let logger: Logger
    private var head: HTTPRequestHead?
    /// The socket peer's address as text, made once per connection (not per range request).
    private var peerAddress: String??

    init(configuration: MediaServer.Configuration, verified: VerifiedLinks, logger: Logger) {
        self.configuration = configuration
        self.verified = verified
        self.logger = logger
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): self.head = head
        case .body: break  // GET/HEAD bodies are ignored
        case .end:
            if let head { respond(context: context, head: head) }
            head = nil
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            context.close(promise: nil)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        logger.debug("media connection closed: \(error)")
        context.close(promise: nil)
    }

    /// Objects in a bucket are served by the bucket: a redirect to a presigned URL that lives as long as the link
    /// (the check above — signature, expiry, access revision — still happens here, and the watch log still sees it).
    private func redirectToStore(_ context: ChannelHandlerContext, _ head: HTTPRequestHead, grant: MediaGrant, url: String) {
        let remaining = Int(max(60, grant.expires - Int64(time(nil))))
        configuration.onPlayback?(
            PlaybackEvent(
                grant: grant, remoteAddress: peer(context), userAgent: head.headers.first(name: "User-Agent"), status: 302, bytes: 0))
        sendText(
            context, head, 302, "Served by the media store: \(url)\n",
            extra: [("Location", url), ("Cache-Control", "private, max-age=\(min(remaining, 3600))"), ("Access-Control-Allow-Origin", "*")])
    }

    private func respond(context: ChannelHandlerContext, head: HTTPRequestHead) {
        let keepAlive = head.isKeepAlive
        guard head.method == .GET || head.method == .HEAD else {
            return sendText(context, head, 405, "Only GET and HEAD are served here.\n", extra: [("Allow", "GET, HEAD")])
        }
        if head.uri == "/healthz" { return sendText(context, head, 200, "ok\n") }
        guard let link = verified.link(for: head.uri, signer: configuration.signer, storage: configuration.storage),
            configuration.isCurrent?(link.grant) ?? true
        else {
            return sendText(context, head, 403, "This media link is invalid or has expired: reload the page for a fresh one.\n")
        }
        let grant = link.grant
        if let redirect = link.redirect {
            return redirectToStore(context, head, grant: grant, url: redirect)
        }
        // Open first and fstat the descriptor, so size and validators describe the bytes actually sent.
        let handle: NIOFileHandle
        let representation: Representation
        do {
            handle = try NIOFileHandle(_deprecatedPath: link.path)
            var st = stat()
            let ok = try handle.withUnsafeFileDescriptor { fstat($0, &st) } == 0
            guard ok, (st.st_mode & S_IFMT) == S_IFREG else {
                try? handle.close()
                return sendText(context, head, 404, "No such media.\n")
            }
            representation = Representation(
                size: Int64(st.st_size), lastModified: Int64(st.st_mtim.tv_sec), contentType: link.contentType)
        } catch {
            return sendText(context, head, 404, "No such media.\n")
        }

        let isHead = head.method == .HEAD
        let plan = configuration.responder.plan(
            MediaRequest(isHead: isHead, header: { head.headers.first(name: $0) }), for: representation)
        configuration.onPlayback?(
            PlaybackEvent(
                grant: grant,
                remoteAddress: configuration.trustedProxies.clientAddress(
                    peer: peer(context),
                    forwardedFor: configuration.trustedProxies.isEmpty || head.headers[canonicalForm: "X-Forwarded-For"].isEmpty
                        ? nil : head.headers[canonicalForm: "X-Forwarded-For"].joined(separator: ",")),
                userAgent: head.headers.first(name: "User-Agent"), status: plan.status, bytes: isHead ? 0 : plan.contentLength))

        var headers = HTTPHeaders(plan.headers)
        headers.replaceOrAdd(name: "Content-Length", value: String(plan.contentLength))
        headers.add(name: "Cache-Control", value: "private, max-age=3600")
        headers.add(name: "Access-Control-Allow-Origin", value: "*")
        headers.add(name: "X-Content-Type-Options", value: "nosniff")
        if !keepAlive { headers.add(name: "Connection", value: "close") }
        let status = HTTPResponseStatus(statusCode: plan.status)
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: status, headers: headers))), promise: nil)
        if !isHead {
            for segment in plan.body {
                switch segment {
                case .text(let text):
                    context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(string: text)))), promise: nil)
                case .file(let range):
                    let region = FileRegion(fileHandle: handle, readerIndex: Int(range.start), endIndex: Int(range.end) + 1)
                    context.write(wrapOutboundOut(.body(.fileRegion(region))), promise: nil)
                }
            }
        }
        let done = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: done)
        let channel = context.channel
        done.futureResult.whenComplete { result in
            try? handle.close()
            if case .failure = result { channel.close(promise: nil) } else if !keepAlive { channel.close(promise: nil) }
        }
    }

    private func peer(_ context: ChannelHandlerContext) -> String? {
        if let known = peerAddress { return known }
        let address = context.remoteAddress?.ipAddress
        peerAddress = .some(address)
        return address
    }

    private func sendText(
        _ context: ChannelHandlerContext, _ head: HTTPRequestHead, _ code: Int, _ text: String,
        extra: [(String, String)] = []
    ) {
        var headers = HTTPHeaders(extra)
        headers.add(name: "Content-Type", value: "text/plain; charset=utf-8")
        headers.add(name: "Content-Length", value: String(text.utf8.count))
        if !head.isKeepAlive { headers.add(name: "Connection", value: "close") }
        let status = HTTPResponseStatus(statusCode: code)
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: status, headers: headers))), promise: nil)
        if head.method != .HEAD {
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(string: text)))), promise: nil)
        }
        let keepAlive = head.isKeepAlive
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
            if !keepAlive { channel.close(promise: nil) }
        }
    }
}

/// Links this listener has verified, with the file and type each names, so the range requests of one playback
/// (dozens per video) cost a dictionary lookup instead of parsing, an HMAC and a key check each. A hit is exactly
/// a target that verified before; its expiry is checked on every use and its access revision by the caller.
/// Bounded: full, it starts over.
final class VerifiedLinks: Sendable {
    struct Link: Sendable {
        var grant: MediaGrant
        var path: String
        var contentType: String
        /// With media in a bucket: the presigned URL this link redirects to, made once, valid as long as the link.
        var redirect: String?
    }

    static let capacity = 4096
    private let links = NIOLockedValueBox<[String: Link]>([:])

    /// The link `target` signs, if it verifies and names a storable key.
    func link(for target: String, signer: URLSigner, storage: any MediaStorage, now: Int64 = Int64(time(nil))) -> Link? {
        if let known = links.withLockedValue({ $0[target] }) { return known.grant.expires >= now ? known : nil }
        guard let grant = signer.verify(target: target, now: now), let path = try? storage.localPath(for: grant.key) else { return nil }
        let contentType = MIMEType.forExtension(StorageKey.fileExtension(of: grant.key))
        let redirect = storage.isRemote
            ? storage.presignedURL(for: grant.key, expires: Int(max(60, grant.expires - now)), contentType: contentType, disposition: nil) : nil
        let link = Link(grant: grant, path: path, contentType: contentType, redirect: redirect)
        links.withLockedValue {
            if $0.count >= Self.capacity { $0.removeAll(keepingCapacity: true) }
            $0[target] = link
        }
        return link
    }
}
