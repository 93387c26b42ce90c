public import Hummingbird
import LambaASCII
public import LambaJOSE

internal import Foundation
internal import LambaOAuth
internal import HTTPTypes
internal import NIOCore

/// The body media types Lamba's endpoints accept.
public enum MediaKind: String, Sendable, CaseIterable {
    case json = "application/json"
    case formURLEncoded = "application/x-www-form-urlencoded"
}

extension Request {
    /// The request's media type when it is one of `accepted` (an optional `charset=utf-8` allowed).
    /// - Throws: `APIError` 415 for any other or missing Content-Type, or another charset.
    @discardableResult
    public func requireContentType(_ accepted: MediaKind...) throws(APIError) -> MediaKind {
        guard let header = headers[.contentType] else { throw .unsupportedMediaType(expected: accepted) }
        let parts = header.split(separator: ";", omittingEmptySubsequences: false)
        let essence = parts[0].trimmingHTTPWhitespace().lowercased()
        guard let kind = accepted.first(where: { $0.rawValue == essence }) else { throw .unsupportedMediaType(expected: accepted) }
        for parameter in parts.dropFirst() {
            let pair = parameter.split(separator: "=", maxSplits: 1).map { $0.trimmingHTTPWhitespace() }
            guard pair.count == 2, pair[0].lowercased() == "charset",
                  ["utf-8", "\"utf-8\""].contains(pair[1].lowercased())
            else { throw .unsupportedMediaType(expected: accepted) }
        }
        return kind
    }

    /// The whole body, never more than `context.maxRequestBodySize` bytes.
    /// - Throws: `APIError` 413 past the limit.
    public func readBody(context: LambaRequestContext) async throws -> [UInt8] {
        do {
            let buffer = try await body.collect(upTo: context.maxRequestBodySize)
            return Array(buffer.readableBytesView)
        } catch is NIOTooManyBytesError {
            throw APIError.payloadTooLarge(limit: context.maxRequestBodySize)
        }
    }

    /// A JSON object body: Content-Type checked, size limited, duplicate member names and excessive
    /// nesting refused by `JSON.decodeObject`.
    /// - Throws: `APIError` 415, 413, or 400 `invalid_request` saying what was wrong.
    public func readJSONObject(context: LambaRequestContext, maxDepth: Int = 32) async throws -> JSONObject {
        try requireContentType(.json)
        let bytes = try await readBody(context: context)
        do {
            return try JSON.decodeObject(bytes, limits: JSONLimits(maxBytes: context.maxRequestBodySize, maxDepth: maxDepth))
        } catch {
            throw APIError.invalidRequest(Self.describe(error))
        }
    }

    /// A form body (RFC 6749 §3.2 and friends). Duplicates are kept so the caller can refuse them.
    /// - Throws: `APIError` 415, 413, or 400 `invalid_request`.
    public func readForm(context: LambaRequestContext) async throws -> FormParameters {
        try requireContentType(.formURLEncoded)
        let bytes = try await readBody(context: context)
        do {
            return try FormParameters(decoding: bytes)
        } catch {
            throw APIError.invalidRequest("malformed form body: \(error.message)")
        }
    }

    /// The query string's parameters, parsed as strictly as a form body.
    /// - Throws: `APIError` 400 `invalid_request`.
    public func queryParameters() throws(APIError) -> FormParameters {
        do {
            return try FormParameters(decoding: (uri.query ?? "").utf8)
        } catch {
            throw .invalidRequest("malformed query string: \(error.message)")
        }
    }

    private static func describe(_ error: JSONError) -> String {
        switch error.kind {
        case .duplicateMemberName: "malformed JSON body: duplicate member name"
        case .tooDeep: "malformed JSON body: nested too deeply"
        case .tooLarge: "JSON body too large"
        case .invalidSyntax, .unrepresentable: "malformed JSON body: \(error.description)"
        }
    }
}

extension Response {
    /// A JSON response written with `JSON.encode`. `Cache-Control: no-store` is added by
    /// `SecurityHeadersMiddleware` to every JSON response that does not set its own.
    public static func json(_ object: JSONObject, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        var fields = headers
        fields[.contentType] = "application/json"
        let bytes = JSON.encode(object)
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}
