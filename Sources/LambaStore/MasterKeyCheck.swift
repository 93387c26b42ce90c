public import LambaJOSE
internal import Foundation

/// Which master key this database's secrets are sealed under, checked at start: a known value
/// sealed under that key, kept in the one-row table `master_key_check` and written on the first
/// start. Another valid key opens nothing the database holds, so without this check a process
/// started with it looks healthy and then fails every request that needs a key
/// (docs/startup.md#master-key).
public enum MasterKeyCheck {
    static let migration = Migration(version: 60, name: "master key check", sql: """
        CREATE TABLE master_key_check (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            sealed TEXT NOT NULL,
            created_at BIGINT NOT NULL
        );
        """)

    /// What `verify` found.
    public enum Outcome: Sendable, Equatable {
        /// Nothing was sealed yet: the check value is now written under this key.
        case recorded
        /// The check value opened under this key.
        case verified
        /// A database from before the check value: its newest signing key opened under this key,
        /// and the check value is now written.
        case verifiedBySigningKey
    }

    /// The master key is not the one this database's secrets are sealed under.
    public struct Mismatch: Error, Sendable, Equatable, CustomStringConvertible {
        /// What failed to open: the check value, or the signing key `kid`.
        public let sealed: String

        public var description: String {
            "the master key does not open the \(sealed) in this database: it is not the key the database's secrets were sealed under"
        }
    }

    static let knownValue = Array("lamba master key check 1".utf8)
    /// Binds the box to its row, as every sealed value is bound to what it protects.
    static let associatedData = Array("master_key_check".utf8)

    /// Verifies `masterKey` against the database, writing the check value when it is absent.
    /// - Throws: `Mismatch` when the check value, or on an older database a signing key, does not
    ///   open under `masterKey`; `StoreError`.
    public static func verify(_ masterKey: MasterKey, in store: any Store) async throws -> Outcome {
        try await store.withTransaction { tx in
            if let sealed = try checkValue(tx) {
                try open(sealed, masterKey)
                return .verified
            }
            var outcome = Outcome.recorded
            if let key = try tx.query(
                "SELECT kid, alg, public_jwk, sealed_private_key FROM signing_keys ORDER BY created_at DESC, kid LIMIT 1").first
            {
                try openSigningKey(key, masterKey)
                outcome = .verifiedBySigningKey
            }
            let sealed = Base64URL.encode(try masterKey.seal(knownValue, associatedData: associatedData))
            try tx.execute("INSERT INTO master_key_check (id, sealed, created_at) VALUES (1, $1, $2) ON CONFLICT (id) DO NOTHING",
                           [.text(sealed), SQLValue(Date())])
            // A process starting beside this one may have written first, under its own key.
            guard let written = try checkValue(tx) else { throw StoreError.notFound }
            try open(written, masterKey)
            return outcome
        }
    }

    /// Whether anything in the database is sealed under some master key: then a new development
    /// key must not be made up for it.
    public static func holdsSealedSecrets(_ store: any Store) async throws -> Bool {
        try await store.read { reader in
            try !reader.query(
                """
                SELECT 1 AS found FROM master_key_check UNION ALL SELECT 1 FROM signing_keys
                UNION ALL SELECT 1 FROM webhook_endpoints UNION ALL SELECT 1 FROM upstream_providers LIMIT 1
                """
            ).isEmpty
        }
    }

    private static func checkValue(_ reader: any StoreReader) throws -> String? {
        try reader.query("SELECT sealed FROM master_key_check WHERE id = 1").first?.string("sealed")
    }

    private static func open(_ sealed: String, _ masterKey: MasterKey) throws {
        let box = try Base64URL.decode(sealed)
        guard let opened = try? masterKey.open(box, associatedData: associatedData), opened == knownValue else {
            throw Mismatch(sealed: "check value")
        }
    }

    /// A row that does not decode is damage, reported as it is; only a key that does not open is a mismatch.
    private static func openSigningKey(_ row: Row, _ masterKey: MasterKey) throws {
        let kid = try row.string("kid"), alg = try row.string("alg")
        guard let algorithm = JWSAlgorithm(rawValue: alg) else { throw JOSEError.unsupportedAlgorithm(alg) }
        let key = SealedSigningKey(kid: kid, algorithm: algorithm, publicJWK: try JWK(jsonBytes: Array(try row.string("public_jwk").utf8)),
                                   sealedPrivateKey: try Base64URL.decode(try row.string("sealed_private_key")))
        do {
            _ = try key.open(with: masterKey)
        } catch {
            throw Mismatch(sealed: "signing key \(kid)")
        }
    }
}
