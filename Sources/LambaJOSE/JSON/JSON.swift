internal import CJansson

/// Limits applied while decoding untrusted JSON.
public struct JSONLimits: Sendable {
    /// Largest accepted document, in bytes; checked before the parser sees a byte.
    public var maxBytes: Int
    /// Deepest accepted nesting of arrays and objects.
    public var maxDepth: Int

    public init(maxBytes: Int, maxDepth: Int) {
        self.maxBytes = maxBytes
        self.maxDepth = maxDepth
    }

    /// Sized for JOSE headers, claim sets and JWK sets.
    public static let jose = JSONLimits(maxBytes: 64 * 1024, maxDepth: 16)
}

/// Why a JSON document was refused.
public struct JSONError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        case tooLarge
        case tooDeep
        case duplicateMemberName
        case invalidSyntax
        case unrepresentable
    }

    public let kind: Kind
    /// jansson's message, or ours for limits it does not know.
    public let message: String
    /// 1-based position of the error in the input, when the parser reported one.
    public let position: Int?

    public var description: String {
        if let position { "\(message) (at byte \(position))" } else { message }
    }
}

/// JSON decoding and encoding on jansson.
///
/// Decoding rejects duplicate member names (`JSON_REJECT_DUPLICATES`), `\u0000` in strings, integers
/// outside Int64, and anything over the size and depth limits. Encoding is compact, keeps member order,
/// does not escape `/`, and writes reals with 17 significant digits so they read back exactly.
public enum JSON {
    public static func decode<Bytes: Collection>(_ bytes: Bytes, limits: JSONLimits = .jose) throws(JSONError) -> JSONValue
    where Bytes.Element == UInt8 {
        guard bytes.count <= limits.maxBytes else {
            throw JSONError(kind: .tooLarge, message: "document is larger than \(limits.maxBytes) bytes", position: nil)
        }
        var decoded: JSONValue = .null
        var failure: JSONError?
        withContiguousBytes(bytes) { raw in
            var error = json_error_t()
            let flags = Int(JSON_REJECT_DUPLICATES | JSON_DECODE_ANY)
            // An empty buffer has no base address; give the parser a valid pointer to zero bytes.
            let base = raw.baseAddress?.assumingMemoryBound(to: CChar.self) ?? UnsafePointer(emptyInput)
            guard let root = json_loadb(base, raw.count, flags, &error) else {
                failure = JSONError(parserError: error)
                return
            }
            defer { lamba_json_decref(root) }
            do throws(JSONError) { decoded = try convert(root, depth: 0, limits: limits) } catch { failure = error }
        }
        if let failure { throw failure }
        return decoded
    }

    public static func decode(_ string: String, limits: JSONLimits = .jose) throws(JSONError) -> JSONValue {
        try decode(Array(string.utf8), limits: limits)
    }

    /// Decodes a document whose top level must be an object (JOSE headers, claim sets, JWKs).
    public static func decodeObject<Bytes: Collection>(_ bytes: Bytes, limits: JSONLimits = .jose) throws(JSONError) -> JSONObject
    where Bytes.Element == UInt8 {
        guard case .object(let object) = try decode(bytes, limits: limits) else {
            throw JSONError(kind: .invalidSyntax, message: "top level is not a JSON object", position: nil)
        }
        return object
    }

    public static func encode(_ value: JSONValue) -> [UInt8] {
        let root = build(value)
        defer { lamba_json_decref(root) }
        let flags = Int(JSON_COMPACT | JSON_ENCODE_ANY) | realPrecision17
        // One pass for the usual small document (tokens, responses); a second only when it is larger.
        var out = [UInt8](repeating: 0, count: 1024)
        var size = out.withUnsafeMutableBufferPointer { buffer in
            json_dumpb(root, UnsafeMutableRawPointer(buffer.baseAddress!).assumingMemoryBound(to: CChar.self), buffer.count, flags)
        }
        if size > out.count {
            out = [UInt8](repeating: 0, count: size)
            size = out.withUnsafeMutableBufferPointer { buffer in
                json_dumpb(root, UnsafeMutableRawPointer(buffer.baseAddress!).assumingMemoryBound(to: CChar.self), buffer.count, flags)
            }
            precondition(size == out.count, "json_dumpb wrote \(size) of \(out.count) bytes")
        }
        out.removeLast(out.count - size)
        return out
    }

    public static func encode(_ object: JSONObject) -> [UInt8] { encode(.object(object)) }

    public static func encodeString(_ value: JSONValue) -> String { String(decoding: encode(value), as: UTF8.self) }

    nonisolated(unsafe) private static let emptyInput = UnsafeMutablePointer<CChar>.allocate(capacity: 1)

    // JSON_REAL_PRECISION(17) is a function-like macro.
    private static let realPrecision17 = (17 & 0x1F) << 11

    private static func convert(_ node: UnsafeMutablePointer<json_t>, depth: Int, limits: JSONLimits) throws(JSONError) -> JSONValue {
        switch json_type(rawValue: UInt32(lamba_json_typeof(node))) {
        case JSON_NULL: return .null
        case JSON_TRUE: return .bool(true)
        case JSON_FALSE: return .bool(false)
        case JSON_INTEGER: return .integer(Int64(json_integer_value(node)))
        case JSON_REAL: return .real(json_real_value(node))
        case JSON_STRING:
            return .string(string(json_string_value(node), length: json_string_length(node)))
        case JSON_ARRAY:
            guard depth < limits.maxDepth else { throw tooDeep(limits) }
            let count = json_array_size(node)
            var items: [JSONValue] = []
            items.reserveCapacity(count)
            for i in 0..<count {
                items.append(try convert(json_array_get(node, i)!, depth: depth + 1, limits: limits))
            }
            return .array(items)
        case JSON_OBJECT:
            guard depth < limits.maxDepth else { throw tooDeep(limits) }
            var object = JSONObject()
            var iterator = json_object_iter(node)
            while let current = iterator {
                let name = string(json_object_iter_key(current), length: json_object_iter_key_len(current))
                let value = try convert(json_object_iter_value(current)!, depth: depth + 1, limits: limits)
                // Names are unique already: the parser refused duplicates.
                object.appendNew(name, value)
                iterator = json_object_iter_next(node, current)
            }
            return .object(object)
        default:
            throw JSONError(kind: .unrepresentable, message: "unknown JSON node type", position: nil)
        }
    }

    private static func tooDeep(_ limits: JSONLimits) -> JSONError {
        JSONError(kind: .tooDeep, message: "nesting is deeper than \(limits.maxDepth) levels", position: nil)
    }

    private static func string(_ pointer: UnsafePointer<CChar>?, length: Int) -> String {
        guard let pointer else { return "" }
        return pointer.withMemoryRebound(to: UInt8.self, capacity: length) {
            String(decoding: UnsafeBufferPointer(start: $0, count: length), as: UTF8.self)
        }
    }

    /// Builds a new jansson tree; the caller owns the returned reference.
    private static func build(_ value: JSONValue) -> UnsafeMutablePointer<json_t> {
        let node: UnsafeMutablePointer<json_t>?
        switch value {
        case .null: node = json_null()
        case .bool(let b): node = b ? json_true() : json_false()
        case .integer(let i): node = json_integer(json_int_t(i))
        case .real(let r):
            // jansson refuses NaN and infinities, which JSON cannot express; write null as JSON.stringify does.
            node = r.isFinite ? json_real(r) : json_null()
        case .string(let s):
            // withCString's buffer holds the whole string, embedded NULs included; the length is explicit.
            node = s.withCString { json_stringn_nocheck($0, s.utf8.count) }
        case .array(let items):
            let array = json_array()!
            for item in items {
                // json_array_append_new steals the reference to the child.
                json_array_append_new(array, build(item))
            }
            node = array
        case .object(let members):
            let object = json_object()!
            for (name, child) in members {
                // Steals the reference to the child, like json_array_append_new.
                _ = name.withCString { json_object_setn_new_nocheck(object, $0, name.utf8.count, build(child)) }
            }
            node = object
        }
        guard let node else { fatalError("jansson could not allocate a JSON node") }
        return node
    }
}

extension JSONError {
    init(parserError error: json_error_t) {
        var error = error
        let text = withUnsafeBytes(of: &error.text) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        let kind: Kind = json_error_code(&error) == json_error_duplicate_key ? .duplicateMemberName : .invalidSyntax
        let position = error.position >= 0 ? Int(error.position) : nil
        self.init(kind: kind, message: text.isEmpty ? "invalid JSON" : text, position: position)
    }
}
