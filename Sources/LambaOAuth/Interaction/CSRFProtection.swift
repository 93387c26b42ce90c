public import LambaJOSE
import LambaModel

/// CSRF protection of the hosted pages' forms: a double-submit cookie whose form token is its
/// HMAC-SHA-256 under the provider's CSRF key, compared in constant time.
public struct CSRFProtection: Sendable {
    let key: [UInt8]

    /// What a stale or forged form is told; the hosted pages say it in words of their own.
    public static let formExpired = "the form expired; go back and try again"

    func token(cookie: String) -> String {
        Base64URL.encode(Digest.hmac(.sha256, key: key, data: Array(cookie.utf8)))
    }

    static func newCookie() -> String { OpaqueSecret.generate().value }

    func verify(cookie: String?, form: OAuthParameters) throws(OAuthError) {
        guard let cookie, cookie.utf8.count >= 32, cookie.utf8.count <= 128, let token = try form.single("csrf_token"),
            constantTimeEquals(Array(token.utf8), Array(self.token(cookie: cookie).utf8))
        else { throw OAuthError(.accessDenied, Self.formExpired, debug: "CSRF token mismatch") }
    }
}
