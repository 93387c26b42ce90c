public import Foundation

#if canImport(Glibc)
internal import Glibc
#elseif canImport(Darwin)
internal import Darwin
#endif

/// Why a webhook URL or its address is refused.
public struct WebhookTargetError: Error, Sendable, Equatable, CustomStringConvertible {
    public let reason: String
    public var description: String { reason }

    public init(reason: String) {
        self.reason = reason
    }
}

/// The SSRF guard of webhook delivery, its pure rules (docs/events.md#private-address-refusal). A
/// webhook URL must be https and must resolve only to public unicast addresses. Loopback, private,
/// link-local, CGNAT, unspecified, multicast, reserved and IPv4-mapped or -embedded forms of those are
/// refused, unless the endpoint's environment is sandbox and its webhook settings allow private
/// targets (then http and private addresses are allowed). `inet_pton` parses address literals; it
/// does no I/O. Resolving names is the server's part (`checkAtDelivery`).
public enum WebhookTargetGuard {
    public static let maxURLLength = 2048

    /// Checks a URL at registration, and before each delivery. Hostnames are resolved only at
    /// delivery (`checkAtDelivery`, in the server), since DNS may change.
    public static func validate(_ text: String, allowPrivate: Bool) throws(WebhookTargetError) -> URL {
        guard text.utf8.count <= maxURLLength, let url = URL(string: text), let scheme = url.scheme?.lowercased() else {
            throw WebhookTargetError(reason: "url must be an absolute http(s) URL")
        }
        guard scheme == "https" || (scheme == "http" && allowPrivate) else {
            throw WebhookTargetError(reason: allowPrivate ? "url must use http or https" : "url must use https")
        }
        guard url.user == nil, url.password == nil else { throw WebhookTargetError(reason: "url must not carry credentials") }
        guard url.fragment == nil else { throw WebhookTargetError(reason: "url must not have a fragment") }
        guard let host = host(of: url), !host.isEmpty else { throw WebhookTargetError(reason: "url must have a host") }
        if !allowPrivate {
            let lowered = host.lowercased()
            if lowered == "localhost" || lowered.hasSuffix(".localhost") || lowered.hasSuffix(".local") || lowered.hasSuffix(".internal") {
                throw WebhookTargetError(reason: "url host \(host) is not a public address")
            }
            if let address = IPAddress(literal: host), let refusal = address.refusal {
                throw WebhookTargetError(reason: "url host \(host) is \(refusal)")
            }
        }
        return url
    }

    /// Whether an environment may let its endpoints target private addresses at all: only sandbox.
    public static func privateTargetsPermitted(in environment: Environment) -> Bool {
        environment == .sandbox
    }

    /// The URL's host without IPv6 brackets.
    package static func host(of url: URL) -> String? {
        guard var host = url.host(percentEncoded: false) else { return nil }
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return host
    }
}

/// An IPv4 or IPv6 address as network-order bytes.
public enum IPAddress: Sendable, Hashable, CustomStringConvertible {
    case v4([UInt8])
    case v6([UInt8])

    /// Parses a numeric address (no brackets, no zone).
    public init?(literal: String) {
        var v4 = in_addr()
        if inet_pton(AF_INET, literal, &v4) == 1 {
            self = .v4(withUnsafeBytes(of: &v4) { Array($0) })
            return
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, literal, &v6) == 1 {
            self = .v6(withUnsafeBytes(of: &v6) { Array($0) })
            return
        }
        return nil
    }

    public var description: String {
        switch self {
        case .v4(let b): return b.map(String.init).joined(separator: ".")
        case .v6(let b):
            return stride(from: 0, to: 16, by: 2).map { String(UInt16(b[$0]) << 8 | UInt16(b[$0 + 1]), radix: 16) }.joined(separator: ":")
        }
    }

    /// Why this address must not be a webhook target; nil for a public unicast address.
    public var refusal: String? {
        switch self {
        case .v4(let b): return Self.v4Refusal(b)
        case .v6(let b): return Self.v6Refusal(b)
        }
    }

    private static func v4Refusal(_ b: [UInt8]) -> String? {
        switch (b[0], b[1]) {
        case (0, _): return "an unspecified address"
        case (10, _): return "a private address"
        case (100, 64...127): return "a shared (CGNAT) address"
        case (127, _): return "a loopback address"
        case (169, 254): return "a link-local address"
        case (172, 16...31): return "a private address"
        case (192, 168): return "a private address"
        case (192, 0) where b[2] == 0: return "a reserved address"
        case (198, 18...19): return "a reserved address"
        case (224...239, _): return "a multicast address"
        case (240...255, _): return "a reserved address"
        default: return nil
        }
    }

    private static func v6Refusal(_ b: [UInt8]) -> String? {
        let leadingZeros = b.prefix(10).allSatisfy { $0 == 0 }
        if leadingZeros && b[10] == 0xFF && b[11] == 0xFF {
            return v4Refusal(Array(b[12..<16])).map { "an IPv4-mapped form of \($0)" }
        }
        if b.prefix(15).allSatisfy({ $0 == 0 }) {
            return b[15] == 0 ? "an unspecified address" : (b[15] == 1 ? "a loopback address" : "a reserved address")
        }
        if leadingZeros && b[10] == 0 && b[11] == 0 { return "a deprecated IPv4-compatible address" }
        // 64:ff9b::/96 (NAT64) and 2002::/16 (6to4) embed an IPv4 address that is reached in the end.
        if b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xFF && b[3] == 0x9B && b[4..<12].allSatisfy({ $0 == 0 }) {
            return v4Refusal(Array(b[12..<16])).map { "a NAT64 form of \($0)" }
        }
        if b[0] == 0x20 && b[1] == 0x02 { return v4Refusal(Array(b[2..<6])).map { "a 6to4 form of \($0)" } }
        if b[0] & 0xFE == 0xFC { return "a private (unique local) address" }
        if b[0] == 0xFE && b[1] & 0xC0 == 0x80 { return "a link-local address" }
        if b[0] == 0xFE && b[1] & 0xC0 == 0xC0 { return "a site-local address" }
        if b[0] == 0xFF { return "a multicast address" }
        return nil
    }
}
