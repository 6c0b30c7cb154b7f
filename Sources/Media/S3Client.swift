import AsyncHTTPClient
import Crypto
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// Where objects go: `s3://BUCKET/PREFIX?endpoint=URL&region=R&path_style=1` (`VIDEOTUBE_STORAGE`).
public struct S3Location: Sendable, Equatable {
    public var bucket: String
    /// Folder inside the bucket, without slashes at either end ("" for the bucket's root).
    public var prefix: String
    /// `https://s3.eu-west-1.amazonaws.com`, `http://127.0.0.1:9000` …
    public var endpoint: URL
    public var region: String
    /// `http://endpoint/bucket/key` instead of `http://bucket.endpoint/key` (MinIO, moto, most self-hosted stores).
    public var pathStyle: Bool

    /// Parses the `s3://` form; nil (with a reason) when it is not one.
    public static func parse(_ text: String) -> Result<S3Location, S3ConfigurationError> {
        guard let url = URLComponents(string: text), url.scheme == "s3", let bucket = url.host, !bucket.isEmpty else {
            return .failure(.init("expected s3://BUCKET/PREFIX?endpoint=URL&region=R&path_style=1"))
        }
        guard bucket.count >= 3, bucket.count <= 63, bucket.allSatisfy({ $0.isLowercase || $0.isNumber || $0 == "-" || $0 == "." }) else {
            return .failure(.init("'\(bucket)' is not a bucket name (3–63 lower-case letters, digits, dots and dashes)"))
        }
        let prefix = url.path.split(separator: "/").joined(separator: "/")
        guard prefix.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_./".contains($0)) }), !prefix.contains("..") else {
            return .failure(.init("the prefix '\(prefix)' may hold only letters, digits, '-', '_', '.' and '/'"))
        }
        let items = url.queryItems ?? []
        func item(_ name: String) -> String? { items.first { $0.name == name }?.value.flatMap { $0.isEmpty ? nil : $0 } }
        let region = item("region") ?? "us-east-1"
        let endpointText = item("endpoint") ?? "https://s3.\(region).amazonaws.com"
        guard let endpoint = URL(string: endpointText), ["http", "https"].contains(endpoint.scheme ?? ""), endpoint.host != nil,
            endpoint.path.isEmpty || endpoint.path == "/"
        else {
            return .failure(.init("endpoint '\(endpointText)' is not an http(s) address such as http://127.0.0.1:9000"))
        }
        let pathStyle = ["1", "true", "yes", "on"].contains(item("path_style")?.lowercased() ?? "")
        return .success(S3Location(bucket: bucket, prefix: prefix, endpoint: endpoint, region: region, pathStyle: pathStyle))
    }
}

public struct S3ConfigurationError: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}

/// An answer from the store that was not the expected one.
public struct S3Error: Error, CustomStringConvertible {
    public var operation: String
    public var status: Int
    public var code: String
    public var message: String
    public var description: String { "object storage \(operation): HTTP \(status) \(code) \(message)".trimmingCharacters(in: .whitespaces) }
}

/// What `HEAD` or a listing says of an object.
public struct S3Object: Sendable, Equatable {
    public var key: String
    public var size: Int64
    public var lastModified: Int64
    public var contentType: String?
}

/// A small S3 client: the calls Videotube needs, signed with `SigV4Signer`, over AsyncHTTPClient. Bodies stream
/// from and to files in 1 MiB pieces (NIO's file thread pool), so no object is ever held in memory; files larger
/// than `multipartThreshold` go up as multipart uploads of `partSize` parts.
public final class S3Client: Sendable {
    public let location: S3Location
    let signer: SigV4Signer
    let http: HTTPClient
    let fileIO = NonBlockingFileIO(threadPool: .singleton)
    public let partSize: Int64
    public let multipartThreshold: Int64
    static let chunk = 1 << 20

    public init(
        location: S3Location, accessKey: String, secretKey: String, sessionToken: String? = nil, http: HTTPClient = .shared,
        partSize: Int64 = 16 << 20, multipartThreshold: Int64 = 64 << 20
    ) {
        self.location = location
        self.signer = SigV4Signer(accessKey: accessKey, secretKey: secretKey, region: location.region, sessionToken: sessionToken)
        self.http = http
        self.partSize = max(partSize, 5 << 20)  // S3's smallest part (all but the last)
        self.multipartThreshold = multipartThreshold
    }

    /// Where presigned URLs point (`scheme://host[:port]`), for a page's Content-Security-Policy.
    public var origin: String { address("").base }

    /// The object's name in the bucket: the prefix, then the storage key.
    public func objectName(_ key: String) -> String { location.prefix.isEmpty ? key : location.prefix + "/" + key }

    /// Host header and encoded path for an object name (or the bucket itself for "").
    func address(_ name: String) -> (base: String, host: String, path: String) {
        let endpoint = location.endpoint
        var host = endpoint.host ?? ""
        if let port = endpoint.port { host += ":\(port)" }
        let encoded = SigV4Signer.encode(name, keepSlash: true)
        let scheme = endpoint.scheme ?? "https"
        if location.pathStyle {
            return ("\(scheme)://\(host)", host, "/\(location.bucket)" + (name.isEmpty ? "" : "/" + encoded))
        }
        let virtualHost = "\(location.bucket).\(host)"
        return ("\(scheme)://\(virtualHost)", virtualHost, "/" + encoded)
    }

    // MARK: requests

    private func send(
        _ method: HTTPMethod, name: String, query: [(String, String)] = [], headers extra: [(String, String)] = [],
        body: HTTPClientRequest.Body? = nil, payloadHash: String = SigV4Signer.unsignedPayload, timeout: TimeAmount = .seconds(600)
    ) async throws -> HTTPClientResponse {
        let (base, host, path) = address(name)
        let signed = signer.signedHeaders(
            method: method.rawValue, path: path, query: query, headers: [("host", host)] + extra, payloadHash: payloadHash)
        let queryText = SigV4Signer.canonicalQuery(query)
        var request = HTTPClientRequest(url: base + path + (queryText.isEmpty ? "" : "?" + queryText))
        request.method = method
        for (name, value) in signed where name != "host" { request.headers.add(name: name, value: value) }
        if let body { request.body = body }
        do {
            return try await http.execute(request, timeout: timeout)
        } catch {
            // The store did not answer (refused, timed out, reset): one error type for "storage unavailable".
            throw S3Error(operation: "\(method.rawValue) \(name.isEmpty ? location.bucket : name)", status: 0, code: "unreachable", message: String(describing: error))
        }
    }

    /// Reads a small answer (XML) whole, up to 4 MiB.
    private func text(_ response: HTTPClientResponse) async throws -> String {
        String(buffer: try await response.body.collect(upTo: 4 << 20))
    }

    private func failure(_ operation: String, _ response: HTTPClientResponse) async -> S3Error {
        let body = (try? await text(response)) ?? ""
        return S3Error(
            operation: operation, status: Int(response.status.code), code: Self.xmlValues("Code", in: body).first ?? "",
            message: Self.xmlValues("Message", in: body).first ?? "")
    }

    /// Whether the bucket answers (readiness).
    public func bucketReachable() async -> Bool {
        guard let response = try? await send(.HEAD, name: "", payloadHash: SigV4Signer.emptyPayloadHash, timeout: .seconds(3)) else { return false }
        return response.status == .ok
    }

    /// Creates the bucket when it is not there (development stores; production buckets are made by their owner).
    public func createBucketIfMissing() async throws {
        if await bucketReachable() { return }
        let response = try await send(.PUT, name: "", payloadHash: SigV4Signer.emptyPayloadHash)
        guard response.status == .ok || response.status == .conflict else { throw await failure("create bucket", response) }
        _ = try? await text(response)
    }

    /// Lets browsers read objects cross-origin (GET and HEAD from any origin, ranges exposed). Presigned URLs are
    /// the permission; CORS only lets a page's player (`<video crossorigin>`, native HLS, MSE) use the bytes.
    public func allowBrowserReads() async throws {
        let xml = "<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod>"
            + "<AllowedMethod>HEAD</AllowedMethod><AllowedHeader>*</AllowedHeader><ExposeHeader>Content-Range</ExposeHeader>"
            + "<ExposeHeader>Content-Length</ExposeHeader><ExposeHeader>ETag</ExposeHeader><MaxAgeSeconds>3600</MaxAgeSeconds>"
            + "</CORSRule></CORSConfiguration>"
        let md5 = Data(Insecure.MD5.hash(data: Data(xml.utf8))).base64EncodedString()
        let response = try await send(
            .PUT, name: "", query: [("cors", "")],
            headers: [("content-md5", md5), ("content-type", "application/xml"), ("content-length", String(xml.utf8.count))],
            body: .bytes(ByteBuffer(string: xml)), payloadHash: SigV4Signer.sha256Hex(Data(xml.utf8)))
        guard response.status == .ok else { throw await failure("PUT bucket CORS", response) }
        _ = try? await text(response)
    }

    public func head(_ key: String) async throws -> S3Object? {
        let response = try await send(.HEAD, name: objectName(key), payloadHash: SigV4Signer.emptyPayloadHash)
        switch response.status {
        case .ok:
            let size = Int64(response.headers.first(name: "Content-Length") ?? "") ?? 0
            let modified = response.headers.first(name: "Last-Modified").flatMap(HTTPDate.parse) ?? 0
            return S3Object(key: key, size: size, lastModified: modified, contentType: response.headers.first(name: "Content-Type"))
        case .notFound: return nil
        default: throw S3Error(operation: "HEAD \(key)", status: Int(response.status.code), code: "", message: "")
        }
    }

    /// Uploads bytes held in memory (small objects: playlists, pictures).
    public func put(_ key: String, bytes: ByteBuffer, contentType: String) async throws {
        let hash = SigV4Signer.sha256Hex(Data(bytes.readableBytesView))
        let response = try await send(
            .PUT, name: objectName(key), headers: [("content-type", contentType), ("content-length", String(bytes.readableBytes))],
            body: .bytes(bytes), payloadHash: hash)
        guard response.status == .ok else { throw await failure("PUT \(key)", response) }
        _ = try? await text(response)
    }

    /// Uploads a file: one PUT, or a multipart upload when it is larger than `multipartThreshold`.
    public func put(_ key: String, file path: String, contentType: String) async throws {
        try await put(key, file: path, offset: 0, length: try Self.fileSize(path), contentType: contentType)
    }

    /// Uploads bytes `offset..<offset+length` of a file as one object.
    public func put(_ key: String, file path: String, offset: Int64, length: Int64, contentType: String) async throws {
        if length > multipartThreshold {
            try await putMultipart(key, file: path, offset: offset, size: length, contentType: contentType)
            return
        }
        let response = try await send(
            .PUT, name: objectName(key), headers: [("content-type", contentType), ("content-length", String(length))],
            body: fileBody(path, offset: offset, length: length))
        guard response.status == .ok else { throw await failure("PUT \(key)", response) }
        _ = try? await text(response)
    }

    /// A small object's bytes (playlists); nil when it is not there, an error when larger than `limit`.
    public func get(_ key: String, upTo limit: Int) async throws -> ByteBuffer? {
        let response = try await send(.GET, name: objectName(key), payloadHash: SigV4Signer.emptyPayloadHash, timeout: .seconds(30))
        if response.status == .notFound { return nil }
        guard response.status == .ok else { throw await failure("GET \(key)", response) }
        return try await response.body.collect(upTo: limit)
    }

    /// Streams an object into a new file at `path` (written to `path.partial`, renamed when whole).
    public func download(_ key: String, to path: String) async throws {
        let response = try await send(.GET, name: objectName(key), payloadHash: SigV4Signer.emptyPayloadHash, timeout: .hours(2))
        guard response.status == .ok else { throw await failure("GET \(key)", response) }
        let partial = path + ".partial"
        let handle = try await fileIO.openFile(
            _deprecatedPath: partial, mode: .write, flags: .allowFileCreation(posixMode: 0o644), eventLoop: http.eventLoopGroup.any()
        ).get()
        do {
            for try await buffer in response.body { try await fileIO.write(fileHandle: handle, buffer: buffer) }
            try handle.close()
        } catch {
            try? handle.close()
            unlink(partial)
            throw error
        }
        guard rename(partial, path) == 0 else { throw S3Error(operation: "GET \(key)", status: 0, code: "rename", message: String(cString: strerror(errno))) }
    }

    public func delete(_ key: String) async throws {
        let response = try await send(.DELETE, name: objectName(key), payloadHash: SigV4Signer.emptyPayloadHash)
        guard response.status == .noContent || response.status == .ok || response.status == .notFound else {
            throw await failure("DELETE \(key)", response)
        }
        _ = try? await text(response)
    }

    /// Every object whose key starts with `keyPrefix` (ListObjectsV2, a thousand at a time).
    public func list(prefix keyPrefix: String) async throws -> [S3Object] {
        var found: [S3Object] = []
        var token: String?
        let namePrefix = objectName(keyPrefix)
        let strip = location.prefix.isEmpty ? 0 : location.prefix.count + 1
        repeat {
            var query = [("list-type", "2"), ("prefix", namePrefix)]
            if let token { query.append(("continuation-token", token)) }
            let response = try await send(.GET, name: "", query: query, payloadHash: SigV4Signer.emptyPayloadHash)
            guard response.status == .ok else { throw await failure("LIST \(keyPrefix)", response) }
            let body = try await text(response)
            for item in Self.xmlValues("Contents", in: body) {
                guard let name = Self.xmlValues("Key", in: item).first.map(Self.xmlUnescape) else { continue }
                let size = Int64(Self.xmlValues("Size", in: item).first ?? "") ?? 0
                found.append(S3Object(key: String(name.dropFirst(strip)), size: size, lastModified: 0, contentType: nil))
            }
            token = Self.xmlValues("IsTruncated", in: body).first == "true" ? Self.xmlValues("NextContinuationToken", in: body).first : nil
        } while token != nil
        return found
    }

    /// Deletes every object under `keyPrefix` (DeleteObjects, a thousand at a time).
    public func deletePrefix(_ keyPrefix: String) async throws {
        let objects = try await list(prefix: keyPrefix)
        var start = 0
        while start < objects.count {
            let batch = objects[start..<min(start + 1000, objects.count)]
            start += batch.count
            let xml = "<Delete><Quiet>true</Quiet>" + batch.map { "<Object><Key>\(Self.xmlEscape(objectName($0.key)))</Key></Object>" }.joined() + "</Delete>"
            let body = ByteBuffer(string: xml)
            let md5 = Data(Insecure.MD5.hash(data: Data(xml.utf8))).base64EncodedString()
            let response = try await send(
                .POST, name: "", query: [("delete", "")],
                headers: [("content-md5", md5), ("content-type", "application/xml"), ("content-length", String(body.readableBytes))],
                body: .bytes(body), payloadHash: SigV4Signer.sha256Hex(Data(xml.utf8)))
            guard response.status == .ok else { throw await failure("DELETE \(keyPrefix)*", response) }
            _ = try? await text(response)
        }
    }

    /// A URL anyone can GET for `expires` seconds. `disposition` and `contentType` override what the store
    /// answers with (downloads get `attachment; filename=…`).
    public func presignedGET(_ key: String, expires: Int, contentType: String? = nil, disposition: String? = nil, now: Date = Date()) -> String {
        let (base, host, path) = address(objectName(key))
        var query: [(String, String)] = []
        if let contentType { query.append(("response-content-type", contentType)) }
        if let disposition { query.append(("response-content-disposition", disposition)) }
        return base + path + "?" + signer.presignedQuery(method: "GET", host: host, path: path, query: query, expires: expires, date: now)
    }

    // MARK: multipart

    /// Starts a multipart upload; returns its id.
    public func createMultipartUpload(_ key: String, contentType: String) async throws -> String {
        let response = try await send(
            .POST, name: objectName(key), query: [("uploads", "")], headers: [("content-type", contentType)],
            payloadHash: SigV4Signer.emptyPayloadHash)
        guard response.status == .ok else { throw await failure("start multipart \(key)", response) }
        guard let id = Self.xmlValues("UploadId", in: try await text(response)).first else {
            throw S3Error(operation: "start multipart \(key)", status: 200, code: "", message: "no UploadId in the answer")
        }
        return id
    }

    /// Sends one part (bytes `offset..<offset+length` of a file); returns its ETag.
    public func uploadPart(_ key: String, uploadID: String, number: Int, file path: String, offset: Int64, length: Int64) async throws -> String {
        let response = try await send(
            .PUT, name: objectName(key), query: [("partNumber", String(number)), ("uploadId", uploadID)],
            headers: [("content-length", String(length))], body: fileBody(path, offset: offset, length: length))
        guard response.status == .ok, let etag = response.headers.first(name: "ETag") else { throw await failure("part \(number) of \(key)", response) }
        _ = try? await text(response)
        return etag
    }

    public func completeMultipartUpload(_ key: String, uploadID: String, parts: [(number: Int, etag: String)]) async throws {
        let xml = "<CompleteMultipartUpload>"
            + parts.sorted { $0.number < $1.number }.map { "<Part><PartNumber>\($0.number)</PartNumber><ETag>\(Self.xmlEscape($0.etag))</ETag></Part>" }.joined()
            + "</CompleteMultipartUpload>"
        let response = try await send(
            .POST, name: objectName(key), query: [("uploadId", uploadID)],
            headers: [("content-type", "application/xml"), ("content-length", String(xml.utf8.count))],
            body: .bytes(ByteBuffer(string: xml)), payloadHash: SigV4Signer.sha256Hex(Data(xml.utf8)))
        let body = try await text(response)
        // S3 can answer 200 with an error document when completion fails late.
        guard response.status == .ok, !body.contains("<Error>") else {
            throw S3Error(
                operation: "complete multipart \(key)", status: Int(response.status.code), code: Self.xmlValues("Code", in: body).first ?? "",
                message: Self.xmlValues("Message", in: body).first ?? "")
        }
    }

    public func abortMultipartUpload(_ key: String, uploadID: String) async {
        _ = try? await send(.DELETE, name: objectName(key), query: [("uploadId", uploadID)], payloadHash: SigV4Signer.emptyPayloadHash)
    }

    private func putMultipart(_ key: String, file path: String, offset start: Int64, size: Int64, contentType: String) async throws {
        let id = try await createMultipartUpload(key, contentType: contentType)
        do {
            var parts: [(number: Int, etag: String)] = []
            var offset: Int64 = 0
            while offset < size {
                let length = min(partSize, size - offset)
                let etag = try await uploadPart(key, uploadID: id, number: parts.count + 1, file: path, offset: start + offset, length: length)
                parts.append((parts.count + 1, etag))
                offset += length
            }
            try await completeMultipartUpload(key, uploadID: id, parts: parts)
        } catch {
            await abortMultipartUpload(key, uploadID: id)
            throw error
        }
    }

    // MARK: helpers

    static func fileSize(_ path: String) throws -> Int64 {
        var st = stat()
        guard stat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else {
            throw S3Error(operation: "read \(path)", status: 0, code: "file", message: "not a readable file")
        }
        return Int64(st.st_size)
    }

    /// A request body read from a file region in 1 MiB pieces as the connection takes them.
    func fileBody(_ path: String, offset: Int64, length: Int64) -> HTTPClientRequest.Body {
        .stream(FileChunks(path: path, offset: offset, length: length, fileIO: fileIO), length: .known(length))
    }

    /// Values of `<tag>…</tag>` in order (S3's answers are flat enough that this is all the XML needed).
    static func xmlValues(_ tag: String, in text: String) -> [String] {
        var values: [String] = []
        var rest = text[...]
        while let open = rest.range(of: "<\(tag)>"), let close = rest.range(of: "</\(tag)>", range: open.upperBound..<rest.endIndex) {
            values.append(String(rest[open.upperBound..<close.lowerBound]))
            rest = rest[close.upperBound...]
        }
        return values
    }

    static func xmlEscape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    static func xmlUnescape(_ text: String) -> String {
        text.replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&lt;", with: "<")
            .replacingOccurrences(of: "&gt;", with: ">").replacingOccurrences(of: "&amp;", with: "&")
    }
}

/// A file region as an async sequence of buffers, opened on first use and closed at the end or on error.
struct FileChunks: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let path: String
    let offset: Int64
    let length: Int64
    let fileIO: NonBlockingFileIO

    struct AsyncIterator: AsyncIteratorProtocol {
        let source: FileChunks
        var handle: NIOFileHandle?
        var sent: Int64 = 0

        mutating func next() async throws -> ByteBuffer? {
            guard sent < source.length else {
                try? handle?.close()
                handle = nil
                return nil
            }
            if handle == nil {
                handle = try await source.fileIO.openFile(_deprecatedPath: source.path, mode: .read, eventLoop: MultiThreadedEventLoopGroup.singleton.any()).get()
            }
            let count = Int(Swift.min(Int64(S3Client.chunk), source.length - sent))
            let buffer: ByteBuffer
            do {
                buffer = try await source.fileIO.read(
                    fileHandle: handle!, fromOffset: source.offset + sent, byteCount: count, allocator: ByteBufferAllocator())
            } catch {
                try? handle?.close()
                handle = nil
                throw error
            }
            guard buffer.readableBytes > 0 else {
                try? handle?.close()
                handle = nil
                throw S3Error(operation: "read \(source.path)", status: 0, code: "file", message: "the file ended early")
            }
            sent += Int64(buffer.readableBytes)
            return buffer
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(source: self) }
}
