/// The `acr` values Lamba issues and honours (OIDC Core §2 `acr`, §3.1.2.1 `acr_values`): what
/// the session actually did, derived from its RFC 8176 `amr`, never from what was asked for.
public enum AuthenticationContextClass: String, Sendable, CaseIterable {
    /// One factor: a password, or a social provider's sign-in.
    case singleFactor = "urn:lamba:acr:single-factor"
    /// A second factor was proven in this session (`amr` holds `mfa`).
    case multiFactor = "urn:lamba:acr:multi-factor"

    public static func of(amr: [String]) -> AuthenticationContextClass {
        amr.contains("mfa") ? .multiFactor : .singleFactor
    }
}
