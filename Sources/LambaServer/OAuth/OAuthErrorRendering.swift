public import LambaOAuth
public import LambaStore
import HTTPTypes

/// A protocol error thrown outside an endpoint's own rendering (a malformed query decoded by a
/// route, an issuer that cannot be resolved) answers as itself: the RFC 6749 §5.2 body, the status
/// of its code, `WWW-Authenticate` on 401 (RFC 6750 §3, RFC 9110 §15.5.2) and `Retry-After` on 503 and 429.
extension OAuthError: APIErrorConvertible {
    public var apiError: APIError {
        var headers = HTTPFields()
        if status == 401 {
            headers[.wwwAuthenticate] = code == .invalidToken ? "Bearer error=\"invalid_token\"" : "Basic realm=\"lamba\""
        }
        if let seconds = retryAfterSeconds { headers[.retryAfter] = String(seconds) }
        return APIError(status: HTTPResponse.Status(code: status), code: code.rawValue, description: message, headers: headers, debug: debug)
    }
}

/// An unreachable, locked or full database (`meansStoreUnavailable`: a lost connection, SQLITE_BUSY,
/// SQLITE_FULL or SQLSTATE class 53) answers 503 `temporarily_unavailable` with `Retry-After` on every
/// route (RFC 9110 §15.6.4, §10.2.3; the RFC 6749 §5.2 body shape): the transaction was rolled back
/// whole and the same request can succeed later. Any other store failure stays a 500 whose detail goes
/// to the log only.
extension StoreError: APIErrorConvertible {
    public var apiError: APIError {
        guard meansStoreUnavailable else { return .serverError }
        return OAuthError(.temporarilyUnavailable, "the service is temporarily unavailable; retry later", debug: description).apiError
    }
}
