/// Every refusal of the domain, in words an operator can act on. The console API maps each case to
/// an HTTP status and a machine-readable code; the OAuth engine maps them to protocol errors.
public enum DomainError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A field failed validation.
    case invalid(field: String, reason: String)
    /// No such entity in the caller's tenant. Also the answer for another tenant's ids (no leak).
    case notFound(String)
    /// The entity exists already (a slug, an email, a membership).
    case conflict(String)
    /// The caller lacks the capability.
    case forbidden(String)
    /// A plan limit was reached.
    case limitExceeded(limit: String, maximum: Int)
    /// The action breaks a rule of the model (built-in roles, stranded members, private Projects).
    case refused(String)

    public var description: String {
        switch self {
        case .invalid(let field, let reason): "\(field) \(reason)"
        case .notFound(let what): "\(what) not found"
        case .conflict(let what): what
        case .forbidden(let what): what
        case .limitExceeded(let limit, let maximum): "plan limit reached: at most \(maximum) \(limit)"
        case .refused(let why): why
        }
    }
}

/// A store failure that says whether the database was unreachable (connection refused or lost,
/// locked past the busy timeout, conflicts past the retries) rather than the request being wrong.
/// Protocol layers answer those with a retryable "temporarily unavailable" (RFC 6749 §5.2,
/// RFC 9110 §15.6.4) instead of a 500 or a "not found". Declared here so that modules below the
/// stores can ask without importing them.
public protocol StoreAvailabilityError: Error {
    var meansStoreUnavailable: Bool { get }
}
