/// What a server knows about one stored file when it answers for it.
public struct Representation: Sendable, Equatable {
    public var size: Int64
    /// Seconds since 1970 of the file's last change.
    public var lastModified: Int64
    public var contentType: String

    public init(size: Int64, lastModified: Int64, contentType: String) {
        self.size = size
        self.lastModified = lastModified
        self.contentType = contentType
    }

    /// A strong validator from size and modification time, as nginx makes its own.
    public var etag: String { "\"\(String(lastModified, radix: 16))-\(String(size, radix: 16))\"" }
}

/// A file's validators as header values, made once for a file that is served many times.
public struct Validators: Sendable, Equatable {
    public var etag: String
    public var lastModified: String

    public init(_ file: Representation) {
        etag = file.etag
        lastModified = HTTPDate.format(file.lastModified)
    }
}

/// A piece of a response body: literal bytes (multipart framing) or a slice of the file.
public enum BodySegment: Equatable, Sendable {
    case text(String)
    case file(ByteRange)

    public var count: Int64 {
        switch self {
        case .text(let s): Int64(s.utf8.count)
        case .file(let r): r.count
        }
    }
}

/// A complete answer: status, headers and the body as segments. Servers write the segments;
/// for HEAD the headers are the same and the body is left out.
public struct MediaResponsePlan: Sendable, Equatable {
    public var status: Int
    public var headers: [(String, String)]
    public var body: [BodySegment]

    public var contentLength: Int64 { body.reduce(0) { $0 + $1.count } }

    public func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }

    public static func == (a: Self, b: Self) -> Bool {
        a.status == b.status && a.body == b.body && a.headers.map { "\($0.0):\($0.1)" } == b.headers.map { "\($0.0):\($0.1)" }
    }
}

/// Plans GET/HEAD responses for stored media: validators, conditionals, then ranges.
public struct MediaResponder: Sendable {
    public var planner: RangePlanner
    /// Makes a multipart boundary; replaceable so tests can predict it.
    public var makeBoundary: @Sendable () -> String

    public init(planner: RangePlanner, makeBoundary: @escaping @Sendable () -> String = MediaResponder.randomBoundary) {
        self.planner = planner
        self.makeBoundary = makeBoundary
    }

    public static func randomBoundary() -> String {
        var g = SystemRandomNumberGenerator()
        return "videotube-" + (0..<2).map { _ in String(g.next() as UInt64, radix: 16) }.joined()
    }

    public func plan(_ request: MediaRequest, for file: Representation, validators known: Validators? = nil) -> MediaResponsePlan {
        let made = known ?? Validators(file)
        let etag = made.etag
        var validators: [(String, String)] { [("ETag", etag), ("Last-Modified", made.lastModified)] }

        // RFC 9110 §13.2.2: If-Match, else If-Unmodified-Since; then If-None-Match, else If-Modified-Since.
        if let ifMatch = request.ifMatch {
            if !ETagList(ifMatch).matches(etag, weak: false) { return Self.empty(412, validators) }
        } else if let value = request.ifUnmodifiedSince, let date = HTTPDate.parse(value), file.lastModified > date {
            return Self.empty(412, validators)
        }
        if let ifNoneMatch = request.ifNoneMatch {
            if ETagList(ifNoneMatch).matches(etag, weak: true) { return Self.notModified(validators) }
        } else if let value = request.ifModifiedSince, let date = HTTPDate.parse(value), file.lastModified <= date {
            return Self.notModified(validators)
        }

        var rangeHeader = request.range
        if rangeHeader != nil, let ifRange = request.ifRange {
            // §13.1.5: an entity-tag matches strongly only; a date only when it equals Last-Modified exactly.
            let trimmed = ifRange.trimmingSpaces
            let holds: Bool
            if trimmed.hasPrefix("\"") || trimmed.hasPrefix("W/") {
                holds = ETagList(trimmed).matches(etag, weak: false)
            } else {
                holds = HTTPDate.parse(trimmed) == file.lastModified
            }
            if !holds { rangeHeader = nil }
        }

        // One array, made at its final size (this runs for every range request a player makes).
        func headers(_ more: (String, String)...) -> [(String, String)] {
            var all: [(String, String)] = []
            all.reserveCapacity(3 + more.count)
            all.append(("Accept-Ranges", "bytes"))
            all.append(("ETag", etag))
            all.append(("Last-Modified", made.lastModified))
            all.append(contentsOf: more)
            return all
        }
        switch planner.plan(range: rangeHeader, size: file.size) {
        case .full:
            return MediaResponsePlan(
                status: 200, headers: headers(("Content-Type", file.contentType)),
                body: file.size > 0 ? [.file(ByteRange(0, file.size - 1))] : [])
        case .single(let range):
            return MediaResponsePlan(
                status: 206, headers: headers(("Content-Type", file.contentType), ("Content-Range", range.contentRange(of: file.size))),
                body: [.file(range)])
        case .multiple(let ranges):
            // RFC 9110 §14.6: each part carries its own Content-Type and Content-Range.
            let boundary = makeBoundary()
            var body: [BodySegment] = []
            for (i, range) in ranges.enumerated() {
                let lead = i == 0 ? "" : "\r\n"
                body.append(
                    .text(
                        "\(lead)--\(boundary)\r\nContent-Type: \(file.contentType)\r\nContent-Range: \(range.contentRange(of: file.size))\r\n\r\n"
                    ))
                body.append(.file(range))
            }
            body.append(.text("\r\n--\(boundary)--\r\n"))
            return MediaResponsePlan(status: 206, headers: headers(("Content-Type", "multipart/byteranges; boundary=\(boundary)")), body: body)
        case .unsatisfiable:
            return MediaResponsePlan(
                status: 416,
                headers: headers(("Content-Range", "bytes */\(file.size)"), ("Content-Type", "text/plain; charset=utf-8")),
                body: [.text("The requested range starts past the end of this \(file.size)-byte file.\n")])
        }
    }

    private static func empty(_ status: Int, _ headers: [(String, String)]) -> MediaResponsePlan {
        MediaResponsePlan(status: status, headers: headers, body: [])
    }

    private static func notModified(_ headers: [(String, String)]) -> MediaResponsePlan {
        empty(304, headers)
    }
}

/// A comma-separated list of entity-tags or `*` (RFC 9110 §8.8.3, §13.1.1).
struct ETagList {
    let any: Bool
    let tags: [(weak: Bool, opaque: String)]

    init(_ value: String) {
        let items = value.split(separator: ",").map { String($0).trimmingSpaces }.filter { !$0.isEmpty }
        any = items.contains("*")
        tags = items.compactMap { item in
            let weak = item.hasPrefix("W/")
            let opaque = weak ? String(item.dropFirst(2)) : item
            guard opaque.count >= 2, opaque.hasPrefix("\""), opaque.hasSuffix("\"") else { return nil }
            return (weak, opaque)
        }
    }

    /// Strong comparison needs both tags strong; weak comparison only compares the opaque parts (§8.8.3.2).
    func matches(_ etag: String, weak: Bool) -> Bool {
        if any { return true }
        let current = etag.hasPrefix("W/") ? String(etag.dropFirst(2)) : etag
        let currentWeak = etag.hasPrefix("W/")
        return tags.contains { tag in
            tag.opaque == current && (weak || (!tag.weak && !currentWeak))
        }
    }
}

extension String {
    var trimmingSpaces: String {
        var s = Substring(self)
        while s.first == " " || s.first == "\t" { s.removeFirst() }
        while s.last == " " || s.last == "\t" { s.removeLast() }
        return String(s)
    }
}
