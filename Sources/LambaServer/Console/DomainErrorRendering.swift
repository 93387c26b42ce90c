import HTTPTypes
public import LambaModel
import LambaJOSE

/// How the domain's refusals appear on the console and runtime APIs: one status and one
/// machine-readable code per kind, with the field when there is one.
///
/// | DomainError | status | error |
/// | --- | --- | --- |
/// | invalid | 400 | `invalid_request` (+ `field`) |
/// | notFound | 404 | `not_found` |
/// | conflict | 409 | `conflict` |
/// | forbidden | 403 | `forbidden` |
/// | limitExceeded | 409 | `plan_limit_exceeded` (+ `limit`, `maximum`) |
/// | refused | 409 | `refused` |
extension DomainError: APIErrorConvertible {
    public var apiError: APIError {
        switch self {
        case .invalid(let field, _):
            APIError(status: .badRequest, code: "invalid_request", description: description, extra: ["field": .string(field)])
        case .notFound:
            // Generic on purpose: another tenant's id reads exactly like a missing one.
            APIError.notFound
        case .conflict:
            APIError(status: .conflict, code: "conflict", description: description)
        case .forbidden:
            APIError(status: .forbidden, code: "forbidden", description: description)
        case .limitExceeded(let limit, let maximum):
            APIError(status: .conflict, code: "plan_limit_exceeded", description: description,
                     extra: ["limit": .string(limit), "maximum": .integer(Int64(maximum))])
        case .refused:
            APIError(status: .conflict, code: "refused", description: description)
        }
    }
}
