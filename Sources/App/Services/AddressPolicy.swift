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
