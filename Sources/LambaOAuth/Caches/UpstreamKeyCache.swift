import Foundation
import LambaJOSE
import LambaModel
import Synchronization

/// The discovery documents and JWK Sets of social providers, so that a sign-in does not fetch them
/// each time. Signing key rotation (OIDC Core §10.1.1): a provider publishes new keys in its JWK
/// Set, and a relying party that meets a `kid` it does not hold fetches the set again.
///
/// - Entries are keyed by provider id, issuer and environment: a provider pointed at another issuer
///   never sees the keys of the former one.
/// - An entry lives as long as the upstream's `Cache-Control: max-age` says, clamped to 1 min…24 h
///   (1 h without one; `no-store` and `no-cache` count as the minimum).
/// - An unknown `kid` forces at most one fetch per provider per `refetchInterval`, so tokens with
///   made-up kids cannot make Lamba hammer the upstream.
/// - A failed fetch throws and leaves the cache as it was.
final class UpstreamKeyCache: Sendable {
    struct Key: Hashable, Sendable {
        let providerID: String
        let issuer: String
        let environment: Environment

        init(_ provider: UpstreamProvider) {
            providerID = provider.id
            issuer = provider.issuer
            environment = provider.environment
        }
    }

    struct Cached<Value: Sendable>: Sendable {
        let value: Value
        let expiresAt: Date
    }

    struct Entry: Sendable {
        var metadata: Cached<UpstreamMetadata>?
        var jwks: Cached<JWKSet>?
        /// The `jwks_uri` the set was read from: another one in newer metadata makes it stale.
        var jwksURI: String?
        var lastForcedRefetch: Date?
    }

    static let minimumLifetime: TimeInterval = 60
    static let maximumLifetime: TimeInterval = 86_400
    static let defaultLifetime: TimeInterval = 3_600
    static let refetchInterval: TimeInterval = 30

    let capacity: Int
    private let entries = Mutex<[Key: Entry]>([:])

    init(capacity: Int = 1024) {
        self.capacity = capacity
    }

    /// The provider's discovery metadata (OIDC Discovery §4), cached.
    func metadata(_ http: any UpstreamHTTPClient, _ provider: UpstreamProvider, now: Date) async throws(UpstreamError) -> UpstreamMetadata {
        let key = Key(provider)
        if let cached = entries.withLock({ $0[key]?.metadata }), cached.expiresAt > now { return cached.value }
        let (metadata, cacheControl) = try await UpstreamDiscovery.fetchCacheable(http, issuer: provider.issuer, environment: provider.environment)
        update(key) { $0.metadata = Cached(value: metadata, expiresAt: now.addingTimeInterval(Self.lifetime(cacheControl))) }
        return metadata
    }

    /// The provider's JWK Set, cached; fetched again before expiry when it lacks `kid`, unless a
    /// forced fetch for this provider happened within `refetchInterval` (the cached set is returned
    /// then, and verification refuses the token).
    func keys(_ http: any UpstreamHTTPClient, _ metadata: UpstreamMetadata, _ provider: UpstreamProvider, kid: String?,
              now: Date) async throws(UpstreamError) -> JWKSet {
        let key = Key(provider)
        let cached = entries.withLock { entries -> JWKSet? in
            guard var entry = entries[key], let jwks = entry.jwks, entry.jwksURI == metadata.jwksURI, jwks.expiresAt > now else { return nil }
            guard let kid, !jwks.value.keys.contains(where: { $0.kid == kid }) else { return jwks.value }
            if let last = entry.lastForcedRefetch, now.timeIntervalSince(last) < Self.refetchInterval { return jwks.value }
            // Counted before the fetch, so concurrent misses and failed fetches spend the allowance too.
            entry.lastForcedRefetch = now
            entries[key] = entry
            return nil
        }
        if let cached { return cached }
        let (jwks, cacheControl) = try await UpstreamDiscovery.jwks(http, metadata, environment: provider.environment)
        update(key) { entry in
            entry.jwks = Cached(value: jwks, expiresAt: now.addingTimeInterval(Self.lifetime(cacheControl)))
            entry.jwksURI = metadata.jwksURI
        }
        return jwks
    }

    /// How long an answer may be used: its `max-age`, clamped (RFC 9111 §5.2.2).
    static func lifetime(_ cacheControl: String?) -> TimeInterval {
        guard let cacheControl else { return defaultLifetime }
        var maxAge: TimeInterval?
        for directive in cacheControl.split(separator: ",") {
            let parts = directive.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            guard let name = parts.first else { continue }
            if name == "no-store" || name == "no-cache" { return minimumLifetime }
            if name == "max-age", parts.count == 2 {
                let value = parts[1].trimmingCharacters(in: CharacterSet(charactersIn: "\""))
                // Absurdly long values are only long: clamp instead of failing to parse.
                if let seconds = Int(value), seconds >= 0 {
                    maxAge = TimeInterval(seconds)
                } else if !value.isEmpty, value.allSatisfy(\.isASCIIDigit) {
                    maxAge = maximumLifetime
                }
            }
        }
        guard let maxAge else { return defaultLifetime }
        return min(max(maxAge, minimumLifetime), maximumLifetime)
    }

    private func update(_ key: Key, _ change: (inout Entry) -> Void) {
        entries.withLock { entries in
            if entries[key] == nil {
                // A re-pointed provider's former issuer is dropped; past the bound, start over.
                entries = entries.filter { $0.key.providerID != key.providerID }
                if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
            }
            var entry = entries[key] ?? Entry()
            change(&entry)
            entries[key] = entry
        }
    }

    var count: Int { entries.withLock { $0.count } }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
}
