import NIOConcurrencyHelpers
import Vapor

/// Which methods each route path answers, so a request with another method on a known path gets
/// `405 Method Not Allowed` with `Allow` (RFC 9110 §15.5.6) instead of a 404 that says the address is wrong.
/// Built once from the route table after the routes are registered; consulted only when routing found nothing.
final class AllowedMethods: Sendable {
    private let routes = NIOLockedValueBox<[(path: [PathComponent], method: HTTPMethod)]>([])
    /// Paths made only of constants (`/api/v1/videos/import`) and the methods they answer (GET implies HEAD).
    private let fixed = NIOLockedValueBox<[String: Set<String>]>([:])

    func load(_ all: [Route]) {
        routes.withLockedValue { $0 = all.map { ($0.path, $0.method) } }
        var paths: [String: Set<String>] = [:]
        for route in all {
            var segments: [String] = []
            for component in route.path {
                guard case .constant(let value) = component else { break }
                segments.append(value)
            }
            guard segments.count == route.path.count else { continue }
            let path = "/" + segments.joined(separator: "/")
            paths[path, default: []].insert(route.method.rawValue)
            if route.method == .GET { paths[path, default: []].insert("HEAD") }
        }
        fixed.withLockedValue { $0 = paths }
    }

    /// For a path that is a fixed route's, the methods it answers when `method` is not one of them: the router would
    /// otherwise hand `PATCH /api/v1/videos/import` to `PATCH /api/v1/videos/:id` (a video called "import").
    func refusing(_ method: HTTPMethod, path: String) -> [String]? {
        guard method != .OPTIONS, let methods = fixed.withLockedValue({ $0[path] }), !methods.contains(method.rawValue) else { return nil }
        return methods.sorted()
    }

    /// The methods `path` answers (GET implies HEAD), sorted; empty when no route has this path.
    func methods(for path: String) -> [String] {
        if let methods = fixed.withLockedValue({ $0[path] }) { return methods.sorted() }
        let segments = path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        var found = Set<String>()
        for route in routes.withLockedValue({ $0 }) where Self.matches(route.path, segments) {
            found.insert(route.method.rawValue)
            if route.method == .GET { found.insert("HEAD") }
        }
        return found.sorted()
    }

    static func matches(_ components: [PathComponent], _ segments: [String]) -> Bool {
        // The channel page `/{handle}` takes any one segment but answers only `@name`: other one-segment paths are
        // unknown addresses (404), not the channel route with a wrong method.
        if components.count == 1, case .parameter = components[0] {
            return segments.count == 1 && segments[0].hasPrefix("@")
        }
        var i = 0
        for component in components {
            switch component {
            case .catchall: return i < segments.count
            case .anything, .parameter:
                guard i < segments.count else { return false }
            case .constant(let value):
                guard i < segments.count, segments[i] == value else { return false }
            }
            i += 1
        }
        return i == segments.count
    }
}
