import LambaJOSE

/// Proof Key for Code Exchange (RFC 7636). Only `S256` is accepted: `plain` offers no protection
/// against a leaked authorization request (OAuth 2.0 Security BCP §2.1.1).
enum PKCE {
    /// RFC 7636 §4.2: 43 to 128 characters of `[A-Z a-z 0-9 - . _ ~]`; the same rule holds for the
    /// verifier (§4.1) and for an S256 challenge (43 characters).
    static func isWellFormed(_ value: String) -> Bool {
        (43...128).contains(value.utf8.count) && value.utf8.allSatisfy { c in
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x2D || c == 0x2E || c == 0x5F || c == 0x7E
        }
    }

    /// RFC 7636 §4.3: validates the authorization request's challenge. Public clients must send one.
    static func validateChallenge(_ challenge: String?, method: String?, clientIsPublic: Bool) throws(OAuthError) {
        guard let challenge else {
            if method != nil { throw .invalidRequest("code_challenge_method without code_challenge") }
            if clientIsPublic { throw .invalidRequest("PKCE is required for public clients: send code_challenge with S256") }
            return
        }
        guard (method ?? "plain") == "S256" else { throw .invalidRequest("code_challenge_method must be S256; plain is not supported") }
        guard challenge.utf8.count == 43, isWellFormed(challenge) else { throw .invalidRequest("code_challenge is malformed") }
    }

    /// RFC 7636 §4.6: BASE64URL(SHA256(verifier)) must equal the stored challenge.
    static func verify(verifier: String?, challenge: String?) throws(OAuthError) {
        guard let challenge else {
            // A verifier for a code issued without a challenge is refused (OAuth 2.0 Security BCP §4.8.2).
            if verifier != nil { throw .invalidGrant("code_verifier sent for a code issued without PKCE") }
            return
        }
        guard let verifier else { throw .invalidGrant("code_verifier is required") }
        guard isWellFormed(verifier) else { throw .invalidGrant("code_verifier is malformed") }
        let computed = Base64URL.encode(Digest.sha256(Array(verifier.utf8)))
        guard constantTimeEquals(Array(computed.utf8), Array(challenge.utf8)) else { throw .invalidGrant("code_verifier does not match the code_challenge") }
    }
}
