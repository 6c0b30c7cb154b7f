/// A request to the media listener as its parser reads it (RFC 9112): the request line and the few header fields
/// the listener acts on. Other fields are checked for form and skipped, so a request costs no header table.
public struct MediaRequestHead: Sendable, Equatable {
    public enum Method: Sendable, Equatable {
        case get, head
        /// Any other method token: answered 405.
        case other(String)
    }

    public var method: Method
    /// The request target as sent (`/m/KEY?e=…&s=…`): not decoded, no spaces or control bytes.
    public var target: String
    /// `HTTP/1.minor`.
    public var minorVersion: Int
    /// HTTP/1.1 unless `Connection: close`; HTTP/1.0 only with `Connection: keep-alive`.
    public var keepAlive: Bool
    /// The range and conditional fields, as the responder plans from them.
    public var media: MediaRequest
    public var userAgent: String?
    /// Every `X-Forwarded-For` field, joined with commas in order.
    public var forwardedFor: String?

    public var isHead: Bool { method == .head }

    public init(method: Method, target: String, minorVersion: Int = 1) {
        self.method = method
        self.target = target
        self.minorVersion = minorVersion
        keepAlive = minorVersion >= 1
        media = MediaRequest(isHead: method == .head)
    }
}

/// The request headers that decide a media response (RFC 9110 §13 conditionals, §14 ranges).
public struct MediaRequest: Sendable, Equatable {
    public var isHead: Bool
    public var range: String?
    public var ifRange: String?
    public var ifMatch: String?
    public var ifNoneMatch: String?
    public var ifModifiedSince: String?
    public var ifUnmodifiedSince: String?

    public init(
        isHead: Bool = false, range: String? = nil, ifRange: String? = nil, ifMatch: String? = nil,
        ifNoneMatch: String? = nil, ifModifiedSince: String? = nil, ifUnmodifiedSince: String? = nil
    ) {
        self.isHead = isHead
        self.range = range
        self.ifRange = ifRange
        self.ifMatch = ifMatch
        self.ifNoneMatch = ifNoneMatch
        self.ifModifiedSince = ifModifiedSince
        self.ifUnmodifiedSince = ifUnmodifiedSince
    }

    /// Builds one from a header lookup (first value of a case-insensitive name).
    public init(isHead: Bool, header: (String) -> String?) {
        self.init(
            isHead: isHead, range: header("Range"), ifRange: header("If-Range"), ifMatch: header("If-Match"),
            ifNoneMatch: header("If-None-Match"), ifModifiedSince: header("If-Modified-Since"),
            ifUnmodifiedSince: header("If-Unmodified-Since"))
    }
}

/// Reads one request head from the front of a byte buffer, for a listener that answers GET and HEAD only.
///
/// Strict where leniency lets two parsers disagree about a request (RFC 9112 §11): a space before a field's
/// colon, an obsolete line fold, a control byte, or a body (`Content-Length` above 0, any `Transfer-Encoding`;
/// a GET or HEAD body has no meaning here, RFC 9110 §9.3.1) is refused, and the connection is closed after the
/// answer. Lenient where RFC 9112 allows it: a bare LF ends a line, empty lines before the request line are
/// skipped. Field names are case-insensitive; for the fields read, the first one counts (`X-Forwarded-For`: all).
public enum MediaRequestParser {
    public enum Outcome: Sendable, Equatable {
        /// Not a whole head yet (and not over the limits): read more.
        case incomplete
        /// A request whose head took the first `length` bytes.
        case request(MediaRequestHead, length: Int)
        /// Refused: answer `status` (400, 431 or 505) and close.
        case refused(status: Int, reason: String)
    }

    /// The most bytes a head may take, request line included (nginx's default buffers hold 1 KB + 4 × 8 KB).
    public static let maxHeadBytes = 16 * 1024
    public static let maxFields = 100

    public static func parse(_ bytes: UnsafeRawBufferPointer) -> Outcome {
        var lines = Lines(bytes: bytes)
        // The request line, after any empty lines (RFC 9112 §2.2).
        var requestLine: Range<Int>
        repeat {
            guard let line = lines.next() else { return incomplete(bytes.count) }
            requestLine = line
        } while requestLine.isEmpty
        guard var head = Self.requestLine(bytes, requestLine) else {
            return .refused(status: 400, reason: "This is not an HTTP request line.")
        }
        if head.minorVersion < 0 { return .refused(status: 505, reason: "Only HTTP/1.0 and HTTP/1.1 are served here.") }
        var fields = 0
        var connectionClose = false, connectionKeepAlive = false
        var contentLength: UInt64?
        while true {
            guard let line = lines.next() else { return incomplete(bytes.count) }
            if line.isEmpty { break }
            fields += 1
            if fields > maxFields { return .refused(status: 431, reason: "Too many header fields.") }
            guard let field = Self.field(bytes, line) else {
                return .refused(status: 400, reason: "A header field is malformed.")
            }
            let value = { String(decoding: UnsafeRawBufferPointer(rebasing: bytes[field.value]), as: UTF8.self) }
            switch Self.known(bytes, field.name) {
            case .range: if head.media.range == nil { head.media.range = value() }
            case .ifRange: if head.media.ifRange == nil { head.media.ifRange = value() }
            case .ifMatch: if head.media.ifMatch == nil { head.media.ifMatch = value() }
            case .ifNoneMatch: if head.media.ifNoneMatch == nil { head.media.ifNoneMatch = value() }
            case .ifModifiedSince: if head.media.ifModifiedSince == nil { head.media.ifModifiedSince = value() }
            case .ifUnmodifiedSince: if head.media.ifUnmodifiedSince == nil { head.media.ifUnmodifiedSince = value() }
            case .userAgent: if head.userAgent == nil { head.userAgent = value() }
            case .forwardedFor: head.forwardedFor = head.forwardedFor.map { $0 + "," + value() } ?? value()
            case .connection:
                for token in value().split(separator: ",") {
                    switch token.trimmingSpaces.lowercased() {
                    case "close": connectionClose = true
                    case "keep-alive": connectionKeepAlive = true
                    default: break
                    }
                }
            case .contentLength:
                // Digits only; repeated fields must agree (RFC 9112 §6.3).
                guard let length = Self.digits(bytes, field.value), contentLength == nil || contentLength == length else {
                    return .refused(status: 400, reason: "Content-Length is malformed.")
                }
                contentLength = length
            case .transferEncoding:
                return .refused(status: 400, reason: "GET and HEAD requests here carry no body.")
            case .other: break
            }
        }
        if let contentLength, contentLength > 0 { return .refused(status: 400, reason: "GET and HEAD requests here carry no body.") }
        head.keepAlive = !connectionClose && (head.minorVersion >= 1 || connectionKeepAlive)
        return .request(head, length: lines.position)
    }

    private static func incomplete(_ count: Int) -> Outcome {
        count > maxHeadBytes ? .refused(status: 431, reason: "The request head is too large.") : .incomplete
    }

    /// `METHOD SP target SP HTTP/1.x`; minorVersion -1 for another HTTP version; nil when malformed.
    static func requestLine(_ bytes: UnsafeRawBufferPointer, _ line: Range<Int>) -> MediaRequestHead? {
        guard let firstSpace = bytes[line].firstIndex(of: 0x20) else { return nil }
        let afterTarget = bytes[(firstSpace + 1)..<line.upperBound]
        guard let secondSpace = afterTarget.firstIndex(of: 0x20) else { return nil }
        let method = line.lowerBound..<firstSpace
        let target = (firstSpace + 1)..<secondSpace
        let version = (secondSpace + 1)..<line.upperBound
        guard !method.isEmpty, bytes[method].allSatisfy(isTokenByte), !target.isEmpty,
            bytes[target].allSatisfy({ $0 > 0x20 && $0 < 0x7F })
        else { return nil }
        // HTTP-version = "HTTP/" DIGIT "." DIGIT
        let v = bytes[version]
        guard v.count == 8, v.starts(with: [0x48, 0x54, 0x54, 0x50, 0x2F]), v[version.lowerBound + 6] == 0x2E,
            let major = digit(v[version.lowerBound + 5]), let minor = digit(v[version.lowerBound + 7])
        else { return nil }
        let methodName: MediaRequestHead.Method
        if bytes[method].elementsEqual("GET".utf8) {
            methodName = .get
        } else if bytes[method].elementsEqual("HEAD".utf8) {
            methodName = .head
        } else {
            methodName = .other(String(decoding: UnsafeRawBufferPointer(rebasing: bytes[method]), as: UTF8.self))
        }
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[target]), as: UTF8.self)
        return MediaRequestHead(method: methodName, target: text, minorVersion: major == 1 ? minor : -1)
    }

    /// `name ":" OWS value OWS`: the name a token (no space before the colon), the value without control bytes
    /// but tab, trimmed. A line that starts with a space or tab (an obsolete fold) has no valid name.
    static func field(_ bytes: UnsafeRawBufferPointer, _ line: Range<Int>) -> (name: Range<Int>, value: Range<Int>)? {
        guard let colon = bytes[line].firstIndex(of: 0x3A) else { return nil }
        let name = line.lowerBound..<colon
        guard !name.isEmpty, bytes[name].allSatisfy(isTokenByte) else { return nil }
        var start = colon + 1, end = line.upperBound
        while start < end, bytes[start] == 0x20 || bytes[start] == 0x09 { start += 1 }
        while end > start, bytes[end - 1] == 0x20 || bytes[end - 1] == 0x09 { end -= 1 }
        guard bytes[start..<end].allSatisfy({ ($0 >= 0x20 && $0 != 0x7F) || $0 == 0x09 }) else { return nil }
        return (name, start..<end)
    }

    enum Known {
        case range, ifRange, ifMatch, ifNoneMatch, ifModifiedSince, ifUnmodifiedSince, userAgent, forwardedFor, connection
        case contentLength, transferEncoding, other
    }

    private static let names: [(String, Known)] = [
        ("range", .range), ("if-range", .ifRange), ("if-match", .ifMatch), ("if-none-match", .ifNoneMatch),
        ("if-modified-since", .ifModifiedSince), ("if-unmodified-since", .ifUnmodifiedSince), ("user-agent", .userAgent),
        ("x-forwarded-for", .forwardedFor), ("connection", .connection), ("content-length", .contentLength),
        ("transfer-encoding", .transferEncoding),
    ]

    /// Which of the fields read `name` is, compared without case (the length first, so most names cost one check).
    static func known(_ bytes: UnsafeRawBufferPointer, _ name: Range<Int>) -> Known {
        for (candidate, kind) in names where candidate.utf8.count == name.count {
            if zip(bytes[name], candidate.utf8).allSatisfy({ lowercased($0) == $1 }) { return kind }
        }
        return .other
    }

    static func digits(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) -> UInt64? {
        guard !range.isEmpty, range.count <= 18 else { return nil }
        var value: UInt64 = 0
        for byte in bytes[range] {
            guard let d = digit(byte) else { return nil }
            value = value * 10 + UInt64(d)
        }
        return value
    }

    static func digit(_ byte: UInt8) -> Int? { byte >= 0x30 && byte <= 0x39 ? Int(byte - 0x30) : nil }

    static func lowercased(_ byte: UInt8) -> UInt8 { byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte }

    /// tchar (RFC 9110 §5.6.2): letters, digits and ! # $ % & ' * + - . ^ _ ` | ~
    static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case 0x30...0x39, 0x41...0x5A, 0x61...0x7A: true
        case 0x21, 0x23, 0x24, 0x25, 0x26, 0x27, 0x2A, 0x2B, 0x2D, 0x2E, 0x5E, 0x5F, 0x60, 0x7C, 0x7E: true
        default: false
        }
    }

    /// Lines ended by LF (a CR before it is dropped); `position` is just past the last line returned.
    struct Lines {
        let bytes: UnsafeRawBufferPointer
        var position = 0

        /// The next whole line without its ending, or nil when the bytes end first. A CR inside a line is left in
        /// it, where the field check refuses it.
        mutating func next() -> Range<Int>? {
            guard let lf = bytes[position...].firstIndex(of: 0x0A) else { return nil }
            let end = lf > position && bytes[lf - 1] == 0x0D ? lf - 1 : lf
            defer { position = lf + 1 }
            return position..<end
        }
    }
}

extension Substring {
    fileprivate var trimmingSpaces: Substring {
        var s = self
        while s.first == " " || s.first == "\t" { s.removeFirst() }
        while s.last == " " || s.last == "\t" { s.removeLast() }
        return s
    }
}
