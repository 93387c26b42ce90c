public import LambaJOSE

/// Ceremony challenges: random, at least 16 bytes (WebAuthn L3 §13.4.3); Lamba uses 32.
public enum WebAuthnChallenge {
    public static let byteCount = 32

    /// A new random challenge; the caller keeps it with the ceremony and passes it to the verify call.
    public static func generate() throws -> [UInt8] {
        try SecureRandom.bytes(byteCount)
    }
}

/// The user account a credential is created for (WebAuthn L3 §5.4.3).
public struct WebAuthnUser: Sendable {
    /// The user handle: opaque, at most 64 bytes, never personal data.
    public var id: [UInt8]
    public var name: String
    public var displayName: String

    public init(id: [UInt8], name: String, displayName: String) {
        self.id = id
        self.name = name
        self.displayName = displayName
    }
}

extension WebAuthnRelyingParty {
    /// PublicKeyCredentialCreationOptions (WebAuthn L3 §5.4) in the JSON form of §5.1.11, for
    /// PublicKeyCredential.parseCreationOptionsFromJSON() or a script that decodes the base64url fields.
    public func creationOptions(
        challenge: [UInt8], user: WebAuthnUser, excludeCredentials: [[UInt8]] = [], timeoutMilliseconds: Int64 = 300_000
    ) -> JSONValue {
        .object([
            "rp": .object(["id": .string(id), "name": .string(name)]),
            "user": .object([
                "id": .string(Base64URL.encode(user.id)), "name": .string(user.name), "displayName": .string(user.displayName),
            ]),
            "challenge": .string(Base64URL.encode(challenge)),
            "pubKeyCredParams": .array(algorithms.map { .object(["type": "public-key", "alg": .integer($0.rawValue)]) }),
            "timeout": .integer(timeoutMilliseconds),
            // Passkeys: discoverable credentials, so sign-in needs no user name first.
            "authenticatorSelection": .object([
                "residentKey": "required", "requireResidentKey": true, "userVerification": .string(userVerification.rawValue),
            ]),
            // Only none and self attestation are verified (§8.7, §8.2.1).
            "attestation": "none",
            "excludeCredentials": Self.descriptors(excludeCredentials),
        ])
    }

    /// PublicKeyCredentialRequestOptions (WebAuthn L3 §5.5) in JSON form; an empty `allowCredentials`
    /// lets the authenticator offer any discoverable credential for this RP ID.
    public func requestOptions(challenge: [UInt8], allowCredentials: [[UInt8]] = [], timeoutMilliseconds: Int64 = 300_000) -> JSONValue {
        .object([
            "challenge": .string(Base64URL.encode(challenge)),
            "rpId": .string(id),
            "allowCredentials": Self.descriptors(allowCredentials),
            "userVerification": .string(userVerification.rawValue),
            "timeout": .integer(timeoutMilliseconds),
        ])
    }

    private static func descriptors(_ ids: [[UInt8]]) -> JSONValue {
        .array(ids.map { .object(["type": "public-key", "id": .string(Base64URL.encode($0))]) })
    }
}
