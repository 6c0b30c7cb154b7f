import App
import Fluent
import Foundation
import Media
import NIOCore
import NIOHTTP1
import Testing
import VaporTesting

#if canImport(Glibc)
import Glibc
#endif

/// Uploads over real HTTP: tus with an interruption, a single multipart request, limits, refusals, URL imports,
/// then the processing job that turns each upload into HLS renditions.
@Suite("Uploads and processing", .serialized)
struct UploadTests {
    static let tus: HTTPHeaders = ["Tus-Resumable": "1.0.0"]

    /// A signed-in owner with a channel `@olgas`; returns their token.
    func owner(_ app: Application, name: String = "olga", handle: String = "olgas") async throws -> String {
        let user = try await Accounts.user(app, name)
        let token = try await Accounts.token(app, user)
        let created = try await api(app, .POST, "/api/v1/channels", token: token, json: ["handle": handle, "name": "Studio"])
        #expect(created.status == .created)
        return token
    }

    /// The `error.message` of a JSON error body.
    func message(_ json: [String: Any]) -> String {
        ((json["error"] as? [String: Any])?["message"] as? String) ?? ""
    }

    /// Files under the media folder (what an upload may leave behind).
    func storedFiles(_ app: Application) -> [String] {
        let root = app.videotube.config.mediaDirectory
        let all = (FileManager.default.enumerator(atPath: root)?.allObjects as? [String]) ?? []
        return all.filter { path in
            var isDirectory: ObjCBool = false
            return FileManager.default.fileExists(atPath: "\(root)/\(path)", isDirectory: &isDirectory) && !isDirectory.boolValue
        }
    }

    @Test("tus: upload in chunks, lose the connection mid-chunk, resume from HEAD's offset, get a video that processes to HLS")
    func tusResume() async throws {
        try await withApp { app in
            // given
            let token = try await owner(app)
            let file = try Data(contentsOf: URL(fileURLWithPath: try await Fixtures.video()))
            let meta = "filename \(Data("clip.mp4".utf8).base64EncodedString()),channel \(Data("olgas".utf8).base64EncodedString()),title \(Data("Über clip".utf8).base64EncodedString())"
            var headers = Self.tus
            headers.add(name: "Upload-Length", value: "\(file.count)")
            headers.add(name: "Upload-Metadata", value: meta)

            // when: created
            let created = try await api(app, .POST, "/api/v1/uploads", token: token, headers: headers)
            #expect(created.status == .created)
            let location = try #require(created.headers.first(name: .location))
            let path = String(location[location.range(of: "/api/v1/uploads/")!.lowerBound...])

            // when: the first chunk arrives whole
            let first = 20_000
            var patch = Self.tus
            patch.add(name: "Content-Type", value: "application/offset+octet-stream")
            patch.add(name: "Upload-Offset", value: "0")
            let one = try await api(app, .PATCH, path, token: token, headers: patch, body: ByteBuffer(data: file.prefix(first)))
            #expect(one.status == .noContent)
            #expect(one.headers.first(name: "Upload-Offset") == "\(first)")

            // when: the second chunk is cut off after 15,000 of its 40,000 bytes (the client vanishes)
            let port = try await LiveServer.port(app)
            try RawHTTP.sendAndClose(
                port: port,
                head: "PATCH \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(token)\r\nTus-Resumable: 1.0.0\r\n"
                    + "Content-Type: application/offset+octet-stream\r\nUpload-Offset: \(first)\r\nContent-Length: 40000\r\n\r\n",
                body: file[first..<(first + 15_000)])

            // then: HEAD says how many of them the server wrote before it saw the connection drop (all 15,000 on a
            // quiet machine; fewer when chunks were still queued), and the client resumes from exactly there
            var offset = -1
            var previous = -2
            for _ in 0..<50 {
                let head = try await api(app, .HEAD, path, token: token, headers: Self.tus)
                #expect(head.status == .ok)
                #expect(head.headers.first(name: "Cache-Control") == "no-store")
                offset = Int(head.headers.first(name: "Upload-Offset") ?? "") ?? -1
                if offset == first + 15_000 || (offset == previous && offset >= first) { break }
                previous = offset
                try await Task.sleep(nanoseconds: 200_000_000)
            }
            #expect(offset >= first && offset <= first + 15_000)

            // when: a PATCH at the wrong offset is refused, then the rest is sent from the right one
            var wrong = patch
            wrong.replaceOrAdd(name: "Upload-Offset", value: "\(offset + 1)")
            let conflict = try await api(app, .PATCH, path, token: token, headers: wrong, body: ByteBuffer(data: file[offset...]))
            #expect(conflict.status == .conflict)
            var rest = patch
            rest.replaceOrAdd(name: "Upload-Offset", value: "\(offset)")
            let done = try await api(app, .PATCH, path, token: token, headers: rest, body: ByteBuffer(data: file[offset...]))

            // then: complete, and the response names the new video
            #expect(done.status == .noContent)
            #expect(done.headers.first(name: "Upload-Offset") == "\(file.count)")
            let videoID = try #require(Int(done.headers.first(name: "Videotube-Video-Id") ?? ""))
            let video = try #require(try await Video.find(videoID, on: app.db))
            #expect(video.title == "Über clip")
            #expect(video.status == .processing)
            let stored = try app.videotube.storage.localPath(for: video.mediaKey)
            #expect(try Data(contentsOf: URL(fileURLWithPath: stored)) == file)

            // when: the job runs
            #expect(try await app.videotube.jobs.runNext())

            // then: ready, with a master playlist that lists every rendition and plays over HTTP
            let processed = try #require(try await Video.find(videoID, on: app.db))
            #expect(processed.status == .ready)
            #expect(processed.renditions == ["180p"])  // the 320×180 fixture is below the 240p rung: one rendition, never upscaled
            #expect(processed.hasStoryboard == true)
            let status = try await api(app, .GET, "/api/v1/videos/\(videoID)/processing", token: token)
            #expect(status.json["state"] as? String == "done")
            #expect(status.json["progress"] as? Double == 100)
            let master = try await LiveServer.send(app, .GET, "/videos/\(videoID)/hls/master.m3u8", headers: [:], body: nil)
            #expect(master.status == .ok)
            #expect(master.headers.first(name: .contentType) == "application/vnd.apple.mpegurl")
            #expect(master.body.contains("#EXT-X-STREAM-INF:BANDWIDTH="))
            #expect(master.body.contains("RESOLUTION=320x180"))
            #expect(master.body.contains("CODECS=\"avc1."))
            let segment = try await LiveServer.send(app, .GET, "/videos/\(videoID)/hls/180p_0000.m4s", headers: [:], body: nil)
            #expect(segment.status == .ok)
            #expect(segment.headers.first(name: .contentType) == "video/iso.segment")
            #expect(segment.headers.first(name: .cacheControl) == "public, max-age=31536000, immutable")
            let vtt = try await LiveServer.send(app, .GET, "/videos/\(videoID)/hls/storyboard.vtt", headers: [:], body: nil)
            #expect(vtt.body.hasPrefix("WEBVTT"))
            #expect(vtt.body.contains("storyboard.jpg#xywh=0,0,160,90"))
            // The watch log holds one HLS session for it: the segments' requests and bytes, not the playlists'.
            _ = try await LiveServer.send(app, .GET, "/videos/\(videoID)/hls/180p_0000.m4s", headers: [:], body: nil)
            await app.videotube.watchLog?.flush()
            let sessions = try await WatchSession.query(on: app.db).filter(\.$video.$id == videoID).all()
            #expect(sessions.count == 1)
            #expect(sessions.first?.source == .hls && sessions.first?.requests == 2)
            #expect(sessions.first?.bytes == 2 * (Int64(segment.headers.first(name: .contentLength) ?? "") ?? -1))
            // The download file is a faststart MP4 now ('moov' before 'mdat').
            let mp4 = try Data(contentsOf: URL(fileURLWithPath: try app.videotube.storage.localPath(for: processed.mediaKey)))
            let moov = try #require(mp4.range(of: Data("moov".utf8)))
            let mdat = try #require(mp4.range(of: Data("mdat".utf8)))
            #expect(moov.lowerBound < mdat.lowerBound)
            // No partial upload is left behind.
            #expect(storedFiles(app).filter { $0.hasPrefix("uploads/") }.isEmpty)
        }
    }

    @Test("tus: OPTIONS advertises the extensions; a missing version is 400, another one 412; termination deletes the bytes")
    func tusProtocol() async throws {
        try await withApp { app in
            let token = try await owner(app)
            let options = try await api(app, .OPTIONS, "/api/v1/uploads")
            #expect(options.status == .noContent)
            #expect(options.headers.first(name: "Tus-Version") == "1.0.0")
            #expect(options.headers.first(name: "Tus-Extension")?.contains("creation") == true)
            #expect(options.headers.first(name: "Tus-Extension")?.contains("termination") == true)

            let noVersion = try await api(app, .POST, "/api/v1/uploads", token: token, headers: ["Upload-Length": "100"])
            #expect(noVersion.status == .badRequest)
            let otherVersion = try await api(
                app, .POST, "/api/v1/uploads", token: token, headers: ["Upload-Length": "100", "Tus-Resumable": "0.2.2"])
            #expect(otherVersion.status == .preconditionFailed && otherVersion.headers.first(name: "Tus-Version") == "1.0.0")

            var headers = Self.tus
            headers.add(name: "Upload-Length", value: "1000")
            let created = try await api(app, .POST, "/api/v1/uploads", token: token, headers: headers)
            let location = try #require(created.headers.first(name: .location))
            let path = String(location[location.range(of: "/api/v1/uploads/")!.lowerBound...])
            #expect(storedFiles(app).contains { $0.hasPrefix("uploads/") })

            // Someone else's upload is not found.
            let stranger = try await Accounts.token(app, try await Accounts.user(app, "sam"))
            #expect(try await api(app, .HEAD, path, token: stranger, headers: Self.tus).status == .notFound)

            let deleted = try await api(app, .DELETE, path, token: token, headers: Self.tus)
            #expect(deleted.status == .noContent)
            #expect(try await api(app, .HEAD, path, token: token, headers: Self.tus).status == .notFound)
            #expect(storedFiles(app).filter { $0.hasPrefix("uploads/") }.isEmpty)
            #expect(try await Upload.query(on: app.db).count() == 0)
        }
    }

    @Test("POST /api/v1/videos with a multipart form makes a processing video with the form's title")
    func multipart() async throws {
        try await withApp { app in
            // given
            let token = try await owner(app)
            let file = try Data(contentsOf: URL(fileURLWithPath: try await Fixtures.video()))
            let boundary = "----videotube-test-boundary"
            var body = Data()
            func field(_ name: String, _ value: String) {
                body += Data("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"\r\n\r\n\(value)\r\n".utf8)
            }
            field("channel", "olgas")
            field("title", "Sent in one go")
            body += Data("--\(boundary)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"one.mp4\"\r\nContent-Type: video/mp4\r\n\r\n".utf8)
            body += file
            body += Data("\r\n".utf8)
            field("description", "After the file")
            body += Data("--\(boundary)--\r\n".utf8)

            // when
            let response = try await api(
                app, .POST, "/api/v1/videos", token: token, headers: ["Content-Type": "multipart/form-data; boundary=\(boundary)"],
                body: ByteBuffer(data: body))

            // then
            #expect(response.status == .created)
            #expect(response.json["title"] as? String == "Sent in one go")
            #expect(response.json["description"] as? String == "After the file")
            #expect(response.json["status"] as? String == "processing")
            let id = try #require(response.json["id"] as? Int)
            let video = try #require(try await Video.find(id, on: app.db))
            #expect(video.size == Int64(file.count))
            #expect(try await ProcessingJob.query(on: app.db).filter(\.$video.$id == id).count() == 1)
        }
    }

    @Test("An upload over VIDEOTUBE_MAX_UPLOAD_BYTES is refused with 413 from its headers, before the body is sent")
    func oversizedEarly() async throws {
        try await withApp(settings: { $0.maxUploadBytes = 1_000_000 }) { app in
            let token = try await owner(app)
            let port = try await LiveServer.port(app)
            // Announce 500 MB but send only 64 KB: the answer must come without the rest.
            let answer = try RawHTTP.sendAndRead(
                port: port,
                head: "POST /api/v1/videos?channel=olgas HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(token)\r\n"
                    + "Content-Type: video/mp4\r\nContent-Length: 500000000\r\n\r\n",
                body: Data(count: 65536), timeout: 10)
            #expect(answer.hasPrefix("HTTP/1.1 413"))
            #expect(answer.contains("1 MB"))
            #expect(answer.contains("VIDEOTUBE_MAX_UPLOAD_BYTES"))

            // tus creation says the same, with no body at all.
            var headers = Self.tus
            headers.add(name: "Upload-Length", value: "5000000")
            let created = try await api(app, .POST, "/api/v1/uploads", token: token, headers: headers)
            #expect(created.status == .payloadTooLarge)
            #expect(storedFiles(app).isEmpty)
        }
    }

    @Test("A per-user quota counts stored videos and refuses what would go over it")
    func quota() async throws {
        let file = try Data(contentsOf: URL(fileURLWithPath: try await Fixtures.video()))
        let quota = Int64(file.count * 3 / 2)
        try await withApp(settings: { $0.userQuotaBytes = quota }) { app in
            let token = try await owner(app)
            let first = try await api(app, .POST, "/api/v1/videos?channel=olgas", token: token, body: ByteBuffer(data: file))
            #expect(first.status == .created)
            let second = try await api(app, .POST, "/api/v1/videos?channel=olgas", token: token, body: ByteBuffer(data: file))
            #expect(second.status == .payloadTooLarge)
            #expect(message(second.json).contains("quota"))
            #expect(try await Video.query(on: app.db).count() == 1)
        }
    }

    @Test("A file that is not a video (random bytes, audio only) is refused with a clear 422 and leaves nothing behind")
    func notAVideo() async throws {
        try await withApp { app in
            // given
            let token = try await owner(app)
            let audio = NSTemporaryDirectory() + "videotube-audio-\(UUID().uuidString).m4a"
            try await ProcessRunner.check(
                "ffmpeg", ["-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", "sine=duration=1", "-c:a", "aac", audio])
            defer { try? FileManager.default.removeItem(atPath: audio) }
            var noise = Data(count: 50_000)
            for i in noise.indices { noise[i] = UInt8.random(in: 0...255) }

            // when / then: single request
            let junk = try await api(app, .POST, "/api/v1/videos?channel=olgas&filename=notes.mp4", token: token, body: ByteBuffer(data: noise))
            #expect(junk.status == .unprocessableEntity)
            let refusal = message(junk.json)
            #expect(refusal.contains("notes.mp4"))
            #expect(refusal.contains("not a video"))
            let sound = try await api(
                app, .POST, "/api/v1/videos?channel=olgas", token: token, body: ByteBuffer(data: try Data(contentsOf: URL(fileURLWithPath: audio))))
            #expect(sound.status == .unprocessableEntity)
            #expect(message(sound.json).contains("no video stream"))

            // when / then: the same through tus
            var headers = Self.tus
            headers.add(name: "Upload-Length", value: "\(noise.count)")
            let created = try await api(app, .POST, "/api/v1/uploads", token: token, headers: headers)
            let location = try #require(created.headers.first(name: .location))
            var patch = Self.tus
            patch.add(name: "Content-Type", value: "application/offset+octet-stream")
            patch.add(name: "Upload-Offset", value: "0")
            let path = String(location[location.range(of: "/api/v1/uploads/")!.lowerBound...])
            let refused = try await api(app, .PATCH, path, token: token, headers: patch, body: ByteBuffer(data: noise))
            #expect(refused.status == .unprocessableEntity)

            // then: nothing on disk, nothing in the database
            #expect(storedFiles(app).isEmpty)
            #expect(try await Video.query(on: app.db).count() == 0)
            #expect(try await Upload.query(on: app.db).count() == 0)
            #expect(try await ProcessingJob.query(on: app.db).count() == 0)
        }
    }

    @Test("Only the channel's owner uploads to it: someone else gets 403, nobody signed in 401")
    func ownersOnly() async throws {
        try await withApp { app in
            _ = try await owner(app)
            let stranger = try await Accounts.token(app, try await Accounts.user(app, "mallory"))
            let file = try Data(contentsOf: URL(fileURLWithPath: try await Fixtures.video()))
            let theirs = try await api(app, .POST, "/api/v1/videos?channel=olgas", token: stranger, body: ByteBuffer(data: file))
            #expect(theirs.status == .forbidden)
            let anonymous = try await api(app, .POST, "/api/v1/videos?channel=olgas", body: ByteBuffer(data: file))
            #expect(anonymous.status == .unauthorized)
            var headers = Self.tus
            headers.add(name: "Upload-Length", value: "100")
            headers.add(name: "Upload-Metadata", value: "channel \(Data("olgas".utf8).base64EncodedString())")
            #expect(try await api(app, .POST, "/api/v1/uploads", token: stranger, headers: headers).status == .forbidden)
            #expect(storedFiles(app).isEmpty)
        }
    }

    @Test("Import from a URL on this machine: refused as a loopback address by default, downloaded when allowed")
    func importFromURL() async throws {
        for allowed in [false, true] {
            try await withApp(settings: { $0.importAllowPrivate = allowed }) { app in
                // given: a video this server itself serves, so the URL points at 127.0.0.1
                let token = try await owner(app)
                let (_, sourceID) = try await Accounts.channelWithVideo(
                    app, owner: try await Accounts.user(app, "source"), handle: "source")
                let port = try await LiveServer.port(app)
                let url = "http://127.0.0.1:\(port)/videos/\(sourceID)/download"

                // when
                let response = try await api(
                    app, .POST, "/api/v1/videos/import", token: token, json: ["url": url, "channel": "olgas", "title": "Fetched"])

                // then
                if allowed {
                    #expect(response.status == .created)
                    #expect(response.json["title"] as? String == "Fetched")
                    #expect(try await Video.query(on: app.db).count() == 2)
                } else {
                    #expect(response.status == .unprocessableEntity)
                    let refusal = message(response.json)
                    #expect(refusal.contains("loopback"))
                    #expect(refusal.contains("VIDEOTUBE_IMPORT_ALLOW_PRIVATE"))
                    #expect(try await Video.query(on: app.db).count() == 1)
                    #expect(storedFiles(app).filter { $0.hasPrefix("uploads/") }.isEmpty)
                }
            }
        }
    }

    @Test("Address checks refuse loopback, private, link-local, metadata and mapped addresses; allow public ones")
    func addressPolicy() {
        for refused in [
            "127.0.0.1", "10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0",
            "224.0.0.1", "::1", "::", "fe80::1", "fd00:ec2::254", "fc00::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1", "64:ff9b::a00:1",
            "ff02::1",
        ] {
            #expect(AddressPolicy.refusal(refused) != nil, "\(refused) should be refused")
        }
        for allowed in ["93.184.216.34", "8.8.8.8", "172.32.0.1", "2606:4700:4700::1111", "::ffff:8.8.8.8"] {
            #expect(AddressPolicy.refusal(allowed) == nil, "\(allowed) should be allowed")
        }
    }

    @Test("HLS assets follow the video's visibility: a private video's playlist is 404 for strangers, served to its owner")
    func hlsVisibility() async throws {
        try await withApp { app in
            let owner = try await Accounts.user(app, "petra")
            let token = try await Accounts.token(app, owner)
            let (_, id) = try await Accounts.channelWithVideo(app, owner: owner, handle: "petra", visibility: .private)
            #expect(try await app.videotube.jobs.runNext())
            let stranger = try await api(app, .GET, "/videos/\(id)/hls/master.m3u8")
            #expect(stranger.status == .notFound)
            let mine = try await LiveServer.send(
                app, .GET, "/videos/\(id)/hls/master.m3u8", headers: ["Authorization": "Bearer \(token)"], body: nil)
            #expect(mine.status == .ok)
            #expect(mine.headers.first(name: .cacheControl) == "private, no-cache")
            // Names that could leave the folder are refused before any lookup.
            for name in ["..%2Fsecret.key", "master.m3u8.bak", "a%00.m3u8", "storyboard.exe"] {
                let response = try await LiveServer.send(
                    app, .GET, "/videos/\(id)/hls/\(name)", headers: ["Authorization": "Bearer \(token)"], body: nil)
                #expect((400..<500).contains(response.status.code), "\(name)")
            }
        }
    }
}

/// Plain sockets, for what an HTTP client library will not do: cut a body short, or read an early answer.
enum RawHTTP {
    static func connect(port: Int) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let status = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard status == 0 else { throw POSIXError(.ECONNREFUSED) }
        return fd
    }

    static func write(_ fd: Int32, _ data: Data) {
        data.withUnsafeBytes { raw in
            var sent = 0
            while sent < raw.count {
                let n = send(fd, raw.baseAddress! + sent, raw.count - sent, Int32(MSG_NOSIGNAL))
                if n <= 0 { return }
                sent += n
            }
        }
    }

    /// Sends the head and part of a body, then closes: a client that went away mid-upload.
    static func sendAndClose(port: Int, head: String, body: Data) throws {
        let fd = try connect(port: port)
        write(fd, Data(head.utf8) + body)
        usleep(200_000)
        close(fd)
    }

    /// Sends the head and some body, then reads whatever the server answers (without sending the rest).
    static func sendAndRead(port: Int, head: String, body: Data, timeout: Int) throws -> String {
        let fd = try connect(port: port)
        defer { close(fd) }
        var tv = timeval(tv_sec: timeout, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        write(fd, Data(head.utf8) + body)
        var answer = Data()
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n <= 0 { break }
            answer.append(contentsOf: buffer[0..<n])
            if let text = String(data: answer, encoding: .utf8), text.contains("\r\n\r\n"), text.contains("}") { break }
        }
        return String(decoding: answer, as: UTF8.self)
    }
}
