import CMediaIO
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore

#if canImport(Glibc)
    import Glibc
#endif

#if !os(Linux)
    #error("The media listener is an epoll loop (eventfd, sendfile, accept4): it builds on Linux only.")
#endif

/// A playback request the listener served, handed to whoever keeps the watch log.
public struct PlaybackEvent: Sendable {
    public var grant: MediaGrant
    public var remoteAddress: String?
    public var userAgent: String?
    public var status: Int
    /// Body bytes the responses carry (0 for HEAD and 304).
    public var bytes: Int64
    /// Requests this event stands for: a connection's consecutive requests for one link with the same status and
    /// client are reported together, at most a second late (a player asks for dozens of ranges of one file).
    public var requests = 1
}

/// A small HTTP/1.1 server for stored media: GET and HEAD of signed `/m/KEY?…` URLs, answered with the same
/// range planner as the app, bodies sent with `sendfile` (no copy through user space).
///
/// It knows nothing of Vapor or the database: the signature says which key may be read until when, so the
/// hot path is a lookup of the verified link, a descriptor kept open for a second (`OpenFiles`) and a sendfile.
///
/// It is its own event loop over epoll (one thread per core, `MediaLoop`), not a NIO pipeline: a response here
/// is a head and a file range, and the general machinery (a channel pipeline, a promise per write, socket
/// options through the generic option path) cost more CPU per request than the request's own system calls.
/// Linux only, like the rest of the deployment (Debian).
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
        /// Called on a listener thread for the GET/HEAD requests with a valid signature (summed per connection, at
        /// most a second after them: `PlaybackEvent.requests`); must not block.
        public var onPlayback: (@Sendable (PlaybackEvent) -> Void)?
        /// Whether a validly signed grant still holds (its video's access revision is current); must not block.
        public var isCurrent: (@Sendable (MediaGrant) -> Bool)?
        /// Proxies whose `X-Forwarded-For` names the client in playback events.
        public var trustedProxies = TrustedProxies()
        /// Listener threads, each with its own epoll and connections (default: one per core).
        public var threads = System.coreCount

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

    public init(configuration: Configuration, logger: Logger = Logger(label: "videotube.media")) {
        self.configuration = configuration
        self.logger = logger
    }

    /// Binds and starts serving; the listener's `port` is the real one (when 0 was asked for).
    public func start() throws -> MediaListener {
        try MediaListener(configuration: configuration, logger: logger)
    }
}

public struct MediaListenerError: Error, CustomStringConvertible {
    public var description: String
}

/// A bound media listener and its threads. `close()` stops them, closes every connection and the socket.
public final class MediaListener: Sendable {
    public let port: Int
    private let socket: CInt
    private let loops: [MediaLoop]
    private let closed = NIOLockedValueBox(false)

    init(configuration: MediaServer.Configuration, logger: Logger) throws {
        // sendfile has no MSG_NOSIGNAL: a viewer gone mid-response must be an error on the call, not SIGPIPE.
        signal(SIGPIPE, SIG_IGN)
        let address: SocketAddress
        do {
            address = try SocketAddress.makeAddressResolvingHost(configuration.host, port: configuration.port)
        } catch {
            throw MediaListenerError(description: "cannot resolve \(configuration.host): \(error)")
        }
        let family: CInt =
            switch address {
            case .v6: AF_INET6
            default: AF_INET
            }
        let fd = Glibc.socket(family, CInt(SOCK_STREAM.rawValue) | CInt(SOCK_NONBLOCK.rawValue) | CInt(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw MediaListenerError(description: "socket: \(String(cString: strerror(errno)))") }
        var one: CInt = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<CInt>.size))
        let bound = address.withSockAddr { bind(fd, $0, socklen_t($1)) }
        guard bound == 0, listen(fd, 1024) == 0 else {
            let reason = String(cString: strerror(errno))
            _ = Glibc.close(fd)
            throw MediaListenerError(description: "bind \(configuration.host):\(configuration.port): \(reason)")
        }
        var local = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &local) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        let isV6 = local.ss_family == sa_family_t(AF_INET6)
        port = Int(
            withUnsafePointer(to: &local) { pointer -> UInt16 in
                if isV6 {
                    return pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin6_port) }
                }
                return pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin_port) }
            })
        socket = fd
        do {
            loops = try (0..<max(1, configuration.threads)).map { _ in
                try MediaLoop(listener: fd, configuration: configuration, logger: logger)
            }
        } catch {
            _ = Glibc.close(fd)
            throw error
        }
        for (index, loop) in loops.enumerated() {
            loop.siblings = loops
            loop.index = index
        }
        for (index, loop) in loops.enumerated() {
            let thread = Thread { loop.run() }
            thread.name = "videotube-media-\(index)"
            thread.start()
        }
    }

    /// Stops serving: every thread closes its connections and files and exits; then the socket is closed.
    public func close() async {
        let first = closed.withLockedValue { closed in
            defer { closed = true }
            return !closed
        }
        guard first else { return }
        for loop in loops { loop.stop() }
        for loop in loops { await loop.exited() }
        _ = Glibc.close(socket)
    }
}

/// Links this listener has verified, with the file and type each names, so the range requests of one playback
/// (dozens per video) cost a dictionary lookup instead of parsing, an HMAC and a key check each. A hit is exactly
/// a target that verified before; its expiry is checked on every use and its access revision by the caller.
/// Bounded: full, it starts over. One per listener thread, touched only there (no lock on the request path).
final class VerifiedLinks {
    struct Link: Sendable {
        var grant: MediaGrant
        var path: String
        var contentType: String
        /// With media in a bucket: the presigned URL this link redirects to, made once, valid as long as the link.
        var redirect: String?
    }

    static let capacity = 4096
    private var links: [String: Link] = [:]

    /// The link `target` signs, if it verifies and names a storable key.
    func link(for target: String, signer: URLSigner, storage: any MediaStorage, now: Int64 = Int64(time(nil))) -> Link? {
        if let known = links[target] { return known.grant.expires >= now ? known : nil }
        guard let grant = signer.verify(target: target, now: now), let path = try? storage.localPath(for: grant.key) else { return nil }
        let contentType = MIMEType.forExtension(StorageKey.fileExtension(of: grant.key))
        let redirect =
            storage.isRemote
            ? storage.presignedURL(for: grant.key, expires: Int(max(60, grant.expires - now)), contentType: contentType, disposition: nil)
            : nil
        let link = Link(grant: grant, path: path, contentType: contentType, redirect: redirect)
        if links.count >= Self.capacity { links.removeAll(keepingCapacity: true) }
        links[target] = link
        return link
    }
}
