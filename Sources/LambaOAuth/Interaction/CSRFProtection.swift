public import LambaJOSE
import LambaModel

/// CSRF protection of the hosted pages' forms: a double-submit cookie whose form token is its
/// HMAC-SHA-256 under the provider's CSRF key, compared in constant time.
struct CSRFProtection: Sendable {
    let key: [UInt8]

    func token(cookie: String) -> String {
        Base64URL.encode(Digest.hmac(.sha256, key: key, data: Array(cookie.utf8)))
    }

    static func newCookie() -> String { OpaqueSecret.generate().value }

    func verify(cookie: String?, form: OAuthParameters) throws(OAuthError) {
        guard let cookie, cookie.utf8.count >= 32, cookie.utf8.count <= 128, let token = try form.single("csrf_token"),
            constantTimeEquals(Array(token.utf8), Array(self.token(cookie: cookie).utf8))
        else { throw OAuthError(.accessDenied, "the form expired; go back and try again", debug: "CSRF token mismatch") }
    }
}
