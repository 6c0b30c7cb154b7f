// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "videotube",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "videotube", targets: ["videotube"]),
        .library(name: "App", targets: ["App"]),
        .library(name: "Media", targets: ["Media"]),
        .library(name: "RTMP", targets: ["RTMP"]),
    ],
    dependencies: [
        .package(url: "https://github.com/vapor/vapor.git", from: "4.122.3"),
        .package(url: "https://github.com/vapor/fluent.git", from: "4.13.0"),
        .package(url: "https://github.com/vapor/fluent-sqlite-driver.git", from: "4.9.0"),
        .package(url: "https://github.com/vapor/fluent-postgres-driver.git", from: "2.14.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/vapor/leaf.git", from: "4.5.2"),
        .package(url: "https://github.com/vapor/leaf-kit.git", from: "1.14.3"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/adam-fowler/compress-nio.git", from: "1.5.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
    ],
    targets: [
        /// The Linux calls the media listener needs that Glibc does not export (epoll, eventfd, sendfile, accept4).
        .target(name: "CMediaIO"),
        /// Media knows nothing of Vapor: range planning, signed URLs, the sendfile listener, ffmpeg runners, storage.
        .target(
            name: "Media",
            dependencies: [
                "CMediaIO",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                // Object storage (S3-compatible) over HTTP, signed with our own SigV4.
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]
        ),
        /// RTMP ingest, no Vapor and no I/O in the parsers: handshake, chunk streams, AMF0 (fuzzable).
        .target(
            name: "RTMP",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        /// The Vapor web application: pages, API, commands, database.
        .target(
            name: "App",
            dependencies: [
                "Media",
                "RTMP",
                .product(name: "Vapor", package: "vapor"),
                .product(name: "Fluent", package: "fluent"),
                .product(name: "FluentSQLiteDriver", package: "fluent-sqlite-driver"),
                .product(name: "FluentPostgresDriver", package: "fluent-postgres-driver"),
                // Chat sockets get their own upgrader (bounded message assembly).
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "Leaf", package: "leaf"),
                .product(name: "LeafKit", package: "leaf-kit"),
                // URL imports: per-request DNS pinning (`dnsOverride`) after the address check, no redirects followed blindly.
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                // Static assets gzipped once at start (zlib).
                .product(name: "CompressNIO", package: "compress-nio"),
                // `/metrics` on its own listener; Vapor's request counters and timers reach it through swift-metrics.
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Metrics", package: "swift-metrics"),
            ]
        ),
        .executableTarget(name: "videotube", dependencies: ["App"]),
        .testTarget(
            name: "MediaTests",
            dependencies: [
                "Media", .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ]),
        .testTarget(
            name: "RTMPTests",
            dependencies: ["RTMP", .product(name: "NIOPosix", package: "swift-nio"), .product(name: "Logging", package: "swift-log")]
        ),
        .testTarget(
            name: "AppTests",
            dependencies: [
                "App",
                .product(name: "VaporTesting", package: "vapor"),
                // A client that does not follow redirects, to see the 303s and cookies a browser would.
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                // A socket without a network, to be a chat reader that stops reading.
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
