import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix

#if canImport(Glibc)
import Glibc
#endif

/// Which addresses a server-side fetch may reach. Everything that is not public unicast — loopback, private
/// (RFC 1918, unique-local), link-local (where cloud metadata lives: 169.254.169.254, fd00:ec2::254), carrier-grade
/// NAT, multicast, documentation and reserved ranges — is refused unless the operator allows private addresses.
public enum AddressPolicy {
    /// Why `address` (numeric IPv4 or IPv6) may not be fetched, or nil when it is a public address.
    public static func refusal(_ address: String) -> String? {
        var v4 = in_addr()
        if inet_pton(AF_INET, address, &v4) == 1 {
            return refusal(ipv4: withUnsafeBytes(of: v4.s_addr) { Array($0) })
        }
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, address.split(separator: "%").first.map(String.init) ?? address, &v6) == 1 else {
            return "not an IP address"
        }
        return refusal(ipv6: withUnsafeBytes(of: v6) { Array($0) })
    }

    static func refusal(ipv4 b: [UInt8]) -> String? {
        switch (b[0], b[1], b[2]) {
        case (0, _, _): return "a 'this network' address"
        case (10, _, _), (172, 16...31, _), (192, 168, _): return "a private address"
        case (127, _, _): return "a loopback address"
        case (169, 254, _): return "a link-local address (cloud metadata lives there)"
        case (100, 64...127, _): return "a carrier-grade NAT address"
        case (192, 0, 0), (192, 0, 2), (198, 51, 100), (203, 0, 113), (198, 18...19, _): return "a reserved address"
        case (224...255, _, _): return "a multicast or reserved address"
        default: return nil
        }
    }

    static func refusal(ipv6 b: [UInt8]) -> String? {
        let zeros10 = b[0..<10].allSatisfy { $0 == 0 }
        if b.allSatisfy({ $0 == 0 }) { return "the unspecified address" }
        if b[0..<15].allSatisfy({ $0 == 0 }) && b[15] == 1 { return "a loopback address" }
        if zeros10 && b[10] == 0xFF && b[11] == 0xFF { return refusal(ipv4: Array(b[12..<16])) }  // ::ffff:a.b.c.d
        if zeros10 && b[10] == 0 && b[11] == 0 { return refusal(ipv4: Array(b[12..<16])) ?? "a deprecated IPv4-compatible address" }
        if b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xFF && b[3] == 0x9B { return refusal(ipv4: Array(b[12..<16])) }  // NAT64
        if b[0] == 0xFE && (b[1] & 0xC0) == 0x80 { return "a link-local address" }
        if b[0] == 0xFE && (b[1] & 0xC0) == 0xC0 { return "a site-local address" }
        if (b[0] & 0xFE) == 0xFC { return "a private (unique-local) address" }
        if b[0] == 0xFF { return "a multicast address" }
        if b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0D && b[3] == 0xB8 { return "a documentation address" }
        return nil
    }

    /// The host's addresses as numeric strings (getaddrinfo, on a thread of its own: it blocks).
    public static func resolve(_ host: String) async throws -> [String] {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                var hints = addrinfo()
                hints.ai_family = AF_UNSPEC
                hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
                var result: UnsafeMutablePointer<addrinfo>?
                let status = getaddrinfo(host, nil, &hints, &result)
                guard status == 0, let first = result else {
                    continuation.resume(throwing: ImportFailure("cannot find the server \(host) (DNS: \(String(cString: gai_strerror(status))))"))
                    return
                }
                defer { freeaddrinfo(first) }
                var addresses: [String] = []
                var cursor: UnsafeMutablePointer<addrinfo>? = first
                while let entry = cursor {
                    var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
                    if entry.pointee.ai_family == AF_INET {
                        entry.pointee.ai_addr.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { sin in
                            var a = sin.pointee.sin_addr
                            _ = inet_ntop(AF_INET, &a, &buffer, socklen_t(buffer.count))
                        }
                    } else if entry.pointee.ai_family == AF_INET6 {
                        entry.pointee.ai_addr.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { sin6 in
                            var a = sin6.pointee.sin6_addr
                            _ = inet_ntop(AF_INET6, &a, &buffer, socklen_t(buffer.count))
                        }
                    }
                    let text = String(cString: buffer)
                    if !text.isEmpty && !addresses.contains(text) { addresses.append(text) }
                    cursor = entry.pointee.ai_next
                }
                continuation.resume(returning: addresses)
            }
        }
    }
}

/// Why an import could not be done, in words for the person who asked.
public struct ImportFailure: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

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

    public init(allowPrivate: Bool, maxBytes: Int64, timeout: TimeInterval, eventLoopGroup: any EventLoopGroup, logger: Logger) {
        self.allowPrivate = allowPrivate
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
            for address in addresses {
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
