import Foundation
import Media

/// A setting that could not be used; start-up stops with this message, which names the variable.
public struct ConfigError: Error, CustomStringConvertible {
    public let variable: String
    public let message: String
    public var description: String { "\(variable): \(message)" }
}

/// `HOST:PORT` for a listener (`[v6]:port` for IPv6 addresses).
public struct ListenAddress: Sendable, Equatable {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    public init?(_ text: String) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else { return nil }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty, !host.contains("/"), host.allSatisfy({ $0.isASCII && !$0.isWhitespace }) else { return nil }
        self.host = host
        self.port = port
    }
}

/// Where an S3-compatible bucket is and how to sign for it.
public struct ObjectStorageSettings: Sendable {
    public var location: S3Location
    public var accessKey: String
    public var secretKey: String
    public var sessionToken: String?

    static func load(_ env: [String: String]) throws -> ObjectStorageSettings? {
        guard let text = env["VIDEOTUBE_STORAGE"], !text.isEmpty, text != "local" else { return nil }
        let location: S3Location
        switch S3Location.parse(text) {
        case .success(let parsed): location = parsed
        case .failure(let problem):
            throw ConfigError(variable: "VIDEOTUBE_STORAGE", message: "\(problem); unset it (or set local) to keep media in the data folder")
        }
        var access = env["AWS_ACCESS_KEY_ID"].flatMap { $0.isEmpty ? nil : $0 }
        var secret = env["AWS_SECRET_ACCESS_KEY"].flatMap { $0.isEmpty ? nil : $0 }
        if let file = env["VIDEOTUBE_S3_CREDENTIALS_FILE"], !file.isEmpty {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
                throw ConfigError(variable: "VIDEOTUBE_S3_CREDENTIALS_FILE", message: "cannot read '\(file)'")
            }
            for line in text.split(whereSeparator: \.isNewline) {
                let parts = line.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                guard parts.count == 2 else { continue }
                if parts[0].lowercased() == "aws_access_key_id" { access = parts[1] }
                if parts[0].lowercased() == "aws_secret_access_key" { secret = parts[1] }
            }
        }
        guard let access, let secret else {
            throw ConfigError(
                variable: "AWS_ACCESS_KEY_ID",
                message: "VIDEOTUBE_STORAGE names a bucket but no credentials are set: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or VIDEOTUBE_S3_CREDENTIALS_FILE")
        }
        return ObjectStorageSettings(
            location: location, accessKey: access, secretKey: secret,
            sessionToken: env["AWS_SESSION_TOKEN"].flatMap { $0.isEmpty ? nil : $0 })
    }
}

/// All of Videotube's settings, read once from the environment (flags override host and port).
public struct AppConfig: Sendable {
    /// Holds the SQLite file, the signing secret and `media/`.
    public var dataDirectory: String
    /// `postgres://…` switches from SQLite to PostgreSQL.
    public var databaseURL: String?
    /// Use an in-memory SQLite database (tests).
    public var inMemoryDatabase: Bool
    public var host: String
    public var port: Int
    /// The sendfile media listener; 0 picks a free port.
    public var mediaPort: Int
    /// Public base URL of the media listener when it sits behind a proxy or CDN.
    public var mediaURL: String?
    /// The most bytes one open-ended range response carries.
    public var maxChunkBytes: Int64
    public var watchLog: Bool
    /// HMAC key for media URLs; from `VIDEOTUBE_SECRET` or a file made once in the data directory.
    public var secret: [UInt8]
    /// How long a signed media URL stays valid (seconds); URLs are rounded to the hour so browsers can cache them.
    public var mediaURLLifetime: Int64
    /// bcrypt work factor (4–16); each step doubles the time a sign-in takes.
    public var bcryptCost: Int
    /// How long a browser stays signed in without use, and how long an API token lives (days).
    public var sessionDays: Int
    public var tokenDays: Int
    /// Keep only the network part of addresses in the watch log (IPv4 /24, IPv6 /48).
    public var watchLogAnonymize: Bool
    /// The largest upload accepted (bytes), and how much one user may store in all (0: no quota).
    public var maxUploadBytes: Int64 = 10 << 30
    public var userQuotaBytes: Int64 = 0
    /// Seconds a connection to the site or the media listener may stay silent (no byte read or written) before it
    /// is closed: half-sent requests (slow-loris) and forgotten keep-alive connections hold nothing for long.
    public var idleTimeoutSeconds: Int64 = 75
    /// Private addresses and ranges URL imports may reach anyway (an internal media server), when private ones are
    /// not all allowed (`VIDEOTUBE_IMPORT_ALLOW_ADDRESSES`).
    public var importAllowedAddresses = TrustedProxies()
    /// How many videos this server process transcodes at once (0: this node runs no jobs).
    public var transcodeWorkers: Int = 1
    public var encoder = EncoderSettings()
    /// This process's name in the job queue; jobs it held when it died are taken back at its next start.
    public var nodeID: String = "local"
    /// Let URL imports reach loopback, private and link-local addresses (tests, a trusted LAN).
    public var importAllowPrivate = false
    /// Longest a URL import may take (seconds).
    public var importTimeout: Int = 1800
    /// The RTMP ingest port (OBS: `rtmp://HOST/live`); `serve --no-rtmp` turns it off.
    public var rtmpPort: Int = 1935
    /// Heights to transcode live streams to, beside the passed-through source (empty: passthrough only).
    public var liveLadder: [Int] = []
    /// What the live page plays (`VIDEOTUBE_LIVE_PLAYER`): `stream` (the chunked fMP4 stream, lowest latency),
    /// `llhls` (LL-HLS parts, which a CDN can cache) or `native` (the browser's own HLS player). `?player=` overrides.
    public var livePlayer = "stream"
    /// Reverse proxies whose `X-Forwarded-For` is believed (`VIDEOTUBE_TRUSTED_PROXIES`); none by default.
    public var trustedProxies = TrustedProxies()
    /// The site's public origin (`VIDEOTUBE_PUBLIC_URL`, e.g. `https://video.example.com`): absolute URLs are made
    /// from it instead of the request's `Host`, which a client (or a shared cache in front) controls.
    public var publicURL: String?
    /// `VIDEOTUBE_BENCH_FLOOR=on` (benchmarks only): `GET /bench/floor` answers the bytes `/all_videos` answered first,
    /// made once, so a benchmark can tell the stack's cost from a route's.
    public var benchFloor = false
    /// The folder holding `Resources/` and `Public/` (`VIDEOTUBE_RESOURCES`, or found by `ResourceLocator`);
    /// nil: looked up when the app is configured.
    public var resourcesDirectory: String?
    /// Where `/metrics` listens (`VIDEOTUBE_METRICS_ADDRESS`, default `127.0.0.1:9464`; `off`: nowhere).
    public var metricsAddress: ListenAddress? = nil
    /// A running job whose heartbeat is older than this (seconds) is taken back by another worker
    /// (`VIDEOTUBE_JOB_STALE_SECONDS`, default 60).
    public var jobStaleSeconds: Int = 60
    /// Object storage (`VIDEOTUBE_STORAGE=s3://BUCKET/PREFIX?endpoint=URL&region=R&path_style=1`); nil: the
    /// local media folder. Credentials from `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` (and `AWS_SESSION_TOKEN`),
    /// or a file named by `VIDEOTUBE_S3_CREDENTIALS_FILE` with `aws_access_key_id = …` and `aws_secret_access_key = …` lines.
    public var objectStorage: ObjectStorageSettings? = nil

    public var mediaDirectory: String { dataDirectory + "/media" }
    public var sqlitePath: String { dataDirectory + "/videotube.sqlite" }
    /// Live HLS being packaged, one folder per channel id (inside the media folder, so nodes sharing it share these).
    public var liveDirectory: String { mediaDirectory + "/live" }

    /// Reads the environment. Throws `ConfigError` naming the variable on a malformed value.
    /// The `--port`/`-p` value of a `serve` command line (`serve` is the default command), if any.
    static func portArgument(_ arguments: [String]) throws -> Int? {
        let words = Array(arguments.dropFirst())
        if let command = words.first, !command.hasPrefix("-"), command != "serve" { return nil }
        for (i, word) in words.enumerated() {
            var value: String?
            if word == "--port" || word == "-p" { value = i + 1 < words.count ? words[i + 1] : nil }
            if word.hasPrefix("--port=") { value = String(word.dropFirst("--port=".count)) }
            guard let value else { continue }
            guard let port = Int(value), (0...65535).contains(port) else {
                throw ConfigError(variable: "--port", message: "expected a port number 0-65535, got '\(value.prefix(20))'")
            }
            return port
        }
        return nil
    }

    /// `arguments`: the command line; `serve --port P` (or `-p P`) is the site's port for everything that names this
    /// node (its default node id, its URLs), as `PORT` would be.
    public static func load(
        environment env: [String: String] = ProcessInfo.processInfo.environment, arguments: [String] = CommandLine.arguments
    ) throws -> AppConfig {
        let dataDirectory = env["VIDEOTUBE_DATA_DIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "./data"
        let databaseURL = env["DATABASE_URL"].flatMap { $0.isEmpty ? nil : $0 }
        if let url = databaseURL {
            guard url.hasPrefix("postgres://") || url.hasPrefix("postgresql://"), URL(string: url)?.host != nil else {
                throw ConfigError(
                    variable: "DATABASE_URL",
                    message: "expected postgres://USER:PASSWORD@HOST:PORT/DATABASE, got '\(url)'; unset it to use SQLite")
            }
        }
        let port = try Self.portArgument(arguments) ?? integer(env, "PORT", default: 8080, range: 0...65535)
        let mediaPort = try integer(env, "VIDEOTUBE_MEDIA_PORT", default: 8081, range: 0...65535)
        let maxChunk = try integer(env, "VIDEOTUBE_MAX_CHUNK_BYTES", default: 8 << 20, range: 1024...(1 << 40))
        let lifetime = try integer(env, "VIDEOTUBE_MEDIA_URL_LIFETIME", default: 6 * 3600, range: 60...(30 * 86400))
        let mediaURL = try baseURL(env, "VIDEOTUBE_MEDIA_URL", example: "https://media.example.com")
        let publicURL = try baseURL(env, "VIDEOTUBE_PUBLIC_URL", example: "https://video.example.com")
        let proxiesText = env["VIDEOTUBE_TRUSTED_PROXIES"] ?? ""
        guard let trustedProxies = TrustedProxies(list: proxiesText) else {
            throw ConfigError(
                variable: "VIDEOTUBE_TRUSTED_PROXIES",
                message: "expected addresses or ranges such as 127.0.0.1,10.0.0.0/8,::1, got '\(proxiesText)'")
        }
        let watchLog = try flag(env, "VIDEOTUBE_WATCH_LOG", default: true)
        let anonymize = try flag(env, "VIDEOTUBE_WATCH_LOG_ANONYMIZE", default: false)
        let bcryptCost = try integer(env, "VIDEOTUBE_BCRYPT_COST", default: 12, range: 4...16)
        let sessionDays = try integer(env, "VIDEOTUBE_SESSION_DAYS", default: 30, range: 1...3650)
        let tokenDays = try integer(env, "VIDEOTUBE_TOKEN_DAYS", default: 90, range: 1...3650)
        let maxUpload = try integer(env, "VIDEOTUBE_MAX_UPLOAD_BYTES", default: 10 << 30, range: 1024...(1 << 44))
        let quota = try integer(env, "VIDEOTUBE_USER_QUOTA_BYTES", default: 0, range: 0...(1 << 50))
        let workers = try integer(env, "VIDEOTUBE_TRANSCODE_WORKERS", default: 1, range: 0...32)
        let segment = try integer(env, "VIDEOTUBE_HLS_SEGMENT_SECONDS", default: 4, range: 1...12)
        let preset = env["VIDEOTUBE_X264_PRESET"].flatMap { $0.isEmpty ? nil : $0 } ?? "veryfast"
        guard EncoderSettings.presets.contains(preset) else {
            throw ConfigError(
                variable: "VIDEOTUBE_X264_PRESET", message: "expected one of \(EncoderSettings.presets.joined(separator: ", ")), got '\(preset)'")
        }
        let rungs = try heights(env, "VIDEOTUBE_LADDER") ?? EncoderSettings.standardRungs
        let liveLadder = try heights(env, "VIDEOTUBE_LIVE_LADDER") ?? []
        let livePlayer = env["VIDEOTUBE_LIVE_PLAYER"].flatMap { $0.isEmpty ? nil : $0 } ?? "stream"
        guard ["stream", "llhls", "native"].contains(livePlayer) else {
            throw ConfigError(variable: "VIDEOTUBE_LIVE_PLAYER", message: "expected stream, llhls or native, got '\(livePlayer)'")
        }
        let rtmpPort = try integer(env, "VIDEOTUBE_RTMP_PORT", default: 1935, range: 0...65535)
        let metricsText = env["VIDEOTUBE_METRICS_ADDRESS"].flatMap { $0.isEmpty ? nil : $0 } ?? "127.0.0.1:9464"
        var metricsAddress: ListenAddress?
        if metricsText.lowercased() != "off" {
            guard let parsed = ListenAddress(metricsText) else {
                throw ConfigError(
                    variable: "VIDEOTUBE_METRICS_ADDRESS", message: "expected HOST:PORT such as 127.0.0.1:9464 or [::1]:9464, or off; got '\(metricsText)'")
            }
            metricsAddress = parsed
        }
        let staleSeconds = try integer(env, "VIDEOTUBE_JOB_STALE_SECONDS", default: 60, range: 3...86400)
        let objectStorage = try ObjectStorageSettings.load(env)
        let allowPrivate = try flag(env, "VIDEOTUBE_IMPORT_ALLOW_PRIVATE", default: false)
        let importTimeout = try integer(env, "VIDEOTUBE_IMPORT_TIMEOUT", default: 1800, range: 5...86400)
        var secret: [UInt8] = []
        if let value = env["VIDEOTUBE_SECRET"], !value.isEmpty {
            guard value.utf8.count >= 32 else {
                throw ConfigError(
                    variable: "VIDEOTUBE_SECRET", message: "must be at least 32 characters (try: openssl rand -hex 32)")
            }
            secret = Array(value.utf8)
        }
        let idleTimeout = try integer(env, "VIDEOTUBE_IDLE_TIMEOUT_SECONDS", default: 75, range: 1...3600)
        var config = AppConfig(
            dataDirectory: dataDirectory, databaseURL: databaseURL, inMemoryDatabase: false,
            host: env["HOST"].flatMap { $0.isEmpty ? nil : $0 } ?? "127.0.0.1", port: port, mediaPort: mediaPort,
            mediaURL: mediaURL, maxChunkBytes: Int64(maxChunk), watchLog: watchLog, secret: secret,
            mediaURLLifetime: Int64(lifetime), bcryptCost: bcryptCost, sessionDays: sessionDays, tokenDays: tokenDays,
            watchLogAnonymize: anonymize, maxUploadBytes: Int64(maxUpload), userQuotaBytes: Int64(quota),
            transcodeWorkers: workers, encoder: EncoderSettings(preset: preset, segmentSeconds: segment, rungs: rungs),
            nodeID: env["VIDEOTUBE_NODE_ID"].flatMap { $0.isEmpty ? nil : $0 }
                ?? "\(ProcessInfo.processInfo.hostName):\(port)",
            importAllowPrivate: allowPrivate, importTimeout: importTimeout, rtmpPort: rtmpPort, liveLadder: liveLadder,
            livePlayer: livePlayer, trustedProxies: trustedProxies, publicURL: publicURL,
            benchFloor: try flag(env, "VIDEOTUBE_BENCH_FLOOR", default: false),
            resourcesDirectory: try ResourceLocator.locate(environment: env), metricsAddress: metricsAddress,
            jobStaleSeconds: staleSeconds, objectStorage: objectStorage)
        config.idleTimeoutSeconds = Int64(idleTimeout)
        let allowedText = env["VIDEOTUBE_IMPORT_ALLOW_ADDRESSES"] ?? ""
        guard let allowed = TrustedProxies(list: allowedText) else {
            throw ConfigError(
                variable: "VIDEOTUBE_IMPORT_ALLOW_ADDRESSES", message: "expected addresses or ranges such as 10.0.0.7,192.168.1.0/24, got '\(allowedText)'")
        }
        config.importAllowedAddresses = allowed
        return config
    }

    /// An http(s) base URL without a trailing slash; nil when unset.
    private static func baseURL(_ env: [String: String], _ name: String, example: String) throws -> String? {
        guard var url = env[name], !url.isEmpty else { return nil }
        guard let parsed = URL(string: url), ["http", "https"].contains(parsed.scheme ?? ""), parsed.host != nil,
            parsed.query == nil, parsed.fragment == nil
        else {
            throw ConfigError(variable: name, message: "expected an http(s) URL such as \(example), got '\(url)'")
        }
        while url.hasSuffix("/") { url.removeLast() }
        return url
    }

    private static func flag(_ env: [String: String], _ name: String, default value: Bool) throws -> Bool {
        switch env[name]?.lowercased() {
        case nil, "": return value
        case "on", "true", "1", "yes": return true
        case "off", "false", "0", "no": return false
        case let other?: throw ConfigError(variable: name, message: "expected on or off, got '\(other)'")
        }
    }

    /// `240,480,720` (or `240p,…`): heights for a ladder; nil when unset.
    private static func heights(_ env: [String: String], _ name: String) throws -> [Int]? {
        guard let text = env[name], !text.isEmpty else { return nil }
        let parsed = text.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: "p", with: "")) }
        guard !parsed.isEmpty, parsed.allSatisfy({ ($0 ?? 0) >= 64 && ($0 ?? 0) <= 4320 }) else {
            throw ConfigError(variable: name, message: "expected heights such as 240,480,720,1080, got '\(text)'")
        }
        return parsed.compactMap { $0 }.sorted()
    }

    private static func integer(_ env: [String: String], _ name: String, default value: Int, range: ClosedRange<Int>) throws -> Int {
        guard let text = env[name], !text.isEmpty else { return value }
        guard let number = Int(text), range.contains(number) else {
            throw ConfigError(variable: name, message: "expected a whole number from \(range.lowerBound) to \(range.upperBound), got '\(text)'")
        }
        return number
    }

    /// Creates the data directory and, when no `VIDEOTUBE_SECRET` is set, loads or makes `secret.key` in it.
    public mutating func prepareDataDirectory() throws {
        do {
            try FileManager.default.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true)
        } catch {
            throw ConfigError(variable: "VIDEOTUBE_DATA_DIR", message: "cannot create '\(dataDirectory)': \(error.localizedDescription)")
        }
        guard secret.isEmpty else { return }
        let path = dataDirectory + "/secret.key"
        if let existing = FileManager.default.contents(atPath: path), existing.count >= 32 {
            secret = Array(existing)
            return
        }
        var g = SystemRandomNumberGenerator()
        let fresh = (0..<32).map { _ in UInt8.random(in: 0...255, using: &g) }
        guard FileManager.default.createFile(atPath: path, contents: Data(fresh), attributes: [.posixPermissions: 0o600]) else {
            throw ConfigError(variable: "VIDEOTUBE_DATA_DIR", message: "cannot write '\(path)': check the folder's permissions")
        }
        secret = fresh
    }

    /// Settings for tests: in-memory SQLite (or `DATABASE_URL`), a temp data directory, a fixed secret.
    public static func testing(dataDirectory: String, databaseURL: String? = nil) -> AppConfig {
        AppConfig(
            dataDirectory: dataDirectory, databaseURL: databaseURL, inMemoryDatabase: databaseURL == nil,
            host: "127.0.0.1", port: 0, mediaPort: 0, mediaURL: nil, maxChunkBytes: 8 << 20, watchLog: true,
            secret: Array("test-secret-test-secret-test-secret!".utf8), mediaURLLifetime: 3600, bcryptCost: 4,
            sessionDays: 30, tokenDays: 90, watchLogAnonymize: false, maxUploadBytes: 1 << 30, userQuotaBytes: 0,
            transcodeWorkers: 0, encoder: EncoderSettings(preset: "ultrafast", segmentSeconds: 2, rungs: [240, 360]),
            nodeID: "test", importAllowPrivate: false, importTimeout: 60, rtmpPort: 0, liveLadder: [])
    }
}
