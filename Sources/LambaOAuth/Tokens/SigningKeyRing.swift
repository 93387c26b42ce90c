public import Foundation
public import LambaJOSE
public import LambaModel
import Synchronization

/// The signing keys of every Project environment (DESIGN.md "Tokens"): generated on first use per
/// algorithm, private halves sealed under the master key and opened once per process (keys are
/// immutable, so the cache is keyed by kid). An environment's key list is cached until the
/// environment's signing keys change, here or in another process.
public final class SigningKeyRing: Sendable {
    public struct ActiveKey: Sendable {
        public let kid: String
        public let algorithm: JWSAlgorithm
        public let key: AsymmetricKey
    }

    let store: any OAuthStore
    let masterKey: MasterKey
    let clock: WallClock
    private let opened = Mutex<[String: AsymmetricKey]>([:])
    /// Every key of an environment, retired ones included; what is published is filtered by time.
    private let lists: TableCache<String, [SigningKeyRecord]>

    init(store: any OAuthStore, masterKey: MasterKey, clock: WallClock) {
        self.store = store
        self.masterKey = masterKey
        self.clock = clock
        self.lists = TableCache([.signingKeys], versions: store.versions, capacity: 4096)
    }

    private static func cacheKey(_ projectID: String, _ environment: Environment) -> String { projectID + "/" + environment.rawValue }

    /// The keys published in JWKS: current, next and retired ones not yet past retirement.
    public func published(projectID: String, environment: Environment) async throws -> [SigningKeyRecord] {
        try await records(projectID: projectID, environment: environment)
    }

    func records(projectID: String, environment: Environment) async throws -> [SigningKeyRecord] {
        let date = clock.now()
        let store = store
        let all = try await lists.value(Self.cacheKey(projectID, environment)) {
            // The distant past: every key, so the cached list stays right as time passes.
            try await store.read { tx in try tx.signingKeys(projectID: projectID, environment: environment, at: .distantPast) }
        } ?? []
        return all.filter { $0.retireAfter.map { $0 > date } ?? true }
    }

    /// The key that signs for `algorithm` now, generating one on first use.
    public func signingKey(projectID: String, environment: Environment, algorithm: JWSAlgorithm) async throws -> ActiveKey {
        var records = try await records(projectID: projectID, environment: environment)
        if !records.contains(where: { $0.status == .current && $0.algorithm == algorithm.rawValue }) {
            try await ensureCurrent(projectID: projectID, environment: environment, algorithms: [algorithm])
            records = try await self.records(projectID: projectID, environment: environment)
        }
        guard let record = records.first(where: { $0.status == .current && $0.algorithm == algorithm.rawValue }) else {
            throw OAuthError.server("no current \(algorithm.rawValue) key after generation")
        }
        return ActiveKey(kid: record.kid, algorithm: algorithm, key: try open(record))
    }

    /// Creates a current key for each algorithm that lacks one (one transaction).
    public func ensureCurrent(projectID: String, environment: Environment, algorithms: [JWSAlgorithm]) async throws {
        // Generate only what is missing: key generation (RSA above all) is far too slow to do on
        // every registration and then throw away.
        let date = clock.now()
        let present = try await store.read { tx in
            try tx.signingKeys(projectID: projectID, environment: environment, at: date)
                .filter { $0.status == .current }.map(\.algorithm)
        }
        let missing = algorithms.filter { !present.contains($0.rawValue) }
        guard !missing.isEmpty else { return }
        let sealed = try await Self.generate(missing, masterKey: masterKey)
        try await store.write { tx in
            let existing = try tx.signingKeys(projectID: projectID, environment: environment, at: date)
            for key in sealed where !existing.contains(where: { $0.status == .current && $0.algorithm == key.algorithm.rawValue }) {
                try tx.insert(Self.record(key, projectID: projectID, environment: environment, status: .current, at: date))
            }
        }
    }

    /// How long JWKS responses may be cached (`Cache-Control: max-age`): a `next` key must have
    /// been published at least this long before it signs, or a verifier holding the JWKS it
    /// fetched just before would not know it.
    public static let jwksMaxAgeSeconds = 300

    /// What a rotation did, per algorithm.
    public struct Rotation: Sendable {
        /// The kids that sign from now on.
        public var promoted: [String] = []
        /// Algorithms whose `next` key is published but not yet for `jwksMaxAgeSeconds`: it can be
        /// promoted from `promotableAt`, by rotating again.
        public var staged: [(algorithm: JWSAlgorithm, kid: String, promotableAt: Date)] = []
    }

    /// Publish-then-promote rotation without downtime. Per algorithm: a `next` key published for
    /// at least `jwksMaxAgeSeconds` becomes current, the current one is retired but stays in JWKS
    /// for `keepOldFor` seconds, and a fresh `next` key is published for the following rotation.
    /// Without such a key, a `next` key is published (when there is none) and promoted by a later
    /// rotation. `immediately` promotes at once whatever was published: for a key that must stop
    /// signing now, accepting that verifiers with a cached JWKS refetch it on the unknown kid.
    public func rotate(projectID: String, workspaceID: String, environment: Environment, algorithms: [JWSAlgorithm], keepOldFor: TimeInterval,
                       immediately: Bool = false, actor: String) async throws -> Rotation {
        let date = clock.now()
        let lead = TimeInterval(Self.jwksMaxAgeSeconds)
        let existing = try await store.read { tx in try tx.signingKeys(projectID: projectID, environment: environment, at: date) }
        // Keys are generated outside the transaction (RSA is slow), only as many as may be needed.
        let needed = algorithms.flatMap { algorithm -> [JWSAlgorithm] in
            let hasNext = existing.contains { $0.status == .next && $0.algorithm == algorithm.rawValue }
            return hasNext ? [algorithm] : (immediately ? [algorithm, algorithm] : [algorithm])
        }
        var generated = try await Self.generate(needed, masterKey: masterKey)[...]
        var pool: [JWSAlgorithm: [SealedSigningKey]] = [:]
        for algorithm in needed { pool[algorithm, default: []].append(generated.removeFirst()) }
        let fresh = pool
        return try await store.write { tx -> Rotation in
            var rotation = Rotation()
            var spare = fresh
            let existing = try tx.signingKeys(projectID: projectID, environment: environment, at: date)
            for algorithm in algorithms {
                func take() -> SealedSigningKey? { spare[algorithm]?.isEmpty == false ? spare[algorithm]?.removeFirst() : nil }
                let olds = existing.filter { $0.status == .current && $0.algorithm == algorithm.rawValue }
                var next: SigningKeyRecord
                if let published = existing.first(where: { $0.status == .next && $0.algorithm == algorithm.rawValue }) {
                    next = published
                } else {
                    guard let replacement = take() else { continue }
                    next = Self.record(replacement, projectID: projectID, environment: environment, status: .next, at: date)
                    try tx.insert(next)
                }
                let promotableAt = next.createdAt.addingTimeInterval(lead)
                guard immediately || promotableAt <= date else {
                    rotation.staged.append((algorithm, next.kid, promotableAt))
                    continue
                }
                guard let following = take() else { continue }
                for var old in olds {
                    old.status = .retired
                    old.retireAfter = date.addingTimeInterval(keepOldFor)
                    try tx.update(old)
                }
                next.status = .current
                next.activatedAt = date
                try tx.update(next)
                try tx.insert(Self.record(following, projectID: projectID, environment: environment, status: .next, at: date))
                try tx.append(DomainEvent(type: .signingKeyRotated, actor: actor, workspaceID: workspaceID, projectID: projectID,
                                          environment: environment, data: [
                    "algorithm": .string(algorithm.rawValue), "kid": .string(next.kid),
                    "retired_kids": .array(olds.map { .string($0.kid) }), "next_kid": .string(following.kid),
                    "published_seconds": .integer(Int64(date.timeIntervalSince(next.createdAt).rounded(.down))),
                ]))
                rotation.promoted.append(next.kid)
            }
            return rotation
        }
    }

    /// New keys, generated on a thread of their own: an RSA key takes tens to hundreds of
    /// milliseconds, which must never stall the event loop that runs a request
    /// (docs/style-exceptions.md#rsa-key-generation).
    static func generate(_ algorithms: [JWSAlgorithm], masterKey: MasterKey) async throws -> [SealedSigningKey] {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(with: Result { try algorithms.map { try SealedSigningKey.generate($0, masterKey: masterKey) } })
            }
        }
    }

    /// Verification keys for tokens of this environment: every published key.
    public func verifier(projectID: String, environment: Environment) async throws -> JWSVerifier {
        let records = try await records(projectID: projectID, environment: environment)
        var keys: [JWSVerifier.Key] = []
        for record in records {
            guard let algorithm = JWSAlgorithm(rawValue: record.algorithm) else { continue }
            keys.append(JWSVerifier.Key(try publicKey(record), kid: record.kid, algorithm: algorithm))
        }
        return JWSVerifier(allowedAlgorithms: Set(JWSAlgorithm.allCases), keys: keys)
    }

    private func open(_ record: SigningKeyRecord) throws -> AsymmetricKey {
        if let key = opened.withLock({ $0[record.kid] }) { return key }
        guard let algorithm = JWSAlgorithm(rawValue: record.algorithm) else { throw OAuthError.server("unknown key algorithm") }
        let sealed = SealedSigningKey(kid: record.kid, algorithm: algorithm, publicJWK: try JWK(jsonBytes: Array(record.publicJWK.utf8)),
                                      sealedPrivateKey: try Base64URL.decode(record.sealedPrivateKey))
        let key = try sealed.open(with: masterKey)
        opened.withLock { $0[record.kid] = key }
        return key
    }

    private func publicKey(_ record: SigningKeyRecord) throws -> AsymmetricKey {
        let cacheKey = "pub:" + record.kid
        if let key = opened.withLock({ $0[cacheKey] }) { return key }
        let key = try AsymmetricKey(jwk: try JWK(jsonBytes: Array(record.publicJWK.utf8)))
        opened.withLock { $0[cacheKey] = key }
        return key
    }

    static func record(_ key: SealedSigningKey, projectID: String, environment: Environment, status: SigningKeyRecord.Status, at date: Date) -> SigningKeyRecord {
        SigningKeyRecord(kid: key.kid, projectID: projectID, environment: environment, algorithm: key.algorithm.rawValue,
                         publicJWK: JSON.encodeString(.object(key.publicJWK.json)), sealedPrivateKey: Base64URL.encode(key.sealedPrivateKey),
                         status: status, createdAt: date, activatedAt: status == .current ? date : nil, retireAfter: nil)
    }

    /// The algorithms an environment needs: RS256 always, the access token algorithm, and every
    /// client's ID token algorithm.
    public static func algorithms(_ settings: EnvironmentSettings, clients: [OAuthClient]) -> [JWSAlgorithm] {
        var names = ["RS256", settings.accessTokenAlgorithm] + clients.map(\.idTokenSignedResponseAlg)
        names = names.reduce(into: []) { if !$0.contains($1) { $0.append($1) } }
        return names.compactMap(JWSAlgorithm.init(rawValue:))
    }
}
