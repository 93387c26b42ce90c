internal import Hummingbird
import LambaASCII
internal import LambaJOSE
internal import Logging

internal import Dispatch
internal import Foundation
internal import HTTPTypes

/// Assigns the request id (a client's `X-Request-Id` when it is short and plain, else a random one),
/// echoes it on the response, logs one line per request (method, path, status, duration) and counts
/// it in the metrics by route pattern. One middleware, one clock reading at each end: it wraps every
/// request. Bodies, query strings, `Authorization` and cookies are never logged: they carry credentials.
struct RequestObservationMiddleware: RouterMiddleware {
    typealias Context = LambaRequestContext
    let metrics: ServerMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        context.requestID = Self.requestID(from: request)
        context.logger[metadataKey: "request_id"] = .string(context.requestID)
        let start = DispatchTime.now().uptimeNanoseconds
        do {
            var response = try await withTaskExecutorPreference(ConnectionExecutor(context.eventLoop)) { [context] in
                try await next(request, context)
            }
            response.headers[.requestID] = context.requestID
            observe(request, status: response.status, start: start, context: context)
            return response
        } catch {
            // Only reached if an error escaped ErrorRenderingMiddleware, which renders all of them.
            observe(request, status: .internalServerError, start: start, context: context)
            throw error
        }
    }

    private func observe(_ request: Request, status: HTTPResponse.Status, start: UInt64, context: Context) {
        let nanoseconds = DispatchTime.now().uptimeNanoseconds - start
        // Routes are labelled by their pattern (`/p/{slug}`), unmatched paths all as `unmatched`, so labels stay few.
        let route = context.endpointPath.flatMap { $0 == "NotFound" ? nil : $0 } ?? "unmatched"
        metrics.record(route: route, method: request.method.rawValue, status: status.code, nanoseconds: nanoseconds)
        context.logger.info("request", metadata: [
            "method": .string(request.method.rawValue),
            "path": .string(request.uri.path),
            "status": .stringConvertible(status.code),
            "duration_ms": .string(String(format: "%.2f", Double(nanoseconds) / 1_000_000)),
        ])
    }

    static func requestID(from request: Request) -> String {
        if let offered = request.headers[.requestID], (1...64).contains(offered.utf8.count),
           offered.utf8.allSatisfy({ isIDCharacter($0) }) {
            return offered
        }
        return (try? SecureRandom.token(byteCount: 12)) ?? String(UInt64.random(in: .min ... .max), radix: 16)
    }

    // Letters, digits, `-`, `_`, `.`: nothing that could forge a log line or a header.
    private static func isIDCharacter(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."): true
        default: false
        }
    }
}

/// Headers every response carries, error responses included (this sits outside error rendering).
struct SecurityHeadersMiddleware: RouterMiddleware {
    typealias Context = LambaRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response = try await next(request, context)
        response.headers[.xContentTypeOptions] = "nosniff"
        response.headers[.xFrameOptions] = "DENY"
        response.headers[.contentSecurityPolicy] = response.headers[.contentSecurityPolicy] ?? "frame-ancestors 'none'"
        response.headers[.referrerPolicy] = "no-referrer"
        // API answers may hold tokens or personal data (RFC 6749 §5.1 requires no-store for tokens).
        if response.headers[.cacheControl] == nil,
           response.headers[.contentType]?.utf8.hasPrefixIgnoringASCIICase("application/json") == true {
            response.headers[.cacheControl] = "no-store"
        }
        return response
    }
}

/// Refuses a body whose declared length exceeds the limit before anything reads it, and hands the
/// limit to the body readers, which enforce it on chunked bodies too.
struct BodySizeLimitMiddleware: RouterMiddleware {
    typealias Context = LambaRequestContext
    let limit: Int

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if let declared = request.headers[.contentLength] {
            guard let length = Int(declared), length >= 0 else {
                throw APIError.invalidRequest("invalid Content-Length")
            }
            guard length <= limit else { throw APIError.payloadTooLarge(limit: limit) }
        }
        var context = context
        context.maxRequestBodySize = limit
        return try await next(request, context)
    }
}

/// Turns every thrown error into a JSON response. `APIError` (and `APIErrorConvertible`) render
/// themselves; Hummingbird's own HTTP errors map to the same shape; anything else is a 500 whose
/// detail goes to the log only. A path that exists under other methods answers 405.
struct ErrorRenderingMiddleware: RouterMiddleware {
    typealias Context = LambaRequestContext
    let allowedMethods: AllowedMethodsIndex

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            let apiError = await render(error, request: request, context: context)
            if apiError.status.kind == .serverError {
                context.logger.error("request failed", metadata: ["error": .string(String(reflecting: error))])
            } else if let debug = apiError.debug {
                context.logger.debug("request refused", metadata: ["error": .string(apiError.code), "debug": .string(debug)])
            }
            return apiError.renderedResponse()
        }
    }

    private func render(_ error: any Error, request: Request, context: Context) async -> APIError {
        switch error {
        case let error as APIError:
            return error
        case let error as any APIErrorConvertible:
            return error.apiError
        case let error as any HTTPResponseError:
            return await translate(error, request: request, context: context)
        default:
            return .serverError
        }
    }

    private func translate(_ error: any HTTPResponseError, request: Request, context: Context) async -> APIError {
        switch error.status {
        case .notFound:
            // The router found no route for this method; name the methods the path does have.
            if let allowed = await allowedMethods.methods(for: request, context: context), !allowed.contains(request.method) {
                return .methodNotAllowed(allowed: allowed)
            }
            return .notFound
        case .contentTooLarge:
            return .payloadTooLarge(limit: context.maxRequestBodySize)
        case .methodNotAllowed:
            return .methodNotAllowed(allowed: [])
        case let status where status.kind == .clientError:
            return APIError(status: status, code: "invalid_request", description: status.reasonPhrase)
        default:
            return .serverError
        }
    }
}

extension HTTPField.Name {
    static let requestID = HTTPField.Name("X-Request-Id")!
    static let xContentTypeOptions = HTTPField.Name("X-Content-Type-Options")!
    static let xFrameOptions = HTTPField.Name("X-Frame-Options")!
    static let referrerPolicy = HTTPField.Name("Referrer-Policy")!
}
