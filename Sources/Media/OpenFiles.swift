import NIOConcurrencyHelpers
import NIOCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Media files the listener has open, kept for `lifetime` after opening, so the range requests of a playback
/// (dozens a second for a popular video) share one descriptor and one `fstat` instead of an open, a stat and a
/// close each — nginx's `open_file_cache` with `open_file_cache_valid 1s`.
///
/// Stored media does not change in place (a new version is a new file or a rename), so a descriptor opened
/// within the last second describes what the path names, or what it named a second ago: a file replaced or
/// deleted is served from its old descriptor for at most `lifetime`, and the access check on the signed link,
/// done on every request, is unaffected. A descriptor is closed once it is past its lifetime and no response
/// is sending from it; a sweep every `lifetime` closes idle ones even when no request comes, so a deleted file's
/// space is given back.
///
/// One instance per event loop, touched only on that loop (no lock on the request path).
final class OpenFiles: @unchecked Sendable {
    final class File {
        let handle: NIOFileHandle
        let representation: Representation
        let validators: Validators
        let openedAt: NIODeadline
        fileprivate var users = 0
        fileprivate var retired = false

        init(handle: NIOFileHandle, representation: Representation, openedAt: NIODeadline) {
            self.handle = handle
            self.representation = representation
            self.validators = Validators(representation)
            self.openedAt = openedAt
        }
    }

    enum Refusal: Error { case notARegularFile }

    static let lifetime = TimeAmount.seconds(1)
    static let capacity = 128

    private let eventLoop: EventLoop
    private var files: [String: File] = [:]
    private var sweep: Scheduled<Void>?

    init(eventLoop: EventLoop) {
        self.eventLoop = eventLoop
    }

    /// How many descriptors are open now (cached or still sending).
    var openCount: Int {
        eventLoop.assertInEventLoop()
        return files.count
    }

    /// The open file at `path` with its size and validators from `fstat` of the same descriptor; pair with
    /// `release` when the response is sent. Throws when it cannot be opened or is not a regular file.
    func acquire(_ path: String, contentType: String, now: NIODeadline? = nil) throws -> File {
        eventLoop.assertInEventLoop()
        let now = now ?? eventLoop.now
        if let file = files[path] {
            if now - file.openedAt < Self.lifetime {
                file.users += 1
                return file
            }
            retire(path, file)
        }
        if files.count >= Self.capacity {
            for (path, file) in files { retire(path, file) }
        }
        let handle = try NIOFileHandle(_deprecatedPath: path)
        var st = stat()
        let ok = (try? handle.withUnsafeFileDescriptor { fstat($0, &st) }) == 0
        guard ok, (st.st_mode & S_IFMT) == S_IFREG else {
            try? handle.close()
            throw Refusal.notARegularFile
        }
        let file = File(
            handle: handle,
            representation: Representation(size: Int64(st.st_size), lastModified: Int64(st.st_mtim.tv_sec), contentType: contentType),
            openedAt: now)
        file.users = 1
        files[path] = file
        scheduleSweep()
        return file
    }

    func release(_ file: File) {
        eventLoop.assertInEventLoop()
        file.users -= 1
        if file.retired, file.users == 0 { try? file.handle.close() }
    }

    /// Takes `file` out of the table; its descriptor closes now, or when its last response is sent.
    private func retire(_ path: String, _ file: File) {
        files[path] = nil
        file.retired = true
        if file.users == 0 { try? file.handle.close() }
    }

    private func scheduleSweep() {
        guard sweep == nil else { return }
        sweep = eventLoop.assumeIsolated().scheduleTask(in: Self.lifetime) { [self] in
            sweep = nil
            let now = eventLoop.now
            for (path, file) in files where now - file.openedAt >= Self.lifetime { retire(path, file) }
            if !files.isEmpty { scheduleSweep() }
        }
    }
}

/// One `OpenFiles` per event loop, handed to each connection as it starts.
final class OpenFilesByLoop: Sendable {
    private let tables = NIOLockedValueBox<[ObjectIdentifier: OpenFiles]>([:])

    func table(for eventLoop: EventLoop) -> OpenFiles {
        tables.withLockedValue { tables in
            let id = ObjectIdentifier(eventLoop)
            if let table = tables[id] { return table }
            let table = OpenFiles(eventLoop: eventLoop)
            tables[id] = table
            return table
        }
    }
}
