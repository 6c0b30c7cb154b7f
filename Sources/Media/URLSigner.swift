import Crypto

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

    public init(secret: [UInt8]) {
        precondition(secret.count >= 16, "a signing secret has at least 16 bytes")
        key = SymmetricKey(data: secret)
    }

    /// The path and query for a grant: `/m/KEY?e=EXP&v=VIDEO&r=REVISION&u=USER&s=SIG`.
    public func path(for grant: MediaGrant) -> String {
        let user = grant.userID.map(String.init) ?? ""
        return "/m/\(grant.key)?e=\(grant.expires)&v=\(grant.videoID)&r=\(grant.revision)&u=\(user)&s=\(signature(grant))"
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
        // Constant-time comparison of the MAC, then the expiry, then that the URL is the canonical one.
        guard let given = Self.fromBase64URL(String(s)),
            HMAC<SHA256>.isValidAuthenticationCode(given, authenticating: Array(Self.message(grant).utf8), using: self.key),
            e >= now, path(for: grant) == target
        else { return nil }
        return grant
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

    static func fromBase64URL(_ text: String) -> [UInt8]? {
        var lookup = [UInt8: UInt32]()
        for (i, c) in alphabet.enumerated() { lookup[c] = UInt32(i) }
        let chars = Array(text.utf8)
        guard chars.count % 4 != 1, chars.count <= 64 else { return nil }
        var out: [UInt8] = []
        var i = 0
        while i < chars.count {
            let n = min(4, chars.count - i)
            var chunk: UInt32 = 0
            for j in 0..<4 {
                guard j >= n || lookup[chars[i + j]] != nil else { return nil }
                chunk = chunk << 6 | (j < n ? lookup[chars[i + j]]! : 0)
            }
            for j in 0..<(n - 1) { out.append(UInt8((chunk >> UInt32(16 - 8 * j)) & 0xFF)) }
            i += 4
        }
        return out
    }
}
