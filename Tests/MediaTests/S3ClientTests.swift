import AsyncHTTPClient
import Foundation
import Media
import NIOCore
import Testing

/// The S3 client against a real S3-compatible server on loopback: `make test` starts moto in server mode and sets
/// `VIDEOTUBE_TEST_S3` to its address. moto answers like S3 but does not check signatures; `SigV4Tests` does that
/// against AWS's vectors.
let testS3Endpoint = ProcessInfo.processInfo.environment["VIDEOTUBE_TEST_S3"].flatMap { $0.isEmpty ? nil : $0 }

@Suite("S3 client", .enabled(if: testS3Endpoint != nil, "set VIDEOTUBE_TEST_S3 to an S3 server (make test starts moto)"))
struct S3ClientTests {
    static let endpoint = testS3Endpoint

    func client(prefix: String = "t\(UInt32.random(in: 0...UInt32.max))") async throws -> S3Client {
        let location = try S3Location.parse("s3://videotube-test/\(prefix)?endpoint=\(Self.endpoint!)&region=us-east-1&path_style=1").get()
        let client = S3Client(location: location, accessKey: "test", secretKey: "test", partSize: 5 << 20, multipartThreshold: 6 << 20)
        try await client.createBucketIfMissing()
        return client
    }

    func temporaryFile(bytes: Int) throws -> (path: String, data: Data) {
        // 64 KiB of random bytes repeated (byte-by-byte generation of megabytes is seconds of CPU in a debug build).
        var g = SystemRandomNumberGenerator()
        let block = (0..<65536).map { _ in UInt8.random(in: 0...255, using: &g) }
        var data = Data(capacity: bytes)
        while data.count < bytes { data.append(contentsOf: block.prefix(bytes - data.count)) }
        let path = NSTemporaryDirectory() + "s3test-\(UUID().uuidString)"
        try data.write(to: URL(fileURLWithPath: path))
        return (path, data)
    }

    @Test("A file goes up, reads back byte for byte, is listed with its size, and is gone after delete")
    func roundTrip() async throws {
        // given
        let s3 = try await client()
        let (path, data) = try temporaryFile(bytes: 3 << 20)
        defer { unlink(path); unlink(path + ".back") }

        // when
        try await s3.put("videos/ab/clip.mp4", file: path, contentType: "video/mp4")
        try await s3.download("videos/ab/clip.mp4", to: path + ".back")

        // then
        #expect(try Data(contentsOf: URL(fileURLWithPath: path + ".back")) == data)
        let head = try #require(try await s3.head("videos/ab/clip.mp4"))
        #expect(head.size == Int64(data.count))
        #expect(head.contentType == "video/mp4")
        #expect(try await s3.list(prefix: "videos/").map(\.key) == ["videos/ab/clip.mp4"])
        try await s3.delete("videos/ab/clip.mp4")
        #expect(try await s3.head("videos/ab/clip.mp4") == nil)
        #expect(FileManager.default.fileExists(atPath: path + ".back.partial") == false)
    }

    @Test("A file over the threshold goes up as a multipart upload and arrives whole")
    func multipart() async throws {
        // given: 12 MiB with 5 MiB parts → three parts
        let s3 = try await client()
        let (path, data) = try temporaryFile(bytes: 12 << 20)
        defer { unlink(path); unlink(path + ".back") }

        // when
        try await s3.put("videos/cd/big.mp4", file: path, contentType: "video/mp4")

        // then
        try await s3.download("videos/cd/big.mp4", to: path + ".back")
        #expect(try Data(contentsOf: URL(fileURLWithPath: path + ".back")) == data)
    }

    @Test("A presigned URL serves the object and its ranges to a client with no credentials")
    func presigned() async throws {
        // given
        let s3 = try await client()
        try await s3.put("thumbnails/ef/a.jpg", bytes: ByteBuffer(string: "0123456789"), contentType: "image/jpeg")

        // when
        let url = s3.presignedGET("thumbnails/ef/a.jpg", expires: 600, disposition: "attachment; filename=\"a.jpg\"")
        var request = HTTPClientRequest(url: url)
        request.headers.add(name: "Range", value: "bytes=2-4")
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))

        // then
        #expect(response.status == .partialContent)
        #expect(String(buffer: try await response.body.collect(upTo: 1024)) == "234")
        // The download name is signed into the URL (S3 answers with it; moto ignores the override).
        #expect(url.contains("response-content-disposition=attachment%3B%20filename%3D%22a.jpg%22"))
        #expect(url.contains("X-Amz-Signature="))
    }

    @Test("Deleting a prefix removes every object under it and nothing beside it")
    func deletePrefix() async throws {
        // given: an HLS folder of 25 files and a neighbour
        let s3 = try await client()
        for n in 0..<25 { try await s3.put("assets/01/x/seg_\(n).m4s", bytes: ByteBuffer(string: "\(n)"), contentType: "video/iso.segment") }
        try await s3.put("assets/01/y.txt", bytes: ByteBuffer(string: "keep"), contentType: "text/plain")

        // when
        try await s3.deletePrefix("assets/01/x/")

        // then
        #expect(try await s3.list(prefix: "assets/01/").map(\.key) == ["assets/01/y.txt"])
    }

    @Test("Store addresses: path style and virtual-host style, prefixes, and refused settings")
    func locations() throws {
        let path = try S3Location.parse("s3://media/site/a?endpoint=http://127.0.0.1:9000&path_style=1").get()
        #expect(path.bucket == "media" && path.prefix == "site/a" && path.pathStyle && path.region == "us-east-1")
        let aws = try S3Location.parse("s3://media?region=eu-west-1").get()
        #expect(aws.endpoint.absoluteString == "https://s3.eu-west-1.amazonaws.com" && !aws.pathStyle && aws.prefix == "")
        let client = S3Client(location: aws, accessKey: "k", secretKey: "s")
        #expect(client.presignedGET("videos/a b.mp4", expires: 60).hasPrefix("https://media.s3.eu-west-1.amazonaws.com/videos/a%20b.mp4?"))
        for bad in ["http://x/y", "s3://", "s3://UPPER", "s3://ok-bucket?endpoint=ftp://x", "s3://ok-bucket/../x"] {
            #expect(throws: S3ConfigurationError.self) { try S3Location.parse(bad).get() }
        }
    }
}
