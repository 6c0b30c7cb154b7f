import Foundation
import Media

/// Makes the signed media-listener URLs pages and the API hand out.
///
/// Expiries are rounded up to the hour, so a thumbnail's URL stays the same for an hour and browsers cache it.
public struct MediaLinks: Sendable {
    public let signer: URLSigner
    public let lifetime: Int64
    /// `http://host:8081` or the configured public media URL; no trailing slash.
    public let base: String

    public init(signer: URLSigner, lifetime: Int64, base: String) {
        self.signer = signer
        self.lifetime = lifetime
        self.base = base
    }

    public func url(key: String, videoID: Int = 0, userID: Int? = nil, now: Date = Date()) -> String {
        let deadline = Int64(now.timeIntervalSince1970) + lifetime
        let expires = (deadline / 3600 + 1) * 3600
        return base + signer.path(for: MediaGrant(key: key, expires: expires, videoID: videoID, userID: userID))
    }

    /// The media listener's base for a request's `Host` (already checked by `safeHost`), unless a public
    /// media URL is configured.
    public static func base(configured: String?, requestHost: String?, scheme: String, mediaPort: Int) -> String {
        if let configured { return configured }
        var host = requestHost ?? "127.0.0.1"
        if host.hasPrefix("[") {
            host = String(host[...(host.firstIndex(of: "]") ?? host.index(before: host.endIndex))])
        } else if let colon = host.lastIndex(of: ":") {
            host = String(host[..<colon])
        }
        return "\(scheme)://\(host.isEmpty ? "127.0.0.1" : host):\(mediaPort)"
    }

    /// A `Host` header value if it has only the characters a host name, address and port can have; it is
    /// attacker-supplied and ends up in URLs on pages.
    public static func safeHost(_ value: String?) -> String? {
        guard let value, !value.isEmpty,
            value.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-.[]:".contains($0)) })
        else { return nil }
        return value
    }
}
