import LambaJOSE

/// The client data a browser collected for a ceremony (WebAuthn L3 §5.8.1), with its SHA-256 hash.
public struct CollectedClientData: Sendable {
    public let type: String
    public let challenge: [UInt8]
    public let origin: String
    public let crossOrigin: Bool
    public let topOrigin: String?
    /// SHA-256 of the JSON bytes, which authenticators sign after the authenticator data.
    public let hash: [UInt8]

    /// Parses clientDataJSON (WebAuthn L3 §7.1 steps 5–6, §7.2 steps 9–10).
    public init(json: [UInt8]) throws(WebAuthnError) {
        let object: JSONObject
        do {
            object = try JSON.decodeObject(json)
        } catch {
            throw .malformedClientData(error.description)
        }
        guard let type = object["type"]?.stringValue else { throw .malformedClientData("type is missing") }
        guard let challengeText = object["challenge"]?.stringValue,
            let challenge = try? Base64URL.decode(challengeText)
        else { throw .malformedClientData("challenge is missing or not base64url") }
        guard let origin = object["origin"]?.stringValue else { throw .malformedClientData("origin is missing") }
        var crossOrigin = false
        if let value = object["crossOrigin"] {
            guard let flag = value.boolValue else { throw .malformedClientData("crossOrigin is not a boolean") }
            crossOrigin = flag
        }
        var topOrigin: String?
        if let value = object["topOrigin"] {
            guard let text = value.stringValue else { throw .malformedClientData("topOrigin is not a string") }
            topOrigin = text
        }
        self.type = type
        self.challenge = challenge
        self.origin = origin
        self.crossOrigin = crossOrigin
        self.topOrigin = topOrigin
        self.hash = Digest.sha256(json)
    }

    /// Runs the client data checks shared by both ceremonies, in the spec's order.
    func verify(type expectedType: String, challenge expected: [UInt8], origins: Set<String>) throws(WebAuthnError) {
        // §7.1 step 7 / §7.2 step 11: the ceremony type.
        guard type == expectedType else { throw .wrongCeremonyType(expected: expectedType) }
        // §7.1 step 8 / §7.2 step 12: the challenge this server issued, compared in constant time.
        guard constantTimeEquals(challenge, expected) else { throw .challengeMismatch }
        // §7.1 step 9 / §7.2 step 13: exactly one of the RP's origins; no prefix or suffix matching.
        guard origins.contains(origin) else { throw .originNotAllowed }
        // §7.1 step 10 / §7.2 step 14: Lamba's pages are never framed, so a cross-origin ceremony (crossOrigin
        // true, or a topOrigin, which only a cross-origin ceremony sets) is refused.
        guard !crossOrigin, topOrigin == nil else { throw .crossOriginRefused }
    }
}
