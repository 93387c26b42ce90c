public import LambaJOSE

/// Request parameters as sent (query string or form body), in order, duplicates kept so that the
/// endpoints can refuse them (RFC 6749 §3.1, §3.2).
public struct OAuthParameters: Sendable, Equatable {
    public struct Pair: Sendable, Equatable {
        public let name: String
        public let value: String
    }

    public let pairs: [Pair]

    public init(_ pairs: [(String, String)]) {
        self.pairs = pairs.map { Pair(name: $0.0, value: $0.1) }
    }

    init(pairs: [Pair]) {
        self.pairs = pairs
    }

    /// Decodes `application/x-www-form-urlencoded` (also a URL query). Malformed escapes are an
    /// `invalid_request`, never a crash.
    public static func decode<Bytes: Collection>(_ bytes: Bytes) throws(OAuthError) -> OAuthParameters where Bytes.Element == UInt8 {
        guard bytes.count <= 64 * 1024 else { throw .invalidRequest("the request is too large") }
        var pairs: [Pair] = []
        for part in Array(bytes).split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true) {
            let equals = part.firstIndex(of: UInt8(ascii: "=")) ?? part.endIndex
            let name = try percentDecode(part[..<equals])
            let value = equals < part.endIndex ? try percentDecode(part[(equals + 1)...]) : ""
            guard !name.isEmpty else { continue }
            pairs.append(Pair(name: name, value: value))
        }
        return OAuthParameters(pairs: pairs)
    }

    public static func decode(_ string: String) throws(OAuthError) -> OAuthParameters {
        try decode(Array(string.utf8))
    }

    static func percentDecode(_ bytes: ArraySlice<UInt8>) throws(OAuthError) -> String {
        // Tokens and ids rarely need decoding: validate them as they are.
        guard bytes.contains(where: { $0 == UInt8(ascii: "%") || $0 == UInt8(ascii: "+") }) else {
            guard let string = String(validating: bytes, as: UTF8.self) else { throw .invalidRequest("parameters must be UTF-8") }
            return string
        }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var index = bytes.startIndex
        while index < bytes.endIndex {
            let byte = bytes[index]
            if byte == UInt8(ascii: "+") {
                out.append(0x20)
            } else if byte == UInt8(ascii: "%") {
                guard index + 2 < bytes.endIndex,
                    let high = hexValue(bytes[index + 1]), let low = hexValue(bytes[index + 2])
                else { throw .invalidRequest("malformed percent-encoding") }
                out.append(high << 4 | low)
                index += 2
            } else {
                out.append(byte)
            }
            index += 1
        }
        guard let string = String(validating: out, as: UTF8.self) else { throw .invalidRequest("parameters must be UTF-8") }
        return string
    }

    private static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: c - 0x30
        case 0x41...0x46: c - 0x41 + 10
        case 0x61...0x66: c - 0x61 + 10
        default: nil
        }
    }

    /// Encodes pairs as `application/x-www-form-urlencoded` (RFC 6749 Appendix B).
    public static func encode(_ pairs: [(String, String)]) -> String {
        pairs.map { escape($0.0) + "=" + escape($0.1) }.joined(separator: "&")
    }

    public static func escape(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case 0x30...0x39, 0x41...0x5A, 0x61...0x7A, UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = Array("0123456789ABCDEF".utf8)
                out += "%" + String(decoding: [hex[Int(byte >> 4)], hex[Int(byte & 0xF)]], as: UTF8.self)
            }
        }
        return out
    }

    /// The one value of `name`, nil when absent. Empty values count as absent (RFC 6749 §3.1).
    /// - Throws: `invalid_request` when the parameter is repeated.
    public func single(_ name: String) throws(OAuthError) -> String? {
        var found: String?
        for pair in pairs where pair.name == name {
            if found != nil { throw .invalidRequest("the parameter \(name) is repeated") }
            found = pair.value
        }
        return found?.isEmpty == true ? nil : found
    }

    public func required(_ name: String) throws(OAuthError) -> String {
        guard let value = try single(name) else { throw .invalidRequest("the parameter \(name) is missing") }
        return value
    }

    /// RFC 6749 §3.1/§3.2: request and response parameters must not be included more than once.
    public func rejectDuplicates() throws(OAuthError) {
        var seen: Set<String> = []
        for pair in pairs where !seen.insert(pair.name).inserted {
            throw .invalidRequest("the parameter \(pair.name) is repeated")
        }
    }

    public func contains(_ name: String) -> Bool { pairs.contains { $0.name == name } }

    /// The pairs, without the named ones.
    public func removing(_ names: Set<String>) -> [(String, String)] {
        pairs.filter { !names.contains($0.name) }.map { ($0.name, $0.value) }
    }
}

/// An HTTP request as the endpoints see it: the server maps its framework's request to this.
public struct EndpointRequest: Sendable {
    public var method: String
    /// Query parameters for GET, form parameters for POST.
    public var parameters: OAuthParameters
    /// The `Authorization` header, if any.
    public var authorization: String?

    public init(method: String, parameters: OAuthParameters, authorization: String? = nil) {
        self.method = method
        self.parameters = parameters
        self.authorization = authorization
    }

    /// The shape every back-channel endpoint (token, revocation, introspection) requires: a POST
    /// with a form body (RFC 6749 §3.2; a JSON body is an `invalid_request`, §5.2) and no parameter
    /// given twice (§3.2).
    func requireFormPost(_ endpoint: String, isForm: Bool) throws(OAuthError) {
        guard method == "POST" else { throw OAuthError.invalidRequest("the \(endpoint) endpoint accepts POST only") }
        guard isForm else { throw OAuthError.invalidRequest("send the request as application/x-www-form-urlencoded") }
        try parameters.rejectDuplicates()
    }
}

/// An HTTP response produced by an endpoint; the server writes it as is.
public struct EndpointResponse: Sendable {
    public var status: Int
    public var headers: [(String, String)]
    public var body: [UInt8]

    public init(status: Int, headers: [(String, String)], body: [UInt8]) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// A JSON answer; token-bearing answers must not be cached (RFC 6749 §5.1).
    public static func json(_ object: JSONObject, status: Int = 200, noStore: Bool = true, extraHeaders: [(String, String)] = []) -> EndpointResponse {
        var headers: [(String, String)] = [("Content-Type", "application/json")]
        if noStore { headers += [("Cache-Control", "no-store"), ("Pragma", "no-cache")] }
        return EndpointResponse(status: status, headers: headers + extraHeaders, body: JSON.encode(object))
    }

    /// The error's JSON body and status (RFC 6749 §5.2), with `WWW-Authenticate` on 401 (§5.2,
    /// RFC 6750 §3).
    public static func error(_ thrown: any Error, bearer: Bool = false) -> EndpointResponse {
        let error = OAuthError.wrap(thrown)
        if bearer, error.lacksCredentials {
            return EndpointResponse(status: 401, headers: [("WWW-Authenticate", "Bearer realm=\"lamba\""), ("Cache-Control", "no-store")], body: [])
        }
        var object = JSONObject()
        object["error"] = .string(error.code.rawValue)
        object["error_description"] = .string(error.message)
        var extra: [(String, String)] = []
        if bearer, error.code == .invalidToken || error.code == .insufficientScope || error.code == .insufficientUserAuthentication {
            let maxAge = error.requiredMaxAge.map { ", max_age=\($0)" } ?? ""
            extra.append(("WWW-Authenticate", "Bearer error=\"\(error.code.rawValue)\", error_description=\"\(error.message)\"\(maxAge)"))
        } else if bearer, error.status == 401 {
            extra.append(("WWW-Authenticate", "Bearer"))
        } else if error.status == 401 {
            // RFC 6749 §5.2 wants the challenge when Basic was used; RFC 9110 §15.5.2 on every 401.
            extra.append(("WWW-Authenticate", "Basic realm=\"lamba\""))
        }
        if let seconds = error.retryAfterSeconds { extra.append(("Retry-After", String(seconds))) }
        return json(object, status: error.status, extraHeaders: extra)
    }
}
