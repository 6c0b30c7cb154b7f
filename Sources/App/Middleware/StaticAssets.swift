import CompressNIO
import Crypto
import Foundation
import Media
import NIOCore
import Vapor

/// `Public/`, read once at start and served from memory: validators computed once (no `DateFormatter` or `stat`
/// per request), text gzipped once, and fingerprinted URLs (`/assets/css/site.3f2a9c1b.css`) that browsers keep for a
/// year. Plain names (`/css/site.css`, and `/assets/js/storyboard.js` that an ES module imports relatively) are
/// revalidated with their `ETag` and answered 304 when unchanged.
final class StaticAssets: Sendable {
    struct Asset: Sendable {
        let contentType: String
        let body: ByteBuffer
        let gzipped: ByteBuffer?
        let etag: String
        let lastModified: String
        /// `/assets/css/site.3f2a9c1b.css`
        let fingerprinted: String
    }

    /// By request path; the fingerprinted paths are marked immutable.
    private let assets: [String: (asset: Asset, immutable: Bool)]
    /// Relative name (`css/site.css`) → fingerprinted URL.
    private let urls: [String: String]

    static let textTypes: Set<String> = ["css", "js", "svg", "json", "txt", "html", "vtt", "webmanifest"]

    init(directory: String) throws {
        var assets: [String: (Asset, Bool)] = [:]
        var urls: [String: String] = [:]
        let root = directory.hasSuffix("/") ? directory : directory + "/"
        let names = (FileManager.default.enumerator(atPath: root)?.allObjects as? [String] ?? []).sorted()
        for name in names {
            var isDirectory: ObjCBool = false
            guard !name.hasPrefix("."), FileManager.default.fileExists(atPath: root + name, isDirectory: &isDirectory),
                !isDirectory.boolValue,
                let data = FileManager.default.contents(atPath: root + name)
            else { continue }
            let ext = (name as NSString).pathExtension.lowercased()
            let hash = SHA256.hash(data: data).prefix(8).map { String(format: "%02x", $0) }.joined()
            let modified = (try? FileManager.default.attributesOfItem(atPath: root + name)[.modificationDate] as? Date) ?? Date()
            let body = ByteBuffer(bytes: data)
            var gzipped: ByteBuffer?
            if Self.textTypes.contains(ext), data.count > 256 {
                var input = body
                if let packed = try? input.compress(with: .gzip()), packed.readableBytes < data.count { gzipped = packed }
            }
            let stem = (name as NSString).deletingPathExtension
            let fingerprinted = "/assets/\(stem).\(hash)" + (ext.isEmpty ? "" : ".\(ext)")
            let asset = Asset(
                contentType: Self.contentType(ext), body: body, gzipped: gzipped, etag: "\"\(hash)\"",
                lastModified: HTTPDate.format(Int64(modified.timeIntervalSince1970)), fingerprinted: fingerprinted)
            assets["/" + name] = (asset, false)
            assets["/assets/" + name] = (asset, false)
            assets[fingerprinted] = (asset, true)
            urls[name] = fingerprinted
        }
        self.assets = assets
        self.urls = urls
    }

    /// The fingerprinted URL of `name` (`css/site.css`), or its plain path when there is no such file.
    func url(_ name: String) -> String { urls[name] ?? "/" + name }

    /// Whether `path` names an asset (whatever the method).
    func contains(_ path: String) -> Bool { assets[path] != nil }

    /// The answer for a GET or HEAD of an asset path, or nil when the path is not an asset.
    func response(path: String, method: HTTPMethod, headers: HTTPHeaders) -> Response? {
        guard method == .GET || method == .HEAD, let (asset, immutable) = assets[path] else { return nil }
        let gzip = asset.gzipped != nil && (headers.first(name: .acceptEncoding)?.contains("gzip") ?? false)
        let etag = gzip ? String(asset.etag.dropLast()) + "-gz\"" : asset.etag
        var out = HTTPHeaders()
        out.add(name: .contentType, value: asset.contentType)
        out.add(name: .eTag, value: etag)
        out.add(name: .lastModified, value: asset.lastModified)
        out.add(name: .cacheControl, value: immutable ? "public, max-age=31536000, immutable" : "no-cache")
        if asset.gzipped != nil { out.add(name: .vary, value: "Accept-Encoding") }
        if let tags = headers.first(name: .ifNoneMatch) {
            if tags.split(separator: ",").contains(where: {
                $0.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: "W/", with: "") == etag || $0 == "*"
            }) {
                return Response(status: .notModified, headers: out)
            }
        } else if let since = headers.first(name: .ifModifiedSince), since == asset.lastModified {
            return Response(status: .notModified, headers: out)
        }
        if gzip { out.add(name: .contentEncoding, value: "gzip") }
        let body = gzip ? asset.gzipped! : asset.body
        out.add(name: .contentLength, value: String(body.readableBytes))
        // HEAD too carries the body: Vapor's server sends only the head for HEAD, with the GET's Content-Length.
        return Response(status: .ok, headers: out, body: .init(buffer: body))
    }

    static func contentType(_ ext: String) -> String {
        switch ext {
        case "css": "text/css; charset=utf-8"
        case "js": "text/javascript; charset=utf-8"
        case "svg": "image/svg+xml"
        case "json": "application/json"
        case "webmanifest": "application/manifest+json"
        case "txt": "text/plain; charset=utf-8"
        case "html": "text/html; charset=utf-8"
        case "ico": "image/x-icon"
        default: MIMEType.forExtension(ext)
        }
    }
}
