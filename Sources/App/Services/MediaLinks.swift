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

    /// A URL for a file that belongs to no video (channel pictures).
    public func url(key: String, now: Date = Date()) -> String {
        base + signer.path(for: MediaGrant(key: key, expires: expiry(now)))
    }

    /// A URL for one of a video's files, carrying its access revision (a privacy change or a takedown revokes
    /// it). Whether the viewer may have one at all is `Policy.mayGetMediaURLs`' question, asked by the caller.
    func url(key: String, of video: VideoRecord, userID: Int? = nil, now: Date = Date()) -> String {
        base + signer.path(for: MediaGrant(key: key, expires: expiry(now), videoID: video.id, revision: video.accessRevision, userID: userID))
    }

    /// A URL for one of a video's files when `viewer` may have one (`Policy.mayGetMediaURLs`), else nil: no one
    /// but admins gets a taken-down video's, no one but its owner a private one's.
    public func url(key: String?, of video: VideoRecord, for viewer: User?) -> String? {
        guard let key, Policy.mayGetMediaURLs(video, by: viewer) else { return nil }
        return url(key: key, of: video, userID: viewer?.id)
    }

    public func url(key: String?, of video: Video, for viewer: User?) -> String? { url(key: key, of: video.record, for: viewer) }

    /// A channel's logo, or the default picture.
    func logoURL(_ logoKey: String?, site: String) -> String {
        logoKey.map { url(key: $0) } ?? "\(site)/images/default-logo.svg"
    }

    private func expiry(_ now: Date) -> Int64 {
        let deadline = Int64(now.timeIntervalSince1970) + lifetime
        return (deadline / 3600 + 1) * 3600
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
