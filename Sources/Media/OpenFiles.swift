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
/// is sending from it; the sweep closes idle ones even when no request comes, so a deleted file's space is given back.
///
/// One instance per listener thread, touched only on that thread (no lock on the request path); the thread calls
/// `sweep` about every second.
final class OpenFiles {
    final class File {
        let descriptor: CInt
        let representation: Representation
        let validators: Validators
        let openedAt: NIODeadline
        fileprivate var users = 0
        fileprivate var retired = false
        private(set) var isOpen = true

        init(descriptor: CInt, representation: Representation, openedAt: NIODeadline) {
            self.descriptor = descriptor
            self.representation = representation
            self.validators = Validators(representation)
            self.openedAt = openedAt
        }

        fileprivate func close() {
            guard isOpen else { return }
            isOpen = false
            _ = systemClose(descriptor)
        }
    }

    enum Refusal: Error { case cannotOpen, notARegularFile }

    static let lifetime = TimeAmount.seconds(1)
    static let capacity = 128

    private var files: [String: File] = [:]

    init() {}

    /// How many descriptors are open now (cached or still sending).
    var openCount: Int { files.count }

    /// The open file at `path` with its size and validators from `fstat` of the same descriptor; pair with
    /// `release` when the response is sent. Throws when it cannot be opened or is not a regular file.
    func acquire(_ path: String, contentType: String, now: NIODeadline = .now()) throws -> File {
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
        let descriptor = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard descriptor >= 0 else { throw Refusal.cannotOpen }
        var st = stat()
        guard fstat(descriptor, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else {
            _ = systemClose(descriptor)
            throw Refusal.notARegularFile
        }
        let file = File(
            descriptor: descriptor,
            representation: Representation(size: Int64(st.st_size), lastModified: Int64(st.st_mtim.tv_sec), contentType: contentType),
            openedAt: now)
        file.users = 1
        files[path] = file
        return file
    }

    func release(_ file: File) {
        file.users -= 1
        if file.retired, file.users == 0 { file.close() }
    }

    /// Closes the descriptors past their lifetime that no response is sending from (the others at their release).
    func sweep(now: NIODeadline = .now()) {
        for (path, file) in files where now - file.openedAt >= Self.lifetime { retire(path, file) }
    }

    /// Takes every file out of the table (the listener is stopping; responses in progress end with it).
    func closeAll() {
        for (_, file) in files { file.close() }
        files.removeAll()
    }

    /// Takes `file` out of the table; its descriptor closes now, or when its last response is sent.
    private func retire(_ path: String, _ file: File) {
        files[path] = nil
        file.retired = true
        if file.users == 0 { file.close() }
    }
}

private func systemClose(_ descriptor: CInt) -> CInt {
    #if canImport(Glibc)
        Glibc.close(descriptor)
    #else
        Darwin.close(descriptor)
    #endif
}
