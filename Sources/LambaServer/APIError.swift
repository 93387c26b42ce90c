public import HTTPTypes
public import Hummingbird
public import LambaJOSE

/// An error a handler throws on purpose: it renders itself as
/// `{"error": code, "error_description": description, …extra}` with its status and headers.
/// `debug` goes to the log only. Anything else thrown is rendered as a 500 `server_error`.
public struct APIError: Error, Sendable, HTTPResponseError, CustomStringConvertible {
    public var status: HTTPResponse.Status
    /// Machine-readable code, e.g. `invalid_request`.
    public var code: String
    /// Client-visible and generic: never secrets, SQL or parameter values.
    public var errorDescription: String
    /// Further members of the body, e.g. `field` naming the input that was refused.
    public var extra: JSONObject
    public var headers: HTTPFields
    /// For the log only; never serialized.
    public var debug: String?

    public init(
        status: HTTPResponse.Status, code: String, description: String,
        extra: JSONObject = [:], headers: HTTPFields = [:], debug: String? = nil
    ) {
        self.status = status
        self.code = code
        self.errorDescription = description
        self.extra = extra
        self.headers = headers
        self.debug = debug
    }

    public var description: String {
        "\(status.code) \(code): \(errorDescription)" + (debug.map { " (\($0))" } ?? "")
    }

    public var body: JSONObject {
        var body: JSONObject = ["error": .string(code), "error_description": .string(errorDescription)]
        for (name, value) in extra where body[name] == nil { body[name] = value }
        return body
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        renderedResponse()
    }

    public func renderedResponse() -> Response {
        .json(body, status: status, headers: headers)
    }
}

extension APIError {
    public static func invalidRequest(_ description: String, field: String? = nil, debug: String? = nil) -> APIError {
        APIError(status: .badRequest, code: "invalid_request", description: description,
                 extra: field.map { ["field": .string($0)] } ?? [:], debug: debug)
    }

    public static let notFound = APIError(status: .notFound, code: "not_found", description: "no such resource")

    public static func methodNotAllowed(allowed: [HTTPRequest.Method]) -> APIError {
        var headers = HTTPFields()
        headers[.allow] = allowed.map(\.rawValue).joined(separator: ", ")
        return APIError(status: .methodNotAllowed, code: "method_not_allowed",
                        description: "method not allowed on this resource", headers: headers)
    }

    public static func unsupportedMediaType(expected: [MediaKind]) -> APIError {
        APIError(status: .unsupportedMediaType, code: "unsupported_media_type",
                 description: "Content-Type must be " + expected.map(\.rawValue).joined(separator: " or "))
    }

    public static func payloadTooLarge(limit: Int) -> APIError {
        APIError(status: .contentTooLarge, code: "payload_too_large",
                 description: "request body exceeds \(limit) bytes")
    }

    /// The only body a client ever sees for an unexpected failure.
    public static let serverError = APIError(status: .internalServerError, code: "server_error", description: "internal error")
}

/// Lets errors of framework-free modules (e.g. a protocol engine's error type) render as an `APIError`
/// without those modules importing Hummingbird: conform them here, in LambaServer.
public protocol APIErrorConvertible: Error {
    var apiError: APIError { get }
}
