import CMediaIO
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1

#if canImport(Glibc)
    import Glibc
#endif

/// One listener thread: an epoll set with the listening socket (shared by all threads, `EPOLLEXCLUSIVE`), an
/// eventfd to wake it, and its connections, each touched only on this thread.
///
/// A connection answers its requests one at a time, in order; while a response is being written its socket is
/// not read, so a client that sends without reading cannot grow memory. Sockets are edge-triggered: `readable`
/// and `writable` remember what epoll said until a call returns `EAGAIN` (or reads less than it asked for).
///
/// A response is its head, then `sendfile` of the range, under `TCP_CORK` (as nginx's `tcp_nopush`): the head and
/// the first bytes of the file share a segment, every segment is full, and taking the cork off sends the tail. A connection is closed after `idleTimeout` seconds with no whole request read and no
/// response in progress; a response in progress lasts as long as the client acknowledges bytes
/// (`TCP_USER_TIMEOUT`), so a slow viewer reading a long range is not cut off and a client that stops reading
/// altogether is dropped.
final class MediaLoop: @unchecked Sendable {
    fileprivate enum Part {
        /// Bytes not yet sent (the head, multipart framing, a text answer).
        case bytes(ByteBuffer)
        /// The next byte to send of the connection's file and the end (exclusive).
        case file(offset: Int64, end: Int64)
    }

    fileprivate final class Connection {
        let fd: CInt
        /// The socket peer's address as text.
        let peer: String?
        /// Bytes read and not yet parsed (`start..<end`): the rest of a request head, or pipelined requests.
        var input = [UInt8](repeating: 0, count: 4096)
        var start = 0
        var end = 0
        var readable = false
        var writable = true
        /// The client has shut its sending side (`EPOLLRDHUP`): what is buffered gets answered, then the end.
        var peerDone = false
        var responding = false
        /// The connection ends when the response in progress has been sent.
        var closeAfter = false
        var parts: [Part] = []
        var next = 0
        var file: OpenFiles.File?
        /// In `later`: it used its turns with work left.
        var queued = false
        /// `TCP_CORK` is on for the response in progress.
        var corked = false
        /// Playback not reported yet (`report`).
        var playback: PlaybackEvent?
        var lastActivity: NIODeadline

        init(fd: CInt, peer: String?, now: NIODeadline) {
            self.fd = fd
            self.peer = peer
            lastActivity = now
        }
    }

    private struct Inbox {
        var accepted: [(fd: CInt, peer: String?)] = []
        var stopping = false
        var exited = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    /// Largest request head buffered (the parser refuses heads over 16 KiB before this is reached).
    private static let inputLimit = 64 << 10
    private static let maxEvents: CInt = 256
    /// System calls one connection may make before the others on its thread get theirs (a client that pipelines
    /// without pause, or reads a long range as fast as it is sent, would otherwise keep the thread to itself).
    private static let turns = 64
    /// The most one sendfile call sends (nginx's `sendfile_max_chunk`).
    private static let sendfileChunk: Int64 = 2 << 20

    private let epoll: CInt
    private let wake: CInt
    private let listener: CInt
    private let configuration: MediaServer.Configuration
    private let verified = VerifiedLinks()
    private let logger: Logger
    private let inbox = NIOLockedValueBox(Inbox())
    /// All loops of the listener (set once before the threads start): accepted connections go round-robin.
    var siblings: [MediaLoop] = []
    var index = 0
    private var accepted = 0
    private var acceptPaused = false
    private var connections: [Connection?] = []
    /// Connections with work left after their turns, driven again after the next events (epoll reports nothing new
    /// for bytes already buffered).
    private var later: [Connection] = []
    private let files = OpenFiles()
    private let allocator = ByteBufferAllocator()
    private var now = NIODeadline.now()
    private let tick: TimeAmount

    init(listener: CInt, configuration: MediaServer.Configuration, logger: Logger) throws {
        self.listener = listener
        self.configuration = configuration
        self.logger = logger
        tick = .milliseconds(max(100, min(1000, configuration.idleTimeout * 250)))
        epoll = epoll_create1(CInt(EPOLL_CLOEXEC))
        wake = eventfd(0, CInt(EFD_NONBLOCK | EFD_CLOEXEC))
        guard epoll >= 0, wake >= 0 else {
            let reason = String(cString: strerror(errno))
            if epoll >= 0 { _ = Glibc.close(epoll) }
            if wake >= 0 { _ = Glibc.close(wake) }
            throw MediaListenerError(description: "epoll: \(reason)")
        }
        guard watch(wake, EPOLLIN.rawValue), watchListener() else {
            let reason = String(cString: strerror(errno))
            _ = Glibc.close(epoll)
            _ = Glibc.close(wake)
            throw MediaListenerError(description: "epoll_ctl: \(reason)")
        }
    }

    private func watch(_ fd: CInt, _ events: UInt32) -> Bool {
        var event = epoll_event()
        event.events = events
        event.data.fd = fd
        return epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &event) == 0
    }

    /// The listening socket wakes one waiting thread per connection (`EPOLLEXCLUSIVE`), level-triggered.
    private func watchListener() -> Bool {
        watch(listener, EPOLLIN.rawValue | EPOLLEXCLUSIVE.rawValue)
    }

    // MARK: Thread

    func stop() {
        inbox.withLockedValue { $0.stopping = true }
        var one: UInt64 = 1
        _ = Glibc.write(wake, &one, 8)
    }

    /// Returns once `run` has closed everything and ended.
    func exited() async {
        await withCheckedContinuation { continuation in
            let done = inbox.withLockedValue { inbox in
                if !inbox.exited { inbox.waiters.append(continuation) }
                return inbox.exited
            }
            if done { continuation.resume() }
        }
    }

    /// A connection another loop accepted, to be served by this one.
    private func hand(_ fd: CInt, peer: String?) {
        inbox.withLockedValue { $0.accepted.append((fd, peer)) }
        var one: UInt64 = 1
        _ = Glibc.write(wake, &one, 8)
    }

    func run() {
        var events = [epoll_event](repeating: epoll_event(), count: Int(Self.maxEvents))
        var nextSweep = NIODeadline.now() + tick
        serving: while true {
            let wait = later.isEmpty ? max(0, (nextSweep - now).nanoseconds / 1_000_000) : 0
            let count = events.withUnsafeMutableBufferPointer { epoll_wait(epoll, $0.baseAddress, Self.maxEvents, CInt(wait)) }
            now = .now()
            if count < 0, errno != EINTR {
                logger.error("media listener: epoll_wait failed: \(String(cString: strerror(errno)))")
                break serving
            }
            for i in 0..<max(0, Int(count)) {
                let fd = events[i].data.fd
                let mask = events[i].events
                if fd == listener {
                    acceptConnections()
                } else if fd == wake {
                    var value: UInt64 = 0
                    _ = Glibc.read(wake, &value, 8)
                    let (handed, stopping) = inbox.withLockedValue { inbox in
                        defer { inbox.accepted.removeAll() }
                        return (inbox.accepted, inbox.stopping)
                    }
                    if stopping {
                        for (fd, _) in handed { _ = Glibc.close(fd) }
                        break serving
                    }
                    for (fd, peer) in handed { register(fd, peer: peer) }
                } else if Int(fd) < connections.count, let connection = connections[Int(fd)] {
                    handle(connection, mask)
                }
            }
            if !later.isEmpty {
                let waiting = later
                later.removeAll(keepingCapacity: true)
                for connection in waiting {
                    connection.queued = false
                    if Int(connection.fd) < connections.count, connections[Int(connection.fd)] === connection { drive(connection) }
                }
            }
            if now >= nextSweep {
                sweep()
                nextSweep = now + tick
            }
        }
        for slot in connections.indices {
            if let connection = connections[slot] { close(connection) }
        }
        files.closeAll()
        _ = Glibc.close(epoll)
        _ = Glibc.close(wake)
        let waiters = inbox.withLockedValue { inbox in
            inbox.exited = true
            defer { inbox.waiters.removeAll() }
            return inbox.waiters
        }
        for waiter in waiters { waiter.resume() }
        siblings = []  // the loops hold each other only while they serve
    }

    /// Closes connections silent for the idle timeout (none with a response in progress), descriptors past their
    /// lifetime, and listens again after running out of descriptors.
    private func sweep() {
        let timeout = TimeAmount.seconds(configuration.idleTimeout)
        for slot in connections.indices {
            guard let connection = connections[slot] else { continue }
            if !connection.responding, now - connection.lastActivity >= timeout {
                close(connection)
            } else {
                flushPlayback(connection)
            }
        }
        files.sweep(now: now)
        if acceptPaused, watchListener() { acceptPaused = false }
    }

    // MARK: Connections

    private func acceptConnections() {
        // A few per wake-up: the listening socket is level-triggered, and the other threads get their turn.
        for _ in 0..<16 {
            var address = sockaddr_storage()
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let fd = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    cmediaio_accept4(listener, $0, &length, CInt(SOCK_NONBLOCK.rawValue) | CInt(SOCK_CLOEXEC.rawValue))
                }
            }
            if fd < 0 {
                switch errno {
                case EINTR, ECONNABORTED: continue
                case EMFILE, ENFILE, ENOBUFS, ENOMEM:
                    // Out of descriptors: stop listening on this thread until the next sweep instead of spinning.
                    logger.warning("media listener: cannot accept (\(String(cString: strerror(errno)))); pausing accepts")
                    if epoll_ctl(epoll, EPOLL_CTL_DEL, listener, nil) == 0 { acceptPaused = true }
                    return
                default: return
                }
            }
            var one: CInt = 1
            setsockopt(fd, CInt(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<CInt>.size))
            // A response in progress is bounded by the client's acknowledgements, not by its requests: the kernel
            // drops a connection whose sent bytes (or window probes, when the client has stopped reading) go
            // unacknowledged for the idle timeout.
            var userTimeout = CInt(clamping: configuration.idleTimeout * 1000)
            setsockopt(fd, CInt(IPPROTO_TCP), TCP_USER_TIMEOUT, &userTimeout, socklen_t(MemoryLayout<CInt>.size))
            let peer: String? =
                switch CInt(address.ss_family) {
                case AF_INET:
                    withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { SocketAddress($0.pointee).ipAddress } }
                case AF_INET6:
                    withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { SocketAddress($0.pointee).ipAddress } }
                default: nil
                }
            let target = siblings.isEmpty ? self : siblings[(index + accepted) % siblings.count]
            accepted &+= 1
            if target === self {
                register(fd, peer: peer)
            } else {
                target.hand(fd, peer: peer)
            }
        }
    }

    private func register(_ fd: CInt, peer: String?) {
        guard watch(fd, EPOLLIN.rawValue | EPOLLOUT.rawValue | EPOLLRDHUP.rawValue | EPOLLET.rawValue) else {
            _ = Glibc.close(fd)
            return
        }
        let slot = Int(fd)
        if slot >= connections.count {
            connections.append(contentsOf: repeatElement(nil, count: max(slot + 1, connections.count * 2) - connections.count))
        }
        connections[slot] = Connection(fd: fd, peer: peer, now: now)
    }

    private func close(_ connection: Connection) {
        flushPlayback(connection)
        if let file = connection.file {
            files.release(file)
            connection.file = nil
        }
        connections[Int(connection.fd)] = nil
        _ = Glibc.close(connection.fd)
    }

    private func handle(_ connection: Connection, _ mask: UInt32) {
        if mask & (EPOLLERR.rawValue | EPOLLHUP.rawValue) != 0 { return close(connection) }
        if mask & EPOLLOUT.rawValue != 0 { connection.writable = true }
        if mask & (EPOLLIN.rawValue | EPOLLRDHUP.rawValue) != 0 { connection.readable = true }
        if mask & EPOLLRDHUP.rawValue != 0 { connection.peerDone = true }
        drive(connection)
    }

    /// Sends what can be sent, answers the requests buffered, reads when there is no whole one, until the socket
    /// would block or the connection's turns are used. Requests are answered in a loop, one after the other (never
    /// one inside another).
    private func drive(_ c: Connection) {
        var turns = Self.turns
        while true {
            if turns == 0 {
                if !c.queued {
                    c.queued = true
                    later.append(c)
                }
                return
            }
            turns -= 1
            if c.responding {
                guard c.writable else { return }
                switch send(c) {
                case .blocked:
                    c.writable = false
                    return
                case .failed:
                    return close(c)
                case .sent:
                    continue
                case .done:
                    if c.corked { cork(c, false) }
                    if let file = c.file {
                        files.release(file)
                        c.file = nil
                    }
                    c.responding = false
                    c.parts.removeAll(keepingCapacity: true)
                    c.lastActivity = now
                    if c.closeAfter { return close(c) }
                }
            }
            if c.end > c.start {
                let outcome = c.input.withUnsafeBytes { MediaRequestParser.parse(UnsafeRawBufferPointer(rebasing: $0[c.start..<c.end])) }
                switch outcome {
                case .request(let head, let length):
                    c.start += length
                    if c.start == c.end { (c.start, c.end) = (0, 0) }
                    // Only a whole request counts as activity: a head trickling in byte by byte is silence.
                    c.lastActivity = now
                    respond(c, head)
                    continue
                case .refused(let status, let reason):
                    // What follows in the stream cannot be told apart from the refused request: answer and end.
                    (c.start, c.end) = (0, 0)
                    refuse(c, status: status, reason: reason)
                    continue
                case .incomplete:
                    break
                }
            }
            guard c.readable else { return }
            if c.start > 0 {
                c.input.withUnsafeMutableBytes { bytes in
                    let base = bytes.baseAddress!
                    memmove(base, base + c.start, c.end - c.start)
                }
                (c.start, c.end) = (0, c.end - c.start)
            }
            if c.end == c.input.count {
                guard c.input.count < Self.inputLimit else { return close(c) }
                c.input.append(contentsOf: repeatElement(0, count: c.input.count))
            }
            let room = c.input.count - c.end
            let count = c.input.withUnsafeMutableBytes { recv(c.fd, $0.baseAddress! + c.end, room, 0) }
            if count > 0 {
                c.end += count
                // Edge-triggered: a short read emptied the socket, and the next bytes will raise a new event (once
                // the client has shut its side no event comes again: the next read returns the end).
                if count < room, !c.peerDone { c.readable = false }
            } else if count == 0 {
                return close(c)
            } else {
                switch errno {
                case EINTR: continue
                case EAGAIN, EWOULDBLOCK:
                    c.readable = false
                    return
                default: return close(c)
                }
            }
        }
    }

    private enum Progress {
        /// The whole response is sent.
        case done
        /// Some of it, with more to send.
        case sent
        case blocked
        case failed
    }

    /// One system call of the response, its parts in order: bytes by send, file ranges by sendfile (a response with
    /// a file is under the cork, so its pieces leave in full segments).
    private func send(_ c: Connection) -> Progress {
        while c.next < c.parts.count {
            switch c.parts[c.next] {
            case .bytes(var buffer):
                let count = buffer.withUnsafeReadableBytes { Glibc.send(c.fd, $0.baseAddress, $0.count, CInt(MSG_NOSIGNAL)) }
                if count < 0 {
                    switch errno {
                    case EINTR: continue
                    case EAGAIN, EWOULDBLOCK: return .blocked
                    default: return .failed
                    }
                }
                buffer.moveReaderIndex(forwardBy: count)
                if buffer.readableBytes == 0 {
                    c.next += 1
                } else {
                    c.parts[c.next] = .bytes(buffer)
                }
                return c.next < c.parts.count ? .sent : .done
            case .file(let offset, let end):
                guard let file = c.file else { return .failed }
                var position = off_t(offset)
                let count = sendfile(c.fd, file.descriptor, &position, Int(min(end - offset, Self.sendfileChunk)))
                if count < 0 {
                    switch errno {
                    case EINTR: continue
                    case EAGAIN, EWOULDBLOCK: return .blocked
                    default: return .failed
                    }
                }
                // The file is shorter than its size said: the promised length cannot be kept, end the connection.
                if count == 0 { return .failed }
                if Int64(position) >= end {
                    c.next += 1
                } else {
                    c.parts[c.next] = .file(offset: Int64(position), end: end)
                }
                return c.next < c.parts.count ? .sent : .done
            }
        }
        return .done
    }

    // MARK: Answers

    private func begin(_ c: Connection, keepAlive: Bool) {
        c.parts.removeAll(keepingCapacity: true)
        c.next = 0
        c.responding = true
        if !keepAlive { c.closeAfter = true }
    }

    private func respond(_ c: Connection, _ head: MediaRequestHead) {
        if case .other = head.method {
            return sendText(c, head, 405, "Only GET and HEAD are served here.\n", extra: [("Allow", "GET, HEAD")])
        }
        if head.target == "/healthz" { return sendText(c, head, 200, "ok\n") }
        guard let link = verified.link(for: head.target, signer: configuration.signer, storage: configuration.storage),
            configuration.isCurrent?(link.grant) ?? true
        else {
            return sendText(c, head, 403, "This media link is invalid or has expired: reload the page for a fresh one.\n")
        }
        let grant = link.grant
        if let redirect = link.redirect {
            return redirectToStore(c, head, grant: grant, url: redirect)
        }
        // The descriptor's own fstat gives size and validators, so they describe the bytes actually sent.
        guard let file = try? files.acquire(link.path, contentType: link.contentType, now: now) else {
            return sendText(c, head, 404, "No such media.\n")
        }
        let isHead = head.isHead
        let plan = configuration.responder.plan(head.media, for: file.representation, validators: file.validators)
        report(
            c,
            PlaybackEvent(
                grant: grant,
                remoteAddress: configuration.trustedProxies.clientAddress(
                    peer: c.peer, forwardedFor: configuration.trustedProxies.isEmpty ? nil : head.forwardedFor),
                userAgent: head.userAgent, status: plan.status, bytes: isHead ? 0 : plan.contentLength))

        begin(c, keepAlive: head.keepAlive)
        c.file = file
        var buffer = allocator.buffer(capacity: 512)
        Self.writeHead(
            into: &buffer, head, status: plan.status, contentLength: plan.contentLength, headers: plan.headers,
            fixed: "\r\nCache-Control: private, max-age=3600\r\nAccess-Control-Allow-Origin: *\r\nX-Content-Type-Options: nosniff")
        if !isHead {
            for segment in plan.body {
                switch segment {
                case .text(let text):
                    buffer.writeString(text)
                case .file(let range):
                    c.parts.append(.bytes(buffer))
                    buffer = allocator.buffer(capacity: 0)
                    c.parts.append(.file(offset: range.start, end: range.end + 1))
                }
            }
        }
        if buffer.readableBytes > 0 || c.parts.isEmpty { c.parts.append(.bytes(buffer)) }
        if c.parts.count > 1 { cork(c, true) }
    }

    /// `TCP_CORK` while a response with a file is sent: the kernel sends only full segments until it is taken off,
    /// which sends the tail. (`MSG_MORE` alone holds a partial segment only within its own call: the pushes that
    /// acknowledgements trigger meanwhile send partial segments, ~23 instead of ~19 per 1 MiB response, measured.)
    private func cork(_ c: Connection, _ on: Bool) {
        var value: CInt = on ? 1 : 0
        if setsockopt(c.fd, CInt(IPPROTO_TCP), TCP_CORK, &value, socklen_t(MemoryLayout<CInt>.size)) == 0 { c.corked = on }
    }

    /// Playback is reported per connection: a request for the same link, with the same status and client, as the one
    /// before adds to its event; another one, the connection's end or the next sweep (within a second) reports it.
    /// A player's dozens of range requests cost the watch log and the metrics one call a second, not one each.
    private func report(_ c: Connection, _ event: PlaybackEvent) {
        guard configuration.onPlayback != nil else { return }
        if let pending = c.playback, pending.grant == event.grant, pending.status == event.status,
            pending.remoteAddress == event.remoteAddress, pending.userAgent == event.userAgent
        {
            c.playback!.requests += 1
            c.playback!.bytes += event.bytes
            return
        }
        flushPlayback(c)
        c.playback = event
    }

    private func flushPlayback(_ c: Connection) {
        guard let event = c.playback else { return }
        c.playback = nil
        configuration.onPlayback?(event)
    }

    /// Objects in a bucket are served by the bucket: a redirect to a presigned URL that lives as long as the link
    /// (the check above — signature, expiry, access revision — still happens here, and the watch log still sees it).
    private func redirectToStore(_ c: Connection, _ head: MediaRequestHead, grant: MediaGrant, url: String) {
        let remaining = Int(max(60, grant.expires - Int64(time(nil))))
        report(c, PlaybackEvent(grant: grant, remoteAddress: c.peer, userAgent: head.userAgent, status: 302, bytes: 0))
        sendText(
            c, head, 302, "Served by the media store: \(url)\n",
            extra: [("Location", url), ("Cache-Control", "private, max-age=\(min(remaining, 3600))"), ("Access-Control-Allow-Origin", "*")])
    }

    /// A request the parser refused: its status and reason, then the connection ends.
    private func refuse(_ c: Connection, status: Int, reason: String) {
        var head = MediaRequestHead(method: .get, target: "/")
        head.keepAlive = false
        sendText(c, head, status, reason + "\n")
    }

    private func sendText(_ c: Connection, _ head: MediaRequestHead, _ code: Int, _ text: String, extra: [(String, String)] = []) {
        begin(c, keepAlive: head.keepAlive)
        var buffer = allocator.buffer(capacity: 256 + text.utf8.count)
        Self.writeHead(
            into: &buffer, head, status: code, contentLength: Int64(text.utf8.count),
            headers: extra + [("Content-Type", "text/plain; charset=utf-8")])
        if !head.isHead { buffer.writeString(text) }
        c.parts.append(.bytes(buffer))
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

extension MediaLoop {
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
