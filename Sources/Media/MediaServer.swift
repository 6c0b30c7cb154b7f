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
/// hot path is a lookup of the verified link, a descriptor kept open for a second (`OpenFiles`) and a sendfile.
public final class MediaServer: Sendable {
    public struct Configuration: Sendable {
        public var host: String
        public var port: Int
        public var signer: URLSigner
        public var storage: any MediaStorage
        public var responder: MediaResponder
        /// A connection with no request and no response in progress for this many seconds is closed; one whose
        /// client acknowledges none of a response's bytes for this long is dropped by the kernel (`TCP_USER_TIMEOUT`).
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
    private let openFiles = OpenFilesByLoop()

    public init(configuration: Configuration, logger: Logger = Logger(label: "videotube.media")) {
        self.configuration = configuration
        self.logger = logger
    }

    /// Binds and starts serving; returns the listening channel (its `localAddress` has the real port).
    public func start(group: EventLoopGroup) async throws -> Channel {
        let configuration = self.configuration
        let logger = self.logger
        let verified = self.verified
        let openFiles = self.openFiles
        return try await ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.backlog, value: 1024)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(ChannelOptions.maxMessagesPerRead, value: 4)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    #if os(Linux)
                        // A response in progress is bounded by the client's acknowledgements, not by its requests: the
                        // kernel drops a connection whose sent bytes (or window probes, when the client has stopped
                        // reading) go unacknowledged for the idle timeout.
                        try channel.syncOptions?.setOption(
                            ChannelOptions.tcpOption(.init(rawValue: TCP_USER_TIMEOUT)),
                            value: Int(clamping: configuration.idleTimeout * 1000))
                    #endif
                    // One handler: it parses requests with `MediaRequestParser` (the request line and the few fields it
                    // acts on, no header table) and writes its responses as bytes itself. Every header it sends is
                    // made here from the file and the range (no user text), so a general request decoder, response
                    // encoder, pipelining, error and idle handlers would only re-do, per request, what this one
                    // handler does for its own few answers (measured: docs/BENCHMARKS.md).
                    try channel.pipeline.syncOperations.addHandler(
                        MediaHTTPHandler(
                            configuration: configuration, verified: verified, files: openFiles.table(for: channel.eventLoop),
                            logger: logger))
                }
            }
            .bind(host: configuration.host, port: configuration.port)
            .get()
    }
}

/// One connection of the media listener: requests are answered one at a time, in order (pipelined requests wait
/// in `buffered` and the socket is not read meanwhile, so a client that sends without reading cannot grow memory).
///
/// Bodies go out as `FileRegion`s (sendfile) under `TCP_CORK`, so the response head and the first bytes of the
/// file leave in the same segment (as nginx's `tcp_nopush`). A connection is closed after `idleTimeout` seconds
/// with no whole request read and no response in progress; a response in progress lasts as long as the client
/// acknowledges bytes (`TCP_USER_TIMEOUT`), so a slow viewer reading a long range is not cut off and a client that
/// stops reading altogether is dropped.
final class MediaHTTPHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = IOData
    typealias OutboundOut = IOData

    private let configuration: MediaServer.Configuration
    private let verified: VerifiedLinks
    private let files: OpenFiles
    private let logger: Logger
    /// Bytes read and not yet parsed: the rest of a request head, or pipelined requests.
    private var buffered: ByteBuffer?
    private var responding = false
    /// `answerNext` is running (further down this stack).
    private var answering = false
    private var readPending = false
    private var closing = false
    private var lastActivity = NIODeadline.now()
    private var idleCheck: Scheduled<Void>?
    /// The socket peer's address as text, made once per connection (not per range request).
    private var peerAddress: String??

    init(configuration: MediaServer.Configuration, verified: VerifiedLinks, files: OpenFiles, logger: Logger) {
        self.configuration = configuration
        self.verified = verified
        self.files = files
        self.logger = logger
    }

    // MARK: Connection

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { scheduleIdleCheck(context, in: .seconds(configuration.idleTimeout)) }
    }

    func channelActive(context: ChannelHandlerContext) {
        if idleCheck == nil { scheduleIdleCheck(context, in: .seconds(configuration.idleTimeout)) }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        idleCheck?.cancel()
        idleCheck = nil
        context.fireChannelInactive()
    }

    private func scheduleIdleCheck(_ context: ChannelHandlerContext, in delay: TimeAmount) {
        idleCheck = context.eventLoop.assumeIsolated().scheduleTask(in: delay) { [self] in
            let timeout = TimeAmount.seconds(configuration.idleTimeout)
            if responding { lastActivity = .now() }
            let quiet = NIODeadline.now() - lastActivity
            if quiet >= timeout {
                idleCheck = nil
                context.close(promise: nil)
            } else {
                scheduleIdleCheck(context, in: timeout - quiet)
            }
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !closing else { return }
        var bytes = unwrapInboundIn(data)
        if buffered == nil {
            buffered = bytes
        } else {
            buffered!.writeBuffer(&bytes)
        }
        if !responding { answerNext(context) }
    }

    /// Reads wait while a response is being written (NIO asks before every read).
    func read(context: ChannelHandlerContext) {
        if responding {
            readPending = true
        } else {
            context.read()
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        logger.debug("media connection closed: \(error)")
        context.close(promise: nil)
    }

    /// Answers the requests buffered, one at a time; when none is whole, asks for more bytes if a read was held.
    /// A response often completes while it is being written, and its completion calls back here: that call returns
    /// at once and this loop goes on, so thousands of pipelined requests are answered one after another, never
    /// one inside another (which would overflow the event loop's stack).
    private func answerNext(_ context: ChannelHandlerContext) {
        guard !answering else { return }
        answering = true
        parsing: while !responding, !closing, var bytes = buffered {
            let outcome = bytes.withUnsafeReadableBytes { MediaRequestParser.parse($0) }
            switch outcome {
            case .incomplete:
                break parsing
            case .request(let head, let length):
                bytes.moveReaderIndex(forwardBy: length)
                buffered = bytes.readableBytes > 0 ? bytes : nil
                // Only a whole request counts as activity: a head trickling in byte by byte is silence.
                lastActivity = .now()
                respond(context: context, head: head)
            case .refused(let status, let reason):
                buffered = nil
                refuse(context, status: status, reason: reason)
            }
        }
        answering = false
        if !responding, readPending, !closing {
            readPending = false
            context.read()
        }
    }

    /// Called when the last byte of a response has been handed to the kernel (or the write failed).
    private func finished(_ context: ChannelHandlerContext, keepAlive: Bool, failed: Bool) {
        responding = false
        lastActivity = .now()
        if failed || !keepAlive {
            closing = true
            context.close(promise: nil)
        } else {
            answerNext(context)
        }
    }

    // MARK: Answers

    /// Objects in a bucket are served by the bucket: a redirect to a presigned URL that lives as long as the link
    /// (the check above — signature, expiry, access revision — still happens here, and the watch log still sees it).
    private func redirectToStore(_ context: ChannelHandlerContext, _ head: MediaRequestHead, grant: MediaGrant, url: String) {
        let remaining = Int(max(60, grant.expires - Int64(time(nil))))
        configuration.onPlayback?(
            PlaybackEvent(grant: grant, remoteAddress: peer(context), userAgent: head.userAgent, status: 302, bytes: 0))
        sendText(
            context, head, 302, "Served by the media store: \(url)\n",
            extra: [("Location", url), ("Cache-Control", "private, max-age=\(min(remaining, 3600))"), ("Access-Control-Allow-Origin", "*")])
    }

    private func respond(context: ChannelHandlerContext, head: MediaRequestHead) {
        if case .other = head.method {
            return sendText(context, head, 405, "Only GET and HEAD are served here.\n", extra: [("Allow", "GET, HEAD")])
        }
        if head.target == "/healthz" { return sendText(context, head, 200, "ok\n") }
        guard let link = verified.link(for: head.target, signer: configuration.signer, storage: configuration.storage),
            configuration.isCurrent?(link.grant) ?? true
        else {
            return sendText(context, head, 403, "This media link is invalid or has expired: reload the page for a fresh one.\n")
        }
        let grant = link.grant
        if let redirect = link.redirect {
            return redirectToStore(context, head, grant: grant, url: redirect)
        }
        // The descriptor's own fstat gives size and validators, so they describe the bytes actually sent.
        guard let file = try? files.acquire(link.path, contentType: link.contentType) else {
            return sendText(context, head, 404, "No such media.\n")
        }
        let handle = file.handle

        let isHead = head.isHead
        let plan = configuration.responder.plan(
            head.media, for: file.representation, validators: file.validators)
        configuration.onPlayback?(
            PlaybackEvent(
                grant: grant,
                remoteAddress: configuration.trustedProxies.clientAddress(
                    peer: peer(context), forwardedFor: configuration.trustedProxies.isEmpty ? nil : head.forwardedFor),
                userAgent: head.userAgent, status: plan.status, bytes: isHead ? 0 : plan.contentLength))

        let keepAlive = head.keepAlive
        var buffer = context.channel.allocator.buffer(capacity: 512)
        Self.writeHead(
            into: &buffer, head, status: plan.status, contentLength: plan.contentLength, headers: plan.headers,
            fixed: "\r\nCache-Control: private, max-age=3600\r\nAccess-Control-Allow-Origin: *\r\nX-Content-Type-Options: nosniff")
        // The parts in order: bytes (head, multipart framing) and file regions.
        var parts: [IOData] = []
        if !isHead {
            for segment in plan.body {
                switch segment {
                case .text(let text):
                    buffer.writeString(text)
                case .file(let range):
                    parts.append(.byteBuffer(buffer))
                    buffer = context.channel.allocator.buffer(capacity: 0)
                    parts.append(.fileRegion(FileRegion(fileHandle: handle, readerIndex: Int(range.start), endIndex: Int(range.end) + 1)))
                }
            }
        }
        if buffer.readableBytes > 0 || parts.isEmpty { parts.append(.byteBuffer(buffer)) }
        let sendsFile = parts.count > 1
        if sendsFile { setCork(context, true) }
        responding = true
        for part in parts.dropLast() { context.write(wrapOutboundOut(part), promise: nil) }
        let done = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(wrapOutboundOut(parts[parts.count - 1]), promise: done)
        done.futureResult.assumeIsolated().whenComplete { [self] result in
            files.release(file)
            if sendsFile { setCork(context, false) }
            if case .failure = result {
                finished(context, keepAlive: keepAlive, failed: true)
            } else {
                finished(context, keepAlive: keepAlive, failed: false)
            }
        }
    }

    /// TCP_CORK holds partial segments while a response's head and file are queued; taking it off sends the tail.
    private func setCork(_ context: ChannelHandlerContext, _ on: Bool) {
        #if os(Linux)
            try? context.channel.syncOptions?.setOption(ChannelOptions.tcpOption(.init(rawValue: TCP_CORK)), value: on ? 1 : 0)
        #endif
    }

    private func peer(_ context: ChannelHandlerContext) -> String? {
        if let known = peerAddress { return known }
        let address = context.remoteAddress?.ipAddress
        peerAddress = .some(address)
        return address
    }

    /// A request the parser refused: its status and reason, then the connection ends (what follows in the
    /// stream cannot be told apart from the refused request).
    private func refuse(_ context: ChannelHandlerContext, status: Int, reason: String) {
        closing = true
        responding = true
        var head = MediaRequestHead(method: .get, target: "/")
        head.keepAlive = false
        var buffer = context.channel.allocator.buffer(capacity: 160 + reason.utf8.count)
        Self.writeHead(
            into: &buffer, head, status: status, contentLength: Int64(reason.utf8.count + 1),
            headers: [("Content-Type", "text/plain; charset=utf-8")])
        buffer.writeString(reason + "\n")
        context.writeAndFlush(wrapOutboundOut(.byteBuffer(buffer))).assumeIsolated().whenComplete { _ in
            context.close(promise: nil)
        }
    }

    private func sendText(
        _ context: ChannelHandlerContext, _ head: MediaRequestHead, _ code: Int, _ text: String,
        extra: [(String, String)] = []
    ) {
        let keepAlive = head.keepAlive
        var buffer = context.channel.allocator.buffer(capacity: 256 + text.utf8.count)
        Self.writeHead(
            into: &buffer, head, status: code, contentLength: Int64(text.utf8.count),
            headers: extra + [("Content-Type", "text/plain; charset=utf-8")])
        if !head.isHead { buffer.writeString(text) }
        responding = true
        context.writeAndFlush(wrapOutboundOut(.byteBuffer(buffer))).assumeIsolated().whenComplete { [self] result in
            if case .failure = result {
                finished(context, keepAlive: keepAlive, failed: true)
            } else {
                finished(context, keepAlive: keepAlive, failed: false)
            }
        }
    }

    /// The status line and headers of a response to `request`. Values come from this listener (file facts, the
    /// range, a presigned URL); a line break in one would be a bug, and is sent as a space rather than a header.
    /// `fixed` is header lines already formatted (`\r\nName: value` each).
    static func writeHead(
        into buffer: inout ByteBuffer, _ request: MediaRequestHead, status: Int, contentLength: Int64, headers: [(String, String)],
        fixed: String = ""
    ) {
        let http10 = request.minorVersion == 0
        buffer.writeString(http10 ? "HTTP/1.0 " : "HTTP/1.1 ")
        buffer.writeString(statusText(status))
        buffer.writeString(fixed)
        for (name, value) in headers where name != "Content-Length" {
            buffer.writeString("\r\n")
            buffer.writeString(name)
            buffer.writeString(": ")
            if value.utf8.contains(where: { $0 == 13 || $0 == 10 }) {
                buffer.writeString(String(value.map { $0 == "\r" || $0 == "\n" ? " " : $0 }))
            } else {
                buffer.writeString(value)
            }
        }
        buffer.writeString("\r\nContent-Length: ")
        buffer.writeString(String(contentLength))
        if !request.keepAlive {
            buffer.writeString("\r\nConnection: close")
        } else if http10 {
            buffer.writeString("\r\nConnection: keep-alive")
        }
        buffer.writeString("\r\n\r\n")
    }
}

extension MediaHTTPHandler {
    /// `206 Partial Content`: the code and reason phrase of a status line.
    static func statusText(_ status: Int) -> String {
        switch status {
        case 200: "200 OK"
        case 206: "206 Partial Content"
        case 304: "304 Not Modified"
        case 416: "416 Range Not Satisfiable"
        default: "\(status) \(HTTPResponseStatus(statusCode: status).reasonPhrase)"
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
        let redirect =
            storage.isRemote
            ? storage.presignedURL(for: grant.key, expires: Int(max(60, grant.expires - now)), contentType: contentType, disposition: nil)
            : nil
        let link = Link(grant: grant, path: path, contentType: contentType, redirect: redirect)
        links.withLockedValue {
            if $0.count >= Self.capacity { $0.removeAll(keepingCapacity: true) }
            $0[target] = link
        }
        return link
    }
}
