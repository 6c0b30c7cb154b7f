import Testing

@testable import Media

/// The hand-written parsers `make fuzz` drives: tus headers and multipart bodies (Range and signed URLs have
/// their own suites). Inputs the fuzzer found interesting are kept here.
@Suite("tus headers")
struct TusHeaderTests {
    @Test("Upload-Offset and Upload-Length take digits only", arguments: [
        ("0", Int64(0)), ("12345", 12345), ("007", 7), ("999999999999999999", 999_999_999_999_999_999),
    ])
    func sizes(text: String, value: Int64) {
        #expect(TusHeaders.size(text) == value)
    }

    @Test("Signs, spaces, exponents, hex and 19-digit numbers are refused", arguments: [
        "", "+5", "-1", " 5", "5 ", "1e3", "0x10", "9223372036854775807", "١٢", "5\u{0}",
    ])
    func badSizes(text: String) {
        #expect(TusHeaders.size(text) == nil)
    }

    @Test("Upload-Metadata decodes padded and unpadded base64 and keys without values")
    func metadata() throws {
        // given a header as tus-js-client and tuspy write it, plus an unpadded value and an empty element
        let header = "filename dmlkZW8ubXA0,title SGVsbG8g8J+OrA==, is_private ,, x YQ"
        // when
        let pairs = try TusHeaders.metadata(header)
        // then
        #expect(pairs == ["filename": "video.mp4", "title": "Hello 🎬", "is_private": "", "x": "a"])
        #expect(try TusHeaders.metadata(TusHeaders.metadataHeader(pairs)) == pairs)
    }

    @Test("Broken Upload-Metadata is refused with the key named", arguments: [
        "title not*base64", "title SGVsbG8=,title SGVsbG8=", "title /w==", "title Y",
        "tït\u{00A0}le YQ==",
    ])
    func badMetadata(header: String) {
        #expect(throws: TusHeaders.Refusal.self) { try TusHeaders.metadata(header) }
    }
}

@Suite("Multipart scanner")
struct MultipartScannerTests {
    static let form = Array(
        ("preamble\r\n--XyZ\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nHello\r\n--XyZ\r\n"
            + "Content-Disposition: form-data; name=\"file\"; filename=\"a \\\"b\\\";c.mp4\"\r\nContent-Type: video/mp4\r\n\r\n"
            + "\u{0}\u{1}\r\n--\r\n-XyZ\r\n--XY\r\n--XyZ--\r\nepilogue").utf8)

    /// (headers, body) of each part, and whether the closing delimiter came.
    static func parts(_ body: [UInt8], step: Int, boundary: String = "XyZ", maxHeaderBytes: Int = 16 << 10) throws -> (
        [[MultipartHeader]], [[UInt8]], Bool
    ) {
        var scanner = try MultipartScanner(boundary: boundary, maxHeaderBytes: maxHeaderBytes)
        var headers: [[MultipartHeader]] = []
        var bodies: [[UInt8]] = []
        var i = 0
        while i < body.count {
            let end = min(body.count, i + step)
            for event in try scanner.feed(body[i..<end]) {
                switch event {
                case .headers(let h):
                    headers.append(h)
                    bodies.append([])
                case .body(let bytes): bodies[bodies.count - 1] += bytes
                case .partEnd: break
                }
            }
            i = end
        }
        return (headers, bodies, scanner.isFinished)
    }

    @Test("A form's fields and file come out the same however the body is cut")
    func cuts() throws {
        let (wholeHeaders, wholeBodies, finished) = try Self.parts(Self.form, step: Self.form.count)
        #expect(finished)
        #expect(wholeHeaders.count == 2)
        #expect(wholeBodies[0] == Array("Hello".utf8))
        // The file's body keeps the near-delimiters (`--` alone, `-XyZ`, `--XY`) that are not the boundary.
        #expect(wholeBodies[1] == Array("\u{0}\u{1}\r\n--\r\n-XyZ\r\n--XY".utf8))
        let disposition = wholeHeaders[1].first { $0.name == "content-disposition" }!.value
        #expect(HeaderValue.parameter("filename", in: disposition) == "a \"b\";c.mp4")
        #expect(HeaderValue.parameter("name", in: disposition) == "file")
        for step in 1...40 {
            let (h, b, f) = try Self.parts(Self.form, step: step)
            #expect(h == wholeHeaders && b == wholeBodies && f, "cut every \(step) bytes")
        }
    }

    @Test("A header block just under the limit passes even when its blank line is cut (found by make fuzz)")
    func headerLimitAtACut() throws {
        // given headers of exactly 40 bytes and a limit of 40
        let header = "X-A: " + String(repeating: "a", count: 35)
        let body = Array("--b\r\n\(header)\r\n\r\nx\r\n--b--".utf8)
        for step in 1...body.count {
            let (h, _, finished) = try Self.parts(body, step: step, boundary: "b", maxHeaderBytes: 40)
            #expect(h.count == 1 && finished, "cut every \(step) bytes")
        }
        // and one byte more is refused, cut or not
        let longer = Array("--b\r\n\(header)a\r\n\r\nx\r\n--b--".utf8)
        for step in [1, 7, longer.count] {
            #expect(throws: MultipartError.self) { try Self.parts(longer, step: step, boundary: "b", maxHeaderBytes: 40) }
        }
    }

    @Test("Malformed bodies are refused", arguments: [
        "--XyZ\r\nno colon here\r\n\r\nx\r\n--XyZ--",
        "--XyZ junk\r\n\r\nx\r\n--XyZ--",
        "--XyZ\r\n\r\nx\r\n--XyZ\u{0}\u{0}",
        "--XyZ\r\n continued\r\n\r\nx\r\n--XyZ--",
    ])
    func malformed(text: String) {
        #expect(throws: MultipartError.self) { try Self.parts(Array(text.utf8), step: 3) }
    }

    @Test("A body that stops before its closing boundary is not finished")
    func truncated() throws {
        let cut = Array(Self.form.prefix(Self.form.count - 20))
        let (_, _, finished) = try Self.parts(cut, step: 5)
        #expect(!finished)
        var scanner = try MultipartScanner(boundary: "XyZ")
        _ = try scanner.feed(cut)
        #expect(throws: MultipartError.self) { try scanner.finish() }
    }

    @Test("Boundaries outside RFC 2046 are refused", arguments: ["", String(repeating: "a", count: 71), "a\"b", "a\r\nb"])
    func badBoundary(boundary: String) {
        #expect(throws: MultipartError.self) { try MultipartScanner(boundary: boundary) }
    }

    @Test("Header parameters: quoted, bare, RFC 8187 and broken")
    func parameters() {
        #expect(HeaderValue.parameter("filename", in: "attachment; filename*=UTF-8''na%C3%AFve.mp4; filename=\"naive.mp4\"") == "naïve.mp4")
        #expect(HeaderValue.parameter("name", in: "form-data; NAME=title") == "title")
        #expect(HeaderValue.parameter("filename", in: "form-data; name=\"file\"") == nil)
        #expect(HeaderValue.parameters("form-data; name=\"unterminated") == nil)
        #expect(HeaderValue.parameters("form-data; name") == nil)
        #expect(HeaderValue.parameter("filename", in: "attachment; filename*=latin1''x%E9.mp4; filename=x.mp4") == "x.mp4")
    }
}

/// The media listener's request parser: the request line and the fields it acts on, strict where lenient
/// parsers disagree (RFC 9112 §11), bounded in size.
@Suite("Media request heads")
struct MediaRequestParserTests {
    static func parse(_ text: String) -> MediaRequestParser.Outcome {
        Array(text.utf8).withUnsafeBytes { MediaRequestParser.parse($0) }
    }

    static func head(_ text: String) -> MediaRequestHead? {
        if case .request(let head, _) = parse(text) { return head }
        return nil
    }

    static func status(_ text: String) -> Int? {
        if case .refused(let status, _) = parse(text) { return status }
        return nil
    }

    @Test("A range request: method, target, the fields read; the head's length leaves the next request")
    func rangeRequest() throws {
        let first = "GET /m/videos/1/a.mp4?e=9&s=abc HTTP/1.1\r\nHost: x\r\nrAnGe: bytes=0-99\r\nRange: bytes=5-6\r\n"
            + "If-None-Match: \"e\"\r\nUser-Agent:  curl/8 \r\nX-Forwarded-For: 1.2.3.4\r\nx-forwarded-for: 5.6.7.8\r\n\r\n"
        guard case .request(let head, let length) = Self.parse(first + "HEAD / HTTP/1.1\r\n\r\n") else {
            Issue.record("not read")
            return
        }
        #expect(length == first.utf8.count)
        #expect(head.method == .get && head.target == "/m/videos/1/a.mp4?e=9&s=abc" && head.keepAlive)
        #expect(head.media.range == "bytes=0-99" && head.media.ifNoneMatch == "\"e\"" && head.userAgent == "curl/8")
        #expect(head.forwardedFor == "1.2.3.4,5.6.7.8" && head.media.ifRange == nil)
    }

    @Test("Keep-alive: HTTP/1.1 unless close, HTTP/1.0 only when asked; bare LF lines and leading empty lines are read")
    func keepAlive() {
        #expect(Self.head("GET / HTTP/1.1\r\nConnection: close\r\n\r\n")?.keepAlive == false)
        #expect(Self.head("GET / HTTP/1.1\r\nConnection: TE, Close\r\n\r\n")?.keepAlive == false)
        #expect(Self.head("GET / HTTP/1.0\r\n\r\n")?.keepAlive == false)
        #expect(Self.head("HEAD / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").map { $0.keepAlive && $0.isHead } == true)
        #expect(Self.head("\r\n\nGET /a HTTP/1.1\nRange: bytes=1-\n\n")?.media.range == "bytes=1-")
        #expect(Self.head("OPTIONS * HTTP/1.1\r\n\r\n")?.method == .other("OPTIONS"))
    }

    @Test("Unfinished heads wait for more bytes, up to the size limit")
    func incomplete() {
        #expect(Self.parse("") == .incomplete)
        #expect(Self.parse("GET / HTTP/1.1\r\nRange: bytes=0-1\r\n") == .incomplete)
        #expect(Self.status("GET / HTTP/1.1\r\nX: " + String(repeating: "a", count: MediaRequestParser.maxHeadBytes)) == 431)
        #expect(Self.status("GET / HTTP/1.1\r\n" + String(repeating: "X: y\r\n", count: 101) + "\r\n") == 431)
    }

    @Test("Malformed heads, bodies and other versions are refused", arguments: [
        ("garbage\r\n\r\n", 400), ("GET  / HTTP/1.1\r\n\r\n", 400), ("GET / HTTP/1.1 \r\n\r\n", 400),
        ("GET /a b HTTP/1.1\r\n\r\n", 400), ("GET / HTTP/1.1\r\nRange : bytes=0-1\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nA: b\r\n c\r\n\r\n", 400), ("GET / HTTP/1.1\r\nA: b\u{0}c\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nA: b\rc\r\n\r\n", 400), ("GET / HTTP/1.1\r\nNo colon\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello", 400), ("GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nContent-Length: 0\r\nContent-Length: 1\r\n\r\n", 400), ("GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400),
        ("GET / HTTP/2.0\r\n\r\n", 505), ("GET / HTTP/1.1x\r\n\r\n", 400), ("GET / http/1.1\r\n\r\n", 400),
    ])
    func refused(text: String, status: Int) {
        #expect(Self.status(text) == status)
    }

    @Test("An empty body is no body")
    func emptyBody() {
        #expect(Self.head("GET / HTTP/1.1\r\nContent-Length: 0\r\n\r\n") != nil)
    }
}
