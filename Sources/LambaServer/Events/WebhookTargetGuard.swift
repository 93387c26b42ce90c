public import Foundation
public import LambaModel

#if canImport(Glibc)
internal import Glibc
#elseif canImport(Darwin)
internal import Darwin
#endif

/// The I/O half of the SSRF guard: resolving a webhook URL's host before each attempt. The address
/// rules it applies are the domain's (`LambaModel/Events/WebhookTargetRules.swift`,
/// docs/events.md#private-address-refusal).
extension WebhookTargetGuard {
    /// Resolves the URL's host and checks every address it resolves to; run before each attempt.
    public static func checkAtDelivery(_ text: String, allowPrivate: Bool) async throws -> URL {
        let url = try validate(text, allowPrivate: allowPrivate)
        guard !allowPrivate, let host = host(of: url) else { return url }
        let addresses = try await resolve(host)
        guard !addresses.isEmpty else { throw WebhookTargetError(reason: "url host \(host) did not resolve") }
        for address in addresses {
            if let refusal = address.refusal { throw WebhookTargetError(reason: "url host \(host) resolves to \(address), \(refusal)") }
        }
        return url
    }

    /// getaddrinfo blocks, so it runs on a Dispatch thread, never on the cooperative pool.
    public static func resolve(_ host: String) async throws -> [IPAddress] {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                var hints = addrinfo()
                hints.ai_family = AF_UNSPEC
                #if canImport(Glibc)
                hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
                #else
                hints.ai_socktype = SOCK_STREAM
                #endif
                var list: UnsafeMutablePointer<addrinfo>?
                let status = getaddrinfo(host, nil, &hints, &list)
                guard status == 0 else {
                    let message = gai_strerror(status).map { String(cString: $0) } ?? "error \(status)"
                    continuation.resume(throwing: WebhookTargetError(reason: "url host \(host) did not resolve: \(message)"))
                    return
                }
                defer { freeaddrinfo(list) }
                var addresses: [IPAddress] = []
                var entry = list
                while let current = entry {
                    if let sockaddr = current.pointee.ai_addr {
                        switch current.pointee.ai_family {
                        case AF_INET:
                            sockaddr.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { pointer in
                                var address = pointer.pointee.sin_addr
                                addresses.append(.v4(withUnsafeBytes(of: &address) { Array($0) }))
                            }
                        case AF_INET6:
                            sockaddr.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { pointer in
                                var address = pointer.pointee.sin6_addr
                                addresses.append(.v6(withUnsafeBytes(of: &address) { Array($0) }))
                            }
                        default:
                            break
                        }
                    }
                    entry = current.pointee.ai_next
                }
                continuation.resume(returning: addresses)
            }
        }
    }
}
