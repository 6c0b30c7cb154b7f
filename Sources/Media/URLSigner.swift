import Crypto
import NIOConcurrencyHelpers

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What a signed media URL grants: one storage key until an expiry, and who asked (for the watch log).
public struct MediaGrant: Sendable, Equatable {
    public var key: String
    public var expires: Int64
    /// The video the bytes belong to, when they are a video's (watch log, revocation); 0 otherwise.
    public var videoID: Int
    /// The video's access revision when the URL was made: a privacy change or a takedown bumps it, and the
    /// listener refuses grants of an older one.
    public var revision: Int
    /// The signed-in user who got the URL, if any (watch log).
    public var userID: Int?

    public init(key: String, expires: Int64, videoID: Int = 0, revision: Int = 0, userID: Int? = nil) {
        self.key = key
        self.expires = expires
        self.videoID = videoID
        self.revision = revision
        self.userID = userID
    }
}

/// Signs and checks media URLs with HMAC-SHA256, so the media listener serves private media without a
/// database: the app decides who may see a key, and the listener only checks the signature and expiry.
public struct URLSigner: Sendable {
    private let key: SymmetricKey
    /// Paths signed lately: a listing signs the same thumbnails and files for every visitor within an hour (expiries
    /// are rounded to the hour), and an HMAC per URL was a tenth of a listing's CPU. Bounded: emptied when full.
    private let recent = SignedPaths()

    public init(secret: [UInt8]) {
        precondition(secret.count >= 16, "a signing secret has at least 16 bytes")
        key = SymmetricKey(data: secret)
    }

    /// The path and query for a grant: `/m/KEY?e=EXP&v=VIDEO&r=REVISION&u=USER&s=SIG`.
    public func path(for grant: MediaGrant) -> String {
        let user = grant.userID.map(String.init) ?? ""
        let unsigned = "/m/\(grant.key)?e=\(grant.expires)&v=\(grant.videoID)&r=\(grant.revision)&u=\(user)&s="
        if let signed = recent.get(unsigned) { return signed }
        let signed = unsigned + signature(grant)
        recent.put(unsigned, signed)
        return signed
    }

    /// Checks a request target against its signature and the clock; nil when either fails. Only the one spelling
    /// `path(for:)` makes is accepted (no leading zeros, signs, other base64 forms or extra parameters), so a
    /// signature verifies for exactly one URL.
    public func verify(target: String, now: Int64 = Int64(time(nil))) -> MediaGrant? {
        guard target.hasPrefix("/m/") else { return nil }
        let parts = target.dropFirst(3).split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2 else { return nil }
        let key = String(parts[0])
        guard StorageKey.isValid(key) else { return nil }
        var query: [Substring: Substring] = [:]
        for pair in parts[1].split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard kv.count == 2, query[kv[0]] == nil else { return nil }
            query[kv[0]] = kv[1]
        }
        guard query.count == 5, let e = query["e"].flatMap({ Int64($0) }), let v = query["v"].flatMap({ Int($0) }),
            let r = query["r"].flatMap({ Int($0) }), let u = query["u"], let s = query["s"]
        else { return nil }
        let userID: Int?
        if u.isEmpty {
            userID = nil
        } else {
            guard let id = Int(u) else { return nil }
            userID = id
        }
        let grant = MediaGrant(key: key, expires: e, videoID: v, revision: r, userID: userID)
        // The one URL this grant signs, MAC included, compared in constant time with the one asked for: one HMAC
        // per request, and no other spelling of the same numbers or signature gets through.
        guard !s.isEmpty, e >= now, Self.constantTimeEqual(Array(path(for: grant).utf8), Array(target.utf8)) else { return nil }
        return grant
    }

    /// Whether two byte strings are equal, in time that depends only on their length.
    public static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for i in 0..<a.count { difference |= a[i] ^ b[i] }
        return difference == 0
    }

    func signature(_ grant: MediaGrant) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Array(Self.message(grant).utf8), using: key)
        return Self.base64URL(Array(mac))
    }

    private static func message(_ g: MediaGrant) -> String {
        "\(g.key)\n\(g.expires)\n\(g.videoID)\n\(g.revision)\n\(g.userID.map(String.init) ?? "")"
    }

    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    public static func base64URL(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        var i = 0
        while i < bytes.count {
            let n = min(3, bytes.count - i)
            var chunk: UInt32 = 0
            for j in 0..<3 { chunk = chunk << 8 | UInt32(j < n ? bytes[i + j] : 0) }
            for j in 0..<(n + 1) { out.append(alphabet[Int((chunk >> UInt32(18 - 6 * j)) & 63)]) }
            i += 3
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// A bounded map from unsigned to signed paths (the MAC depends only on the unsigned part and the key).
final class SignedPaths: Sendable {
    private let paths = NIOLockedValueBox<[String: String]>([:])
    static let capacity = 20_000

    func get(_ unsigned: String) -> String? { paths.withLockedValue { $0[unsigned] } }

    func put(_ unsigned: String, _ signed: String) {
        paths.withLockedValue {
            if $0.count >= Self.capacity { $0.removeAll(keepingCapacity: true) }
            $0[unsigned] = signed
        }
    }
}
