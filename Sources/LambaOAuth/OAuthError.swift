import LambaModel

/// The one protocol error of the OpenID Provider (RFC 6749 §4.1.2.1, §5.2; OIDC Core §3.1.2.6;
/// RFC 6750 §3.1; RFC 7591 §3.2.2). The status follows from the code; `debug` is never serialized.
public struct OAuthError: Error, Sendable, Equatable, CustomStringConvertible {
    /// An error code: an extensible set of registered values.
    public struct Code: RawRepresentable, Sendable, Hashable, ExpressibleByStringLiteral {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public init(stringLiteral value: String) { self.rawValue = value }

        // RFC 6749 §4.1.2.1 and §5.2
        public static let invalidRequest: Code = "invalid_request"
        public static let invalidClient: Code = "invalid_client"
        public static let invalidGrant: Code = "invalid_grant"
        public static let unauthorizedClient: Code = "unauthorized_client"
        public static let unsupportedGrantType: Code = "unsupported_grant_type"
        public static let unsupportedResponseType: Code = "unsupported_response_type"
        public static let invalidScope: Code = "invalid_scope"
        public static let accessDenied: Code = "access_denied"
        public static let serverError: Code = "server_error"
        public static let temporarilyUnavailable: Code = "temporarily_unavailable"
        // RFC 7009 §2.2.1
        public static let unsupportedTokenType: Code = "unsupported_token_type"
        // OIDC Core §3.1.2.6
        public static let loginRequired: Code = "login_required"
        public static let consentRequired: Code = "consent_required"
        public static let interactionRequired: Code = "interaction_required"
        public static let accountSelectionRequired: Code = "account_selection_required"
        public static let requestNotSupported: Code = "request_not_supported"
        public static let requestURINotSupported: Code = "request_uri_not_supported"
        public static let registrationNotSupported: Code = "registration_not_supported"
        // RFC 6750 §3.1
        public static let invalidToken: Code = "invalid_token"
        public static let insufficientScope: Code = "insufficient_scope"
        // RFC 9470 §3: the token's authentication is too old or too weak for this request.
        public static let insufficientUserAuthentication: Code = "insufficient_user_authentication"
        // RFC 7591 §3.2.2
        public static let invalidRedirectURI: Code = "invalid_redirect_uri"
        public static let invalidClientMetadata: Code = "invalid_client_metadata"
        /// Not an RFC code: the issuer (Project environment) does not exist or is deactivated.
        public static let notFound: Code = "not_found"
        /// Not an RFC code: an abuse limit was reached; `retryAfter` says when to try again (RFC 6585 §4).
        public static let tooManyRequests: Code = "too_many_requests"
    }

    public var code: Code
    /// Client-visible `error_description`: generic, never echoes secrets.
    public var message: String
    /// Operator-only detail for logs; never serialized.
    public var debug: String?
    /// Set when a protected resource request carried no token at all: RFC 6750 §3.1 then wants a
    /// bare challenge, without an error code.
    public var lacksCredentials: Bool = false
    /// Seconds after which a refused request may be retried, sent as `Retry-After` (RFC 9110 §10.2.3).
    public var retryAfter: Int?
    /// RFC 9470 §3: how recent an authentication the resource wants, sent as `max_age` in the challenge.
    public var requiredMaxAge: Int?

    public init(_ code: Code, _ message: String, debug: String? = nil) {
        self.code = code
        self.message = message
        self.debug = debug
    }

    public static func invalidRequest(_ message: String, debug: String? = nil) -> OAuthError { OAuthError(.invalidRequest, message, debug: debug) }
    public static func invalidClient(_ debug: String? = nil) -> OAuthError { OAuthError(.invalidClient, "client authentication failed", debug: debug) }
    public static func invalidGrant(_ message: String, debug: String? = nil) -> OAuthError { OAuthError(.invalidGrant, message, debug: debug) }
    public static func invalidToken(_ debug: String? = nil) -> OAuthError { OAuthError(.invalidToken, "the access token is not valid", debug: debug) }
    public static func server(_ debug: String) -> OAuthError { OAuthError(.serverError, "the server could not complete the request", debug: debug) }

    /// HTTP status of the error response (RFC 6749 §5.2, RFC 6750 §3.1, RFC 7591 §3.2.2).
    public var status: Int {
        switch code {
        case .invalidClient, .invalidToken, .insufficientUserAuthentication: 401
        case .insufficientScope, .accessDenied: 403
        case .notFound: 404
        case .tooManyRequests: 429
        case .serverError: 500
        case .temporarilyUnavailable: 503
        default: 400
        }
    }

    public var description: String { "\(code.rawValue): \(message)" + (debug.map { " (\($0))" } ?? "") }

    /// Anything thrown that is not an OAuthError becomes `server_error`, with the cause in debug; an
    /// unreachable store becomes `temporarily_unavailable` (RFC 6749 §5.2): retrying later can succeed.
    public static func wrap(_ error: any Error) -> OAuthError {
        if let error = error as? OAuthError { return error }
        if let error = error as? any StoreAvailabilityError, error.meansStoreUnavailable {
            return OAuthError(.temporarilyUnavailable, "the service is temporarily unavailable; retry later", debug: String(describing: error))
        }
        return .server(String(describing: error))
    }

    /// Seconds a client should wait before retrying a `temporarily_unavailable` answer (RFC 9110 §10.2.3).
    public static let retryAfterSeconds = 5

    /// The `Retry-After` of this answer: the error's own, or the default for `temporarily_unavailable`.
    public var retryAfterSeconds: Int? {
        retryAfter ?? (code == .temporarilyUnavailable ? Self.retryAfterSeconds : nil)
    }
}
