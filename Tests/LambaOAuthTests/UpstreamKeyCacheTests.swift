import Foundation
import LambaJOSE
import LambaModel
@testable import LambaOAuth
import Synchronization
import Testing

/// A social provider's discovery and JWKS endpoints, answered in memory and counted.
final class CountingUpstream: UpstreamHTTPClient {
    struct State: Sendable {
        var keys: [JWK]
        var cacheControl: String?
        var failing = false
        var discoveryFetches = 0
        var jwksFetches = 0
    }

    struct Down: Error {}

    let state: Mutex<State>

    init(keys: [JWK], cacheControl: String? = nil) {
        state = Mutex(State(keys: keys, cacheControl: cacheControl))
    }

    func get(_ url: String, environment: LambaModel.Environment) async throws -> UpstreamHTTPResponse {
        let (state, isDiscovery) = self.state.withLock { state in
            let isDiscovery = url.hasSuffix("/.well-known/openid-configuration")
            if isDiscovery { state.discoveryFetches += 1 } else { state.jwksFetches += 1 }
            return (state, isDiscovery)
        }
        if state.failing { throw Down() }
        let issuer = "https://" + url.dropFirst("https://".count).prefix { $0 != "/" }
        let body: JSONValue = isDiscovery
            ? .object(["issuer": .string(issuer), "authorization_endpoint": .string(issuer + "/authorize"),
                       "token_endpoint": .string(issuer + "/token"), "jwks_uri": .string(issuer + "/jwks")])
            : .object(JWKSet(keys: state.keys).publicJSON)
        return UpstreamHTTPResponse(status: 200, body: JSON.encode(body), cacheControl: state.cacheControl)
    }

    func postForm(_ url: String, form: [(String, String)], authorization: String, environment: LambaModel.Environment) async throws -> UpstreamHTTPResponse {
        throw Down()
    }

    struct Fetches: Equatable {
        var discovery: Int
        var jwks: Int
    }

    var fetches: Fetches { state.withLock { Fetches(discovery: $0.discoveryFetches, jwks: $0.jwksFetches) } }
}

/// OIDC Core §10.1.1: the relying party's cache of upstream metadata and signing keys.
@Suite("Upstream key cache")
struct UpstreamKeyCacheTests {
    static func provider(issuer: String = "https://idp.example") -> UpstreamProvider {
        UpstreamProvider(id: "up_test", workspaceID: "ws", projectID: "pj", environment: .production, name: "IdP", issuer: issuer,
                         clientID: "client", sealedClientSecret: "", scopes: ["openid"])
    }

    static func key() throws -> JWK { try AsymmetricKey.generate(JWSAlgorithm.es256.keyKind).jwk() }

    @Test("lifetime: Cache-Control max-age clamped to 1 min…24 h, 1 h without one, no-store as the minimum")
    func lifetime_isClampedMaxAge() {
        #expect(UpstreamKeyCache.lifetime(nil) == 3600)
        #expect(UpstreamKeyCache.lifetime("public, max-age=300") == 300)
        #expect(UpstreamKeyCache.lifetime("max-age=5") == 60)
        #expect(UpstreamKeyCache.lifetime("max-age=999999999") == 86_400)
        #expect(UpstreamKeyCache.lifetime("max-age=99999999999999999999999") == 86_400)
        #expect(UpstreamKeyCache.lifetime("no-store") == 60)
        #expect(UpstreamKeyCache.lifetime("private, MAX-AGE=\"120\"") == 120)
        #expect(UpstreamKeyCache.lifetime("max-age=soon") == 3600)
    }

    @Test("metadata and keys are fetched once within their lifetime and again after it")
    func cachedWithinLifetime_refetchedAfter() async throws {
        let upstream = CountingUpstream(keys: [try Self.key()], cacheControl: "max-age=300")
        let cache = UpstreamKeyCache()
        let provider = Self.provider()
        let start = Date()
        for offset in [0.0, 100, 299] {
            let metadata = try await cache.metadata(upstream, provider, now: start + offset)
            _ = try await cache.keys(upstream, metadata, provider, kid: nil, now: start + offset)
        }
        #expect(upstream.fetches == CountingUpstream.Fetches(discovery: 1, jwks: 1))
        let metadata = try await cache.metadata(upstream, provider, now: start + 301)
        _ = try await cache.keys(upstream, metadata, provider, kid: nil, now: start + 301)
        #expect(upstream.fetches == CountingUpstream.Fetches(discovery: 2, jwks: 2))
    }

    @Test("an unknown kid refetches the JWKS at most once per window; the rotated key is found")
    func unknownKid_refetchesOncePerWindow() async throws {
        let old = try Self.key()
        let upstream = CountingUpstream(keys: [old])
        let cache = UpstreamKeyCache()
        let provider = Self.provider()
        let start = Date()
        let metadata = try await cache.metadata(upstream, provider, now: start)
        _ = try await cache.keys(upstream, metadata, provider, kid: old.kid, now: start)
        // The upstream rotates: the new kid is fetched at once.
        let new = try Self.key()
        upstream.state.withLock { $0.keys = [old, new] }
        let rotated = try await cache.keys(upstream, metadata, provider, kid: new.kid, now: start + 1)
        #expect(rotated.keys.contains { $0.kid == new.kid })
        #expect(upstream.fetches.jwks == 2)
        // Made-up kids within the window: no fetch, the cached set (without them) is answered.
        for offset in [2.0, 10, 30] {
            let answered = try await cache.keys(upstream, metadata, provider, kid: "made-up", now: start + offset)
            #expect(answered.keys.map(\.kid) == [old.kid, new.kid])
        }
        #expect(upstream.fetches.jwks == 2)
        // After the window, one more.
        _ = try await cache.keys(upstream, metadata, provider, kid: "made-up", now: start + 31.5)
        _ = try await cache.keys(upstream, metadata, provider, kid: "made-up", now: start + 32)
        #expect(upstream.fetches.jwks == 3)
        // Known kids never fetch.
        _ = try await cache.keys(upstream, metadata, provider, kid: old.kid, now: start + 33)
        #expect(upstream.fetches.jwks == 3)
    }

    @Test("a failed fetch is not cached and keeps what was cached")
    func failure_doesNotPoison() async throws {
        let key = try Self.key()
        let upstream = CountingUpstream(keys: [key])
        let cache = UpstreamKeyCache()
        let provider = Self.provider()
        let start = Date()
        upstream.state.withLock { $0.failing = true }
        await #expect(throws: UpstreamError.self) { try await cache.metadata(upstream, provider, now: start) }
        upstream.state.withLock { $0.failing = false }
        let metadata = try await cache.metadata(upstream, provider, now: start)
        _ = try await cache.keys(upstream, metadata, provider, kid: key.kid, now: start)
        #expect(upstream.fetches == CountingUpstream.Fetches(discovery: 2, jwks: 1))
        // A forced refetch that fails throws, and the set cached before still serves.
        upstream.state.withLock { $0.failing = true }
        await #expect(throws: UpstreamError.self) { try await cache.keys(upstream, metadata, provider, kid: "new", now: start + 1) }
        let kept = try await cache.keys(upstream, metadata, provider, kid: key.kid, now: start + 2)
        #expect(kept.keys.map(\.kid) == [key.kid])
    }

    @Test("a provider re-pointed to another issuer never sees the former issuer's metadata or keys")
    func repointedProvider_fetchesTheNewIssuer() async throws {
        let upstream = CountingUpstream(keys: [try Self.key()])
        let cache = UpstreamKeyCache()
        let start = Date()
        let before = try await cache.metadata(upstream, Self.provider(), now: start)
        _ = try await cache.keys(upstream, before, Self.provider(), kid: nil, now: start)
        let repointed = Self.provider(issuer: "https://other-idp.example")
        let after = try await cache.metadata(upstream, repointed, now: start + 1)
        #expect(after.issuer == "https://other-idp.example" && after.jwksURI == "https://other-idp.example/jwks")
        _ = try await cache.keys(upstream, after, repointed, kid: nil, now: start + 1)
        #expect(upstream.fetches == CountingUpstream.Fetches(discovery: 2, jwks: 2))
        #expect(cache.count == 1, "the former issuer's entry is dropped")
    }
}
