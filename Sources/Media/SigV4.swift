import Crypto
import Foundation

/// AWS Signature Version 4 (the "Authorization" header and presigned query strings), as S3 and every
/// S3-compatible store (MinIO, Ceph, Garage, R2, moto) check it. Checked against AWS's published SigV4 test
/// suite and the worked examples in the S3 API reference (`SigV4Tests`).
///
/// Paths are encoded once and not normalized, which is what S3 wants (other AWS services encode twice; Videotube
/// talks only to S3). Steps, as AWS describes them: a canonical request (method, path, sorted query, sorted
/// lower-case headers with trimmed values, the signed header names, the payload's SHA-256), a string to sign
/// (algorithm, time, scope, the canonical request's hash), and an HMAC chain from the secret key down to the
/// day, region and service.
public struct SigV4Signer: Sendable {
    public var accessKey: String
    public var secretKey: String
    public var region: String
    public var service: String
    /// Temporary credentials (STS) carry a token, sent as `X-Amz-Security-Token`.
    public var sessionToken: String?

    public static let unsignedPayload = "UNSIGNED-PAYLOAD"
    public static let emptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

    public init(accessKey: String, secretKey: String, region: String, service: String = "s3", sessionToken: String? = nil) {
        self.accessKey = accessKey
        self.secretKey = secretKey
        self.region = region
        self.service = service
        self.sessionToken = sessionToken
    }

    /// `20150830T123600Z` and `20150830`.
    public static func timestamps(_ date: Date) -> (time: String, day: String) {
        var seconds = time_t(date.timeIntervalSince1970.rounded(.down))
        var parts = tm()
        gmtime_r(&seconds, &parts)
        // No `String(format:)`: it is slow on Linux, and the media listener signs a redirect per request.
        func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
        let day = "\(parts.tm_year + 1900)" + two(parts.tm_mon + 1) + two(parts.tm_mday)
        return (day + "T" + two(parts.tm_hour) + two(parts.tm_min) + two(parts.tm_sec) + "Z", day)
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)
    private static let upperHexDigits = Array("0123456789ABCDEF".utf8)

    /// RFC 3986 percent-encoding of everything but unreserved characters (`A–Z a–z 0–9 - _ . ~`); `/` kept when
    /// `keepSlash` (object keys in paths).
    public static func encode(_ text: String, keepSlash: Bool = false) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            if isUnreserved(byte) || (keepSlash && byte == 0x2F) {
                out.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                out.unicodeScalars.append("%")
                out.unicodeScalars.append(Unicode.Scalar(upperHexDigits[Int(byte >> 4)]))
                out.unicodeScalars.append(Unicode.Scalar(upperHexDigits[Int(byte & 0x0F)]))
            }
        }
        return out
    }

    static func isUnreserved(_ byte: UInt8) -> Bool {
        (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x30 && byte <= 0x39)
            || byte == 0x2D || byte == 0x5F || byte == 0x2E || byte == 0x7E
    }

    /// Query parameters sorted by encoded name, then value, joined as `a=1&b=2` (both sides encoded).
    public static func canonicalQuery(_ query: [(String, String)]) -> String {
        let pairs: [(name: String, value: String)] = query.map { (encode($0.0), encode($0.1)) }
        let sorted = pairs.sorted { a, b in a.name == b.name ? a.value < b.value : a.name < b.name }
        return sorted.map { $0.name + "=" + $0.value }.joined(separator: "&")
    }

    /// Lower-case names, values trimmed with inner runs of spaces collapsed, repeated names joined by commas in
    /// the order given; sorted by name.
    static func canonicalHeaders(_ headers: [(String, String)]) -> (text: String, signed: String) {
        var merged: [String: [String]] = [:]
        for (name, value) in headers {
            let trimmed = value.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
            merged[name.lowercased(), default: []].append(trimmed)
        }
        let names = merged.keys.sorted()
        let text = names.map { "\($0):\(merged[$0]!.joined(separator: ","))\n" }.joined()
        return (text, names.joined(separator: ";"))
    }

    /// The canonical request for `path` (already encoded, as sent), `query` (decoded pairs) and `headers`.
    public func canonicalRequest(
        method: String, path: String, query: [(String, String)], headers: [(String, String)], payloadHash: String
    ) -> (request: String, signedHeaders: String) {
        let (headerText, signed) = Self.canonicalHeaders(headers)
        let request = [method, path.isEmpty ? "/" : path, Self.canonicalQuery(query), headerText, signed, payloadHash]
            .joined(separator: "\n")
        return (request, signed)
    }

    func scope(day: String) -> String { "\(day)/\(region)/\(service)/aws4_request" }

    func signature(canonicalRequest: String, time: String, day: String) -> String {
        let hashed = Self.hex(SHA256.hash(data: Data(canonicalRequest.utf8)))
        let stringToSign = "AWS4-HMAC-SHA256\n\(time)\n\(scope(day: day))\n\(hashed)"
        return Self.hex(HMAC<SHA256>.authenticationCode(for: Data(stringToSign.utf8), using: signingKey(day: day)))
    }

    /// The key for a day, region and service: four HMACs from the secret, the same all day.
    func signingKey(day: String) -> SymmetricKey {
        var key = SymmetricKey(data: Data(("AWS4" + secretKey).utf8))
        for part in [day, region, service, "aws4_request"] {
            key = SymmetricKey(data: Data(HMAC<SHA256>.authenticationCode(for: Data(part.utf8), using: key)))
        }
        return key
    }

    /// The `Authorization` header value for a request whose headers already include `host` and `x-amz-date`
    /// (and `x-amz-content-sha256` for S3).
    public func authorization(
        method: String, path: String, query: [(String, String)], headers: [(String, String)], payloadHash: String, date: Date
    ) -> String {
        let (time, day) = Self.timestamps(date)
        let (request, signed) = canonicalRequest(method: method, path: path, query: query, headers: headers, payloadHash: payloadHash)
        let signature = signature(canonicalRequest: request, time: time, day: day)
        return "AWS4-HMAC-SHA256 Credential=\(accessKey)/\(scope(day: day)), SignedHeaders=\(signed), Signature=\(signature)"
    }

    /// Headers to send with a request: `x-amz-date`, `x-amz-content-sha256`, the token if any, and `Authorization`.
    /// `headers` must include `host`.
    public func signedHeaders(
        method: String, path: String, query: [(String, String)], headers: [(String, String)], payloadHash: String, date: Date = Date()
    ) -> [(String, String)] {
        var all = headers
        all.append(("x-amz-date", Self.timestamps(date).time))
        all.append(("x-amz-content-sha256", payloadHash))
        if let sessionToken { all.append(("x-amz-security-token", sessionToken)) }
        let value = authorization(method: method, path: path, query: query, headers: all, payloadHash: payloadHash, date: date)
        all.append(("Authorization", value))
        return all
    }

    /// A presigned URL's query string (signed with `host` only, payload unsigned), valid `expires` seconds
    /// (at most 7 days, as S3 allows). `query` holds extra parameters such as `response-content-disposition`.
    public func presignedQuery(
        method: String, host: String, path: String, query: [(String, String)] = [], expires: Int, date: Date = Date()
    ) -> String {
        let (time, day) = Self.timestamps(date)
        var parameters = query
        parameters.append(("X-Amz-Algorithm", "AWS4-HMAC-SHA256"))
        parameters.append(("X-Amz-Credential", "\(accessKey)/\(scope(day: day))"))
        parameters.append(("X-Amz-Date", time))
        parameters.append(("X-Amz-Expires", String(min(max(expires, 1), 604_800))))
        if let sessionToken { parameters.append(("X-Amz-Security-Token", sessionToken)) }
        parameters.append(("X-Amz-SignedHeaders", "host"))
        let (request, _) = canonicalRequest(
            method: method, path: path, query: parameters, headers: [("host", host)], payloadHash: Self.unsignedPayload)
        let signature = signature(canonicalRequest: request, time: time, day: day)
        return Self.canonicalQuery(parameters) + "&X-Amz-Signature=" + signature
    }

    public static func hex<D: Sequence>(_ digest: D) -> String where D.Element == UInt8 {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(64)
        for byte in digest {
            bytes.append(hexDigits[Int(byte >> 4)])
            bytes.append(hexDigits[Int(byte & 0x0F)])
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    public static func sha256Hex(_ data: some DataProtocol) -> String { hex(SHA256.hash(data: data)) }
}
