import App
import AsyncHTTPClient
import Fluent
import Foundation
import NIOHTTP1
import Testing
import VaporTesting

/// Accounts and clients for tests.
enum Accounts {
    static let password = "Zebra-Quilt-42"

    static func service(_ app: Application) -> AccountService {
        app.videotube.accounts(on: app.db)
    }

    @discardableResult
    static func user(_ app: Application, _ name: String, admin: Bool = false) async throws -> User {
        try await service(app).signUp(username: name, email: "\(name)@example.com", password: password, role: admin ? .admin : .user)
    }

    static func token(_ app: Application, _ user: User) async throws -> String {
        try await service(app).issueToken(for: user).token
    }

    /// A channel owned by `owner`, with one imported video; returns (channel id, video id).
    static func channelWithVideo(_ app: Application, owner: User, handle: String, visibility: Visibility = .public) async throws -> (Int, Int) {
        let importer = VideoImporter(db: app.db, storage: app.videotube.storage)
        var options = VideoImporter.Options(channelHandle: handle, title: "Clip of \(handle)", description: "")
        options.ownerID = try owner.requireID()
        options.visibility = visibility
        let video = try await importer.importFile(at: try await Fixtures.video(), options)
        return (video.$channel.id, try video.requireID())
    }
}

/// A cookie-keeping client over real HTTP, like a browser: reads the CSRF token from the pages it gets.
final class Browser: @unchecked Sendable {
    let app: Application
    var cookies: [String: String] = [:]
    var csrf = ""

    init(_ app: Application) { self.app = app }

    struct Page {
        var status: HTTPStatus
        var headers: HTTPHeaders
        var body: String
    }

    @discardableResult
    func get(_ path: String, headers: HTTPHeaders = [:]) async throws -> Page {
        try await send(.GET, path, headers: headers, body: nil)
    }

    /// Posts a form; `csrf: true` adds the token the last page carried.
    @discardableResult
    func post(_ path: String, _ fields: [String: String] = [:], csrf: Bool = true, headers: HTTPHeaders = [:]) async throws -> Page {
        var fields = fields
        if csrf { fields["_csrf"] = self.csrf }
        let body = fields.map { "\($0.key)=\(Self.escape($0.value))" }.joined(separator: "&")
        var headers = headers
        headers.replaceOrAdd(name: .contentType, value: "application/x-www-form-urlencoded")
        return try await send(.POST, path, headers: headers, body: ByteBuffer(string: body))
    }

    func send(_ method: HTTPMethod, _ path: String, headers: HTTPHeaders = [:], body: ByteBuffer?) async throws -> Page {
        var headers = headers
        if !cookies.isEmpty {
            headers.replaceOrAdd(name: .cookie, value: cookies.map { "\($0.key)=\($0.value)" }.joined(separator: "; "))
        }
        let res = try await LiveServer.send(app, method, path, headers: headers, body: body)
        for line in res.headers[.setCookie] {
            let pair = line.split(separator: ";")[0].split(separator: "=", maxSplits: 1)
            let name = String(pair[0]).trimmingCharacters(in: .whitespaces)
            if pair.count < 2 || line.contains("Max-Age=0") || line.lowercased().contains("expires=thu, 01 jan 1970") {
                cookies[name] = nil
            } else {
                cookies[name] = String(pair[1])
            }
        }
        if let range = res.body.range(of: "<meta name=\"csrf-token\" content=\"") {
            csrf = String(res.body[range.upperBound...].prefix(while: { $0 != "\"" }))
        }
        return Page(status: res.status, headers: res.headers, body: res.body)
    }

    /// Signs up or in through the pages.
    func signIn(_ username: String, password: String = Accounts.password) async throws {
        try await get("/login")
        let page = try await post("/login", ["username": username, "password": password])
        #expect(page.status == .seeOther, "sign-in of \(username) should redirect, got \(page.status): \(page.body.prefix(300))")
        try await get("/")
    }

    static func escape(_ s: String) -> String {
        s.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? s
    }
}

/// JSON over real HTTP with an optional bearer token.
func api(
    _ app: Application, _ method: HTTPMethod, _ path: String, token: String? = nil, json: [String: Any]? = nil,
    headers: HTTPHeaders = [:], body: ByteBuffer? = nil
) async throws -> (status: HTTPStatus, json: [String: Any], headers: HTTPHeaders) {
    var headers = headers
    if let token { headers.replaceOrAdd(name: .authorization, value: "Bearer \(token)") }
    var buffer = body
    if let json {
        headers.replaceOrAdd(name: .contentType, value: "application/json")
        buffer = ByteBuffer(data: try JSONSerialization.data(withJSONObject: json))
    }
    let res = try await LiveServer.send(app, method, path, headers: headers, body: buffer)
    let object = (try? JSONSerialization.jsonObject(with: Data(res.body.utf8))) as? [String: Any] ?? [:]
    return (res.status, object, res.headers)
}

/// The app listening on a free port for the rest of the test, and a client that never follows redirects.
enum LiveServer {
    private struct PortKey: StorageKey { typealias Value = Int }

    private static let starting = AsyncLock()

    static func port(_ app: Application) async throws -> Int {
        if let port = app.storage[PortKey.self] { return port }
        return try await starting.run { try await start(app) }
    }

    private static func start(_ app: Application) async throws -> Int {
        if let port = app.storage[PortKey.self] { return port }
        app.http.server.configuration.port = 0
        try await app.server.start(address: .hostname("127.0.0.1", port: 0))
        let port = try #require(app.http.server.shared.localAddress?.port)
        app.storage[PortKey.self] = port
        return port
    }

    /// Stops the listener `port` started (before the app shuts down, as Vapor requires).
    static func stop(_ app: Application) async {
        guard app.storage[PortKey.self] != nil else { return }
        await app.server.shutdown()
        app.storage[PortKey.self] = nil
    }

    static let client = HTTPClient(
        eventLoopGroupProvider: .singleton, configuration: .init(redirectConfiguration: .disallow, decompression: .disabled))

    static func send(_ app: Application, _ method: HTTPMethod, _ path: String, headers: HTTPHeaders, body: ByteBuffer?) async throws
        -> (status: HTTPStatus, headers: HTTPHeaders, body: String)
    {
        let port = try await port(app)
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
        request.method = method
        request.headers = headers
        if let body { request.body = .bytes(body) }
        let response = try await client.execute(request, timeout: .seconds(60))
        let bytes = try await response.body.collect(upTo: 64 << 20)
        return (response.status, response.headers, String(buffer: bytes))
    }
}
