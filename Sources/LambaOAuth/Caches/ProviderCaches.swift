public import LambaJOSE
public import LambaModel
import Synchronization

/// A bounded cache whose entries hold only while the records they were read from are unchanged
/// (`RecordKind`s, versioned by `TableVersions`): a commit that touches one of them, in this process or (through the store's
/// change channel) in another, retires every entry read before it. So a deactivation, a revoked
/// scope or a rotated secret acts on the next request, as without the cache.
final class TableCache<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    private struct Entry {
        let value: Value
        let stamp: UInt64
    }

    let tables: [String]
    let versions: TableVersions
    let capacity: Int
    private let entries = Mutex<[Key: Entry]>([:])

    init(_ records: [RecordKind], versions: TableVersions, capacity: Int) {
        self.tables = records.flatMap(\.tables)
        self.versions = versions
        self.capacity = capacity
    }

    /// The cached value, or `load`'s (remembered unless nil). The stamp is taken before `load`
    /// reads, so a change committed during the read retires what it read.
    func value<E: Error>(_ key: Key, load: () async throws(E) -> Value?) async throws(E) -> Value? {
        let stamp = versions.stamp(tables)
        if let entry = entries.withLock({ $0[key] }), entry.stamp == stamp { return entry.value }
        guard let value = try await load() else { return nil }
        entries.withLock { entries in
            // Past the bound, start over: simpler than LRU and the working set refills in one pass.
            if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
            entries[key] = Entry(value: value, stamp: stamp)
        }
        return value
    }

    var count: Int { entries.withLock { $0.count } }
}

/// Refresh tokens this process issued, by hash, as issued: the refresh grant then needs no read
/// before signing, since what the access token takes from the record (user, scope, client,
/// auth_time, scopes) never changes. Whether the token is still usable (not rotated, revoked or
/// expired; its runtime scope live) is decided in the grant's write, never from here. Each entry is
/// taken once: a token is presented once.
final class IssuedRefreshTokens: Sendable {
    private let records = Mutex<[String: RefreshTokenRecord]>([:])
    let capacity: Int

    init(capacity: Int) {
        self.capacity = capacity
    }

    func remember(_ record: RefreshTokenRecord) {
        records.withLock { records in
            // Past the bound, forget all: a forgotten token is read from the store instead.
            if records.count >= capacity { records.removeAll(keepingCapacity: true) }
            records[record.tokenHash] = record
        }
    }

    func take(_ hash: String) -> RefreshTokenRecord? {
        records.withLock { $0.removeValue(forKey: hash) }
    }

    var count: Int { records.withLock { $0.count } }
}

/// The OpenID Provider's read caches, each tied to the tables its values come from.
struct ProviderCaches: Sendable {
    /// Issuer → Project environment (project, workspace, settings).
    let contexts: TableCache<String, ProviderContext>
    /// client_id → registered client.
    let clients: TableCache<String, OAuthClient>
    /// issuer + token → claims of an access token whose signature and claims were checked; expiry
    /// is checked again on every use.
    let verifiedAccessTokens: TableCache<String, JWTClaims>
    /// The server-side state of a token's runtime scope, membership and user (docs/sessions-and-scopes.md#liveness).
    let tokenStates: TableCache<String, TokenState>
    /// A runtime scope's state for the refresh grant, whose write re-checks it in one query.
    let runtimeStates: TableCache<String, RuntimeStateEntry>
    /// Access check decisions by token and permission.
    let decisions: TableCache<String, RuntimeAccess.Decision>
    /// Refresh tokens issued here, until presented.
    let issuedRefreshTokens = IssuedRefreshTokens(capacity: 16384)
    /// Social providers' discovery metadata and JWK Sets (time-bounded, not tied to tables).
    let upstreamKeys = UpstreamKeyCache()

    /// What a user or client token stands for now.
    enum TokenState: Sendable {
        case inactive
        case user(RuntimeScope, LambaUser)
        case client
    }

    enum RuntimeStateEntry: Sendable {
        case live(RuntimeScope, LambaUser)
        case ended
    }

    /// Every record a token's state or an access decision reads: the liveness rule's, the token's
    /// revocation, the client of client_credentials tokens and the roles.
    static let runtimeRecords = RuntimeScopeLiveness.reads + [.revokedAccessTokens, .clients, .projectRoles]

    init(versions: TableVersions) {
        contexts = TableCache([.projects, .workspaces, .environmentSettings], versions: versions, capacity: 4096)
        clients = TableCache([.clients], versions: versions, capacity: 16384)
        verifiedAccessTokens = TableCache([.signingKeys], versions: versions, capacity: 8192)
        tokenStates = TableCache(Self.runtimeRecords, versions: versions, capacity: 16384)
        runtimeStates = TableCache(RuntimeScopeLiveness.reads, versions: versions, capacity: 16384)
        decisions = TableCache(Self.runtimeRecords, versions: versions, capacity: 16384)
    }
}
