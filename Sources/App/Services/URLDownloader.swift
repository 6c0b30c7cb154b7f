import AsyncHTTPClient
import Foundation
import Logging
import Media
import NIOCore
import NIOHTTP1
import NIOPosix

#if canImport(Glibc)
import Glibc
#endif

/// Downloads a video from an http(s) URL into a file, streaming, with a size limit and a deadline.
///
/// Every hop is checked: the host is resolved, every address it has must pass `AddressPolicy` (unless private
/// addresses are allowed), and the connection goes to the address that was checked (AsyncHTTPClient's
/// `dnsOverride`, which keeps TLS verifying the host name), so a second DNS answer cannot swap in an internal
/// address. Redirects are followed by hand, at most 5, each checked the same way.
public struct URLDownloader: Sendable {
    public var allowPrivate: Bool
    public var maxBytes: Int64
    public var timeout: TimeInterval
    public var eventLoopGroup: any EventLoopGroup
    public var logger: Logger

    /// Private addresses allowed even so (each hop of a redirect is checked against this too).
    public var allowedAddresses: TrustedProxies

    public init(
        allowPrivate: Bool, allowedAddresses: TrustedProxies = TrustedProxies(), maxBytes: Int64, timeout: TimeInterval,
        eventLoopGroup: any EventLoopGroup, logger: Logger
    ) {
        self.allowPrivate = allowPrivate
        self.allowedAddresses = allowedAddresses
        self.maxBytes = maxBytes
        self.timeout = timeout
        self.eventLoopGroup = eventLoopGroup
        self.logger = logger
    }

    /// Checks a URL's shape and its host's addresses; returns the address to connect to.
    public func vet(_ url: URL) async throws -> String {
        guard let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https" else {
            throw ImportFailure("only http:// and https:// addresses can be imported")
        }
        guard let host = url.host, !host.isEmpty else { throw ImportFailure("the address has no host name") }
        let bare = host.hasPrefix("[") ? String(host.dropFirst().dropLast()) : host
        let addresses = AddressPolicy.refusal(bare) == "not an IP address" ? try await AddressPolicy.resolve(bare) : [bare]
        guard let first = addresses.first else { throw ImportFailure("\(host) has no addresses") }
        if !allowPrivate {
            for address in addresses where !allowedAddresses.isTrusted(address) {
                if let why = AddressPolicy.refusal(address) {
                    throw ImportFailure(
                        "\(host) is \(address), \(why); imports only reach public servers (an operator can set VIDEOTUBE_IMPORT_ALLOW_PRIVATE=on)")
                }
            }
        }
        return first
    }

    /// Downloads `address` to `path`; returns the file name the URL suggests.
    public func download(_ address: String, to path: String) async throws -> String {
        guard var url = URL(string: address.trimmingCharacters(in: .whitespaces)) else {
            throw ImportFailure("'\(address.prefix(100))' is not a URL")
        }
        let deadline = NIODeadline.now() + .seconds(Int64(timeout))
        for _ in 0...5 {
            let ip = try await vet(url)
            var configuration = HTTPClient.Configuration(redirectConfiguration: .disallow, timeout: .init(connect: .seconds(10), read: .seconds(60)))
            if let host = url.host, AddressPolicy.refusal(host) == "not an IP address" { configuration.dnsOverride = [host: ip] }
            configuration.decompression = .disabled
            let client = HTTPClient(eventLoopGroupProvider: .shared(eventLoopGroup), configuration: configuration)
            do {
                var request = HTTPClientRequest(url: url.absoluteString)
                request.headers.add(name: "User-Agent", value: "Videotube/1 (video import)")
                let response = try await client.execute(request, deadline: deadline)
                if (300..<400).contains(response.status.code), let location = response.headers.first(name: "Location"),
                    let next = URL(string: location, relativeTo: url)?.absoluteURL
                {
                    try? await client.shutdown()
                    url = next
                    continue
                }
                guard response.status == .ok else {
                    try? await client.shutdown()
                    throw ImportFailure("the server answered \(response.status.code) \(response.status.reasonPhrase) for \(url.absoluteString.prefix(200))")
                }
                if let length = response.headers.first(name: "Content-Length").flatMap(Int64.init), length > maxBytes {
                    try? await client.shutdown()
                    throw ImportFailure("the file is \(Formatting.bytes(length)); imports can be at most \(Formatting.bytes(maxBytes))")
                }
                guard let handle = FileHandle(forWritingAtPath: path) ?? {
                    FileManager.default.createFile(atPath: path, contents: nil)
                    return FileHandle(forWritingAtPath: path)
                }() else {
                    try? await client.shutdown()
                    throw ImportFailure("cannot write the download to storage")
                }
                var written: Int64 = 0
                do {
                    for try await chunk in response.body {
                        written += Int64(chunk.readableBytes)
                        if written > maxBytes { throw ImportFailure("the download went past \(Formatting.bytes(maxBytes)), the most an import may have") }
                        try handle.write(contentsOf: chunk.readableBytesView)
                    }
                    try handle.close()
                } catch {
                    try? handle.close()
                    throw error
                }
                try? await client.shutdown()
                let name = url.lastPathComponent
                return name == "/" ? "" : name
            } catch let error as ImportFailure {
                try? await client.shutdown()
                throw error
            } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout {
                try? await client.shutdown()
                throw ImportFailure("the download did not finish within \(Int(timeout)) s (VIDEOTUBE_IMPORT_TIMEOUT)")
            } catch {
                try? await client.shutdown()
                throw ImportFailure("could not download \(url.absoluteString.prefix(200)): \(error)")
            }
        }
        throw ImportFailure("more than 5 redirects")
    }
}
