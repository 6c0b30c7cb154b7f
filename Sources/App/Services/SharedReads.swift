import Fluent
import Foundation
import NIOConcurrencyHelpers
import SQLKit
import Vapor

/// Responses every signed-out visitor gets alike (the listings, the watch page, the catalog JSON), kept in
/// memory so a popular page costs what its bytes cost. This is the read pattern's second half: a miss reads
/// through SQLKit rows (`VideoRecord`) and renders; a hit sends the stored bytes.
///
/// When an entry goes stale:
/// - **Catalog changes** (a video or channel added, edited, hidden, taken down, gone live or offline, an account
///   disabled) bump `catalog_state.version` through database triggers (M009), whoever made them: this node,
///   another app node on the same PostgreSQL, or a `videotube import` on the same SQLite file. A node reads the
///   version at most every `versionCheckInterval`, so other nodes' changes show within that; a successful
///   write request on this node drops this node's entries at once.
/// - **Counters** (views, subscribers, live viewers) and relative dates change too often to invalidate on:
///   entries live at most `lifetime`, as view counts lag on every large video site.
///
/// Signed-in pages are rendered for their reader, but the pieces that are the same for everyone are not: the
/// listings' query results (`value`) and each video's box (`fragments`, see `VideoGrid`) come from here too.
///
/// Signed-in requests, API calls with a token, pages with a one-off notice and non-200 answers are never stored.
/// Keys are the handler's parsed parameters (never the raw query) plus the origins its URLs are made for, and
/// the cache holds at most `capacity` entries, so made-up parameters or hosts cannot grow it.
public final class SharedReads: Sendable {
    public static let lifetime: TimeInterval = 5
    public static let versionCheckInterval: TimeInterval = 0.25
    public static let capacity = 512
    /// Video boxes are keyed by real video ids (times the media origins seen), so they may be more.
    public static let fragmentCapacity = 4096

    struct Entry: Sendable {
        var contentType: String
        var body: ByteBuffer
        var storedAt: TimeInterval
    }

    struct Value: @unchecked Sendable {
        /// Always a `Sendable` value (`value(_:on:make:)` takes only those); `any Sendable` cannot be cast back.
        var value: Any
        var storedAt: TimeInterval
    }

    private struct State {
        var entries: [String: Entry] = [:]
        /// Query results shared by signed-in and signed-out readers alike (listings), under the same rules.
        var values: [String: Value] = [:]
        /// Rendered pieces of pages that read the same everywhere (a video's box), under the same rules.
        var fragments: [String: (html: String, storedAt: TimeInterval)] = [:]
        /// Bumped by every invalidation, so a render that began before one is not stored after it.
        var generation = 0
        var version: Int64?
        var versionCheckedAt: TimeInterval = -.infinity
        var checking = false
    }

    private let state = NIOLockedValueBox(State())

    public init() {}

    /// How many responses are stored now.
    public var storedCount: Int { state.withLockedValue { $0.entries.count + $0.values.count + $0.fragments.count } }

    /// Drops every entry (a write on this node succeeded).
    public func invalidate() {
        state.withLockedValue {
            $0.entries.removeAll(keepingCapacity: true)
            $0.values.removeAll(keepingCapacity: true)
            $0.fragments.removeAll(keepingCapacity: true)
            $0.generation &+= 1
        }
    }

    /// The stored response for `key`, if fresh; otherwise `make`'s, stored when it may be shared.
    func response(key: String, on db: any Database, make: () async throws -> Response) async throws -> Response {
        let now = ProcessInfo.processInfo.systemUptime
        try await checkVersion(now: now, db: db)
        let (hit, generation) = state.withLockedValue { state -> (Entry?, Int) in
            guard let entry = state.entries[key], now - entry.storedAt < Self.lifetime else { return (nil, state.generation) }
            return (entry, state.generation)
        }
        if let hit {
            let response = Response(status: .ok, body: .init(buffer: hit.body))
            response.headers.replaceOrAdd(name: .contentType, value: hit.contentType)
            return response
        }
        let response = try await make()
        guard response.status == .ok, !response.headers.contains(name: .setCookie),
            let type = response.headers.first(name: .contentType), let body = response.body.buffer
        else { return response }
        state.withLockedValue { state in
            guard state.generation == generation else { return }
            if state.entries.count >= Self.capacity { state.entries.removeAll(keepingCapacity: true) }
            state.entries[key] = Entry(contentType: type, body: body, storedAt: now)
        }
        return response
    }

    /// The stored result of the read `key` names, if fresh; otherwise `make`'s, stored. For reads whose result
    /// is the same for everyone (a listing of public videos), so signed-in pages skip the query too.
    func value<T: Sendable>(_ key: String, on db: any Database, make: () async throws -> T) async throws -> T {
        let now = ProcessInfo.processInfo.systemUptime
        try await checkVersion(now: now, db: db)
        let (hit, generation) = state.withLockedValue { state -> (T?, Int) in
            guard let stored = state.values[key], now - stored.storedAt < Self.lifetime else { return (nil, state.generation) }
            return (stored.value as? T, state.generation)
        }
        if let hit { return hit }
        let made = try await make()
        state.withLockedValue { state in
            guard state.generation == generation else { return }
            if state.values.count >= Self.capacity { state.values.removeAll(keepingCapacity: true) }
            state.values[key] = Value(value: made, storedAt: now)
        }
        return made
    }

    /// The stored HTML for each of `keys` where fresh; `make` renders the others (it gets their positions in
    /// `keys` and answers one piece for each), which are stored. One lock for the lookups, one for the stores.
    func fragments(_ keys: [String], on db: any Database, make: ([Int]) async throws -> [String]) async throws -> [String] {
        let now = ProcessInfo.processInfo.systemUptime
        try await checkVersion(now: now, db: db)
        var pieces = [String?](repeating: nil, count: keys.count)
        let generation = state.withLockedValue { state -> Int in
            for (i, key) in keys.enumerated() {
                if let stored = state.fragments[key], now - stored.storedAt < Self.lifetime { pieces[i] = stored.html }
            }
            return state.generation
        }
        let missing = pieces.indices.filter { pieces[$0] == nil }
        guard !missing.isEmpty else { return pieces.map { $0! } }
        let made = try await make(missing)
        precondition(made.count == missing.count, "make answers one piece per missing key")
        for (i, html) in zip(missing, made) { pieces[i] = html }
        state.withLockedValue { state in
            guard state.generation == generation else { return }
            if state.fragments.count + missing.count > Self.fragmentCapacity { state.fragments.removeAll(keepingCapacity: true) }
            for (i, html) in zip(missing, made) { state.fragments[keys[i]] = (html, now) }
        }
        return pieces.map { $0! }
    }

    /// Reads `catalog_state.version` when the last reading is older than the interval (one request does it
    /// while the others keep using the entries); a new version drops every entry.
    private func checkVersion(now: TimeInterval, db: any Database) async throws {
        let due = state.withLockedValue { state -> Bool in
            guard !state.checking, now - state.versionCheckedAt >= Self.versionCheckInterval else { return false }
            state.checking = true
            return true
        }
        guard due else { return }
        let version: Int64?
        do {
            version = try await Self.readVersion(db)
        } catch {
            state.withLockedValue { $0.checking = false }
            throw error
        }
        state.withLockedValue { state in
            state.checking = false
            state.versionCheckedAt = now
            if state.version != version {
                state.version = version
                state.entries.removeAll(keepingCapacity: true)
                state.values.removeAll(keepingCapacity: true)
                state.fragments.removeAll(keepingCapacity: true)
                state.generation &+= 1
            }
        }
    }

    static func readVersion(_ db: any Database) async throws -> Int64? {
        struct Row: Decodable { var version: Int64 }
        return try await db.sql().select().column("version").from(CatalogState.schema).first(decoding: Row.self)?.version
    }
}

/// The one-row table whose version the catalog triggers bump (M009).
enum CatalogState {
    static let schema = "catalog_state"
}

extension Request {
    private struct CountersOnlyKey: Vapor.StorageKey { typealias Value = Bool }

    /// Marks this write as one that moves a counter only (a view): it leaves shared pages in place, which show
    /// counters at most `SharedReads.lifetime` old anyway.
    func changesOnlyCounters() { storage[CountersOnlyKey.self] = true }

    var changedOnlyCounters: Bool { storage[CountersOnlyKey.self] == true }

    /// What `make` answers, from `SharedReads` when this request is one every signed-out visitor would get alike.
    /// `key` names the handler and its parsed parameters.
    func shared(_ key: String, _ make: () async throws -> some AsyncResponseEncodable) async throws -> Response {
        guard viewer == nil, method == .GET || method == .HEAD, url.query.map({ !$0.contains("notice=") }) ?? true else {
            return try await make().encodeResponse(for: self)
        }
        return try await services.sharedReads.response(key: key + "|" + siteBase + "|" + mediaLinks.base, on: db) {
            try await make().encodeResponse(for: self)
        }
    }
}

/// Drops this node's shared entries after every successful write, so the writer (and everyone on this node)
/// sees the change on the next page.
struct SharedReadsMiddleware: AsyncMiddleware {
    func respond(to request: Request, chainingTo next: any AsyncResponder) async throws -> Response {
        switch request.method {
        case .GET, .HEAD, .OPTIONS:
            return try await next.respond(to: request)
        default:
            let response = try await next.respond(to: request)
            if response.status.code < 400, !request.changedOnlyCounters { request.services.sharedReads.invalidate() }
            return response
        }
    }
}
