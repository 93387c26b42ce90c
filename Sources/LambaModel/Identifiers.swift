public import LambaJOSE

/// Kinds of entity, each with the prefix its ids carry so that an id says what it names.
public enum EntityKind: String, Sendable, CaseIterable {
    case user = "usr"
    case workspace = "ws"
    case project = "prj"
    case client = "cli"
    case teamMember = "tm"
    case projectMember = "pm"
    case invite = "inv"
    case apiKey = "key"
    case role = "role"
    case identitySession = "ses"
    case runtimeScope = "rs"
    case event = "evt"
    case signingKey = "sk"
    case consoleSession = "cs"
    case upstreamProvider = "idp"
    case linkedIdentity = "lid"
    case customDomain = "dom"
    case mail = "mail"
    case passkey = "pk"
}

/// Opaque, random entity ids: a kind prefix and 128 random bits, base64url (e.g. `prj_3q2-...`).
public enum EntityID {
    public static func generate(_ kind: EntityKind) -> String {
        // SecureRandom only fails when the OS has no entropy; nothing sensible can continue then.
        let bytes = try! SecureRandom.bytes(16)
        return kind.rawValue + "_" + Base64URL.encode(bytes)
    }

    /// True when `id` has the shape of an id of `kind`; used to answer 404 early for foreign shapes.
    public static func isWellFormed(_ id: String, _ kind: EntityKind) -> Bool {
        let prefix = kind.rawValue + "_"
        guard id.hasPrefix(prefix), id.utf8.count == prefix.utf8.count + 22 else { return false }
        return id.utf8.dropFirst(prefix.utf8.count).allSatisfy { c in
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x2D || c == 0x5F
        }
    }
}

/// An opaque secret (API key, client secret, code, refresh or invite token): 256 random bits, shown
/// once, stored only as its SHA-256 hash. A fast hash fits because the secret is random, not chosen.
public struct OpaqueSecret: Sendable {
    /// What the holder presents; never stored.
    public let value: String
    /// base64url SHA-256 of `value`, the only thing stored.
    public let hash: String

    /// A new secret with an optional readable prefix (`lmb_sk_`), which helps secret scanners.
    public static func generate(prefix: String = "") -> OpaqueSecret {
        let value = prefix + (try! SecureRandom.token(byteCount: 32))
        return OpaqueSecret(value: value, hash: hash(value))
    }

    public static func hash(_ presented: String) -> String {
        Base64URL.encode(Digest.sha256(Array(presented.utf8)))
    }
}
