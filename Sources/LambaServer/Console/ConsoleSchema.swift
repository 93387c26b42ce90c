public import LambaJOSE

/// A JSON Schema (2020-12, as OpenAPI 3.1 uses it) small enough to also check request bodies: the
/// console's routes declare their bodies once, and both the OpenAPI document and the input checks
/// come from that declaration. Constraints are the server's own (the domain's validation rules), so
/// that a body the document allows is one the server can accept, and one it forbids is refused.
public indirect enum ConsoleSchema: Sendable {
    /// Lengths count Unicode scalars (JSON Schema 2020-12 §6.3.1).
    case string(description: String? = nil, values: [String]? = nil, format: String? = nil,
                minLength: Int? = nil, maxLength: Int? = nil, rule: TextRule? = nil)
    case integer(description: String? = nil, minimum: Int? = nil, maximum: Int? = nil)
    case boolean(description: String? = nil)
    case array(ConsoleSchema, minItems: Int? = nil, maxItems: Int? = nil, uniqueItems: Bool = false)
    /// Members in order; `required` names the members a request must hold.
    case object([(String, ConsoleSchema)], required: [String] = [])
    /// An object whose member names are free (e.g. Project id → console role).
    case map(ConsoleSchema, maxProperties: Int? = nil)
    /// The value or JSON `null` (OpenAPI 3.1: `type: [T, "null"]`).
    case nullable(ConsoleSchema)
    /// Any JSON value (event data, whose shape depends on the event type).
    case any(description: String? = nil)
    /// A component of the document, `#/components/schemas/{name}`.
    case ref(String)

    /// A JSON number with no fraction, as JSON Schema counts integers (2020-12 §6.1.1: `2.0` is
    /// one); a real is taken only while a Double holds it exactly (|x| ≤ 2^53).
    static func integer(of value: JSONValue) -> Int64? {
        switch value {
        case .integer(let number): return number
        case .real(let number) where number.rounded(.towardZero) == number && abs(number) <= 9_007_199_254_740_992: return Int64(number)
        default: return nil
        }
    }

    /// Bound of arrays and maps in request bodies when the schema gives none.
    static let defaultMaxItems = 200

    public var json: JSONValue { .object(jsonObject) }

    private var jsonObject: JSONObject {
        switch self {
        case .string(let description, let values, let format, let minLength, let maxLength, let rule):
            var object: JSONObject = ["type": "string"]
            if let description { object["description"] = .string(description) }
            if let values { object["enum"] = .array(values.map(JSONValue.string)) }
            if let format { object["format"] = .string(format) }
            if let minLength { object["minLength"] = .integer(Int64(minLength)) }
            if let maxLength { object["maxLength"] = .integer(Int64(maxLength)) }
            if let rule { object["pattern"] = .string(rule.pattern) }
            return object
        case .integer(let description, let minimum, let maximum):
            var object: JSONObject = ["type": "integer"]
            if let description { object["description"] = .string(description) }
            if let minimum { object["minimum"] = .integer(Int64(minimum)) }
            if let maximum { object["maximum"] = .integer(Int64(maximum)) }
            return object
        case .boolean(let description):
            var object: JSONObject = ["type": "boolean"]
            if let description { object["description"] = .string(description) }
            return object
        case .array(let items, let minItems, let maxItems, let uniqueItems):
            var object: JSONObject = ["type": "array", "items": items.json]
            if let minItems { object["minItems"] = .integer(Int64(minItems)) }
            if let maxItems { object["maxItems"] = .integer(Int64(maxItems)) }
            if uniqueItems { object["uniqueItems"] = true }
            return object
        case .object(let members, let required):
            var properties = JSONObject()
            for (name, schema) in members { properties[name] = schema.json }
            var object: JSONObject = ["type": "object", "properties": .object(properties), "additionalProperties": false]
            if !required.isEmpty { object["required"] = .array(required.map(JSONValue.string)) }
            return object
        case .map(let values, let maxProperties):
            var object: JSONObject = ["type": "object", "additionalProperties": values.json]
            if let maxProperties { object["maxProperties"] = .integer(Int64(maxProperties)) }
            return object
        case .nullable(let inner):
            var object = inner.jsonObject
            if case .string(let type)? = object["type"] {
                object["type"] = .array([.string(type), "null"])
                if case .array(let values)? = object["enum"] { object["enum"] = .array(values + [.null]) }
                return object
            }
            return ["oneOf": .array([.object(object), .object(["type": "null"])])]
        case .any(let description):
            guard let description else { return [:] }
            return ["description": .string(description)]
        case .ref(let name):
            return ["$ref": .string("#/components/schemas/\(name)")]
        }
    }

    /// Checks a request body against an object schema: no unknown member, every required member,
    /// each member of the declared JSON type, enumeration, length, pattern and range. Nested objects
    /// are checked the same way.
    /// - Throws: `APIError` 400 `invalid_request` naming the field.
    func check(_ value: JSONValue, field: String) throws(APIError) {
        switch (self, value) {
        case (.nullable, .null), (.any, _):
            return
        case (.nullable(let inner), _):
            try inner.check(value, field: field)
        case (.string(_, let values, _, let minLength, let maxLength, let rule), .string(let text)):
            if let values, !values.contains(text) {
                throw .invalidRequest("\(field) must be one of \(values.joined(separator: ", "))", field: field)
            }
            let length = text.unicodeScalars.count
            if let minLength, length < minLength { throw .invalidRequest("\(field) must be at least \(minLength) characters", field: field) }
            if let maxLength, length > maxLength { throw .invalidRequest("\(field) must be at most \(maxLength) characters", field: field) }
            if let rule, !rule.matches(text) { throw .invalidRequest("\(field) \(rule.explanation)", field: field) }
        case (.integer(_, let minimum, let maximum), .integer), (.integer(_, let minimum, let maximum), .real):
            guard let number = Self.integer(of: value) else { throw .invalidRequest("\(field) must be an integer", field: field) }
            if let minimum, number < Int64(minimum) { throw .invalidRequest("\(field) must be at least \(minimum)", field: field) }
            if let maximum, number > Int64(maximum) { throw .invalidRequest("\(field) must be at most \(maximum)", field: field) }
        case (.boolean, .bool):
            return
        case (.array(let items, let minItems, let maxItems, let uniqueItems), .array(let elements)):
            if let minItems, elements.count < minItems { throw .invalidRequest("\(field) must hold at least \(minItems) elements", field: field) }
            let bound = maxItems ?? Self.defaultMaxItems
            guard elements.count <= bound else { throw .invalidRequest("\(field) must hold at most \(bound) elements", field: field) }
            for element in elements { try items.check(element, field: field) }
            if uniqueItems, Set(elements).count != elements.count {
                throw .invalidRequest("\(field) must not repeat an element", field: field)
            }
        case (.object(let members, let required), .object(let object)):
            let known = Set(members.map(\.0))
            if let unknown = object.names.first(where: { !known.contains($0) }) {
                throw .invalidRequest("unknown member \(unknown)", field: field.isEmpty ? unknown : "\(field).\(unknown)")
            }
            for name in required where object[name] == nil {
                throw .invalidRequest("\(name) is required", field: field.isEmpty ? name : "\(field).\(name)")
            }
            for (name, schema) in members {
                if let member = object[name] { try schema.check(member, field: field.isEmpty ? name : "\(field).\(name)") }
            }
        case (.map(let values, let maxProperties), .object(let object)):
            let bound = maxProperties ?? Self.defaultMaxItems
            guard object.count <= bound else { throw .invalidRequest("\(field) must hold at most \(bound) members", field: field) }
            for (name, member) in object { try values.check(member, field: "\(field).\(name)") }
        case (.ref, _):
            return
        default:
            throw .invalidRequest("\(field) has the wrong JSON type", field: field)
        }
    }
}

/// A `pattern` of the document with the Swift check that decides the same strings, so that the
/// document and the server never disagree about which text is acceptable.
public struct TextRule: Sendable {
    /// ECMA-262, anchored.
    public let pattern: String
    /// Said after the field's name when the text breaks the rule.
    public let explanation: String
    public let matches: @Sendable (String) -> Bool

    /// Printable text with something to show: no C0 control character or DEL anywhere, and at least
    /// one character that is not white space (the domain trims white space off display names).
    public static let displayText = TextRule(
        pattern: "^[^\\u0000-\\u001F\\u007F]*[^\\u0000-\\u0020\\u007F-\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000][^\\u0000-\\u001F\\u007F]*$",
        explanation: "must be printable text that is not only white space") { text in
        let scalars = text.unicodeScalars
        return !scalars.contains { $0.value < 0x20 || $0.value == 0x7F } && scalars.contains { !TextRule.isWhiteSpaceOrC1($0.value) }
    }

    /// The slug rule of `LambaModel.Slug`: a lowercase letter, then lowercase letters and digits with single inner hyphens.
    public static let slug = TextRule(pattern: "^[a-z](-?[a-z0-9])*$",
                                      explanation: "must be lowercase letters, digits and single hyphens, starting with a letter") { text in
        let bytes = Array(text.utf8)
        guard let first = bytes.first, (0x61...0x7A).contains(first), bytes.last != 0x2D else { return false }
        var previousHyphen = false
        for byte in bytes {
            if byte == 0x2D {
                if previousHyphen { return false }
                previousHyphen = true
            } else if (0x61...0x7A).contains(byte) || (0x30...0x39).contains(byte) {
                previousHyphen = false
            } else {
                return false
            }
        }
        return true
    }

    /// Printable ASCII without spaces (OAuth client ids of upstream providers).
    public static let printableASCII = TextRule(pattern: "^[!-~]+$", explanation: "must be printable ASCII without spaces") { text in
        !text.isEmpty && text.unicodeScalars.allSatisfy { $0.value > 0x20 && $0.value < 0x7F }
    }

    /// No C0 control character or DEL (secrets, passwords).
    public static let noControls = TextRule(pattern: "^[^\\u0000-\\u001F\\u007F]*$", explanation: "must not contain control characters") { text in
        !text.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F }
    }

    /// Role names of a Project's catalog (`ProjectRole.validateName`).
    public static let roleName = TextRule(pattern: "^[a-z][a-z0-9_-]*$", explanation: "must be lowercase letters, digits, - or _, starting with a letter") { text in
        let bytes = Array(text.utf8)
        guard let first = bytes.first, (0x61...0x7A).contains(first) else { return false }
        return bytes.allSatisfy { (0x61...0x7A).contains($0) || (0x30...0x39).contains($0) || $0 == 0x2D || $0 == 0x5F }
    }

    /// Event type names such as `user.created`.
    public static let eventType = TextRule(pattern: "^[a-z0-9._]+$", explanation: "must hold event type names such as user.created") { text in
        !text.isEmpty && text.utf8.allSatisfy { (0x61...0x7A).contains($0) || (0x30...0x39).contains($0) || $0 == 0x2E || $0 == 0x5F }
    }

    /// White space as Foundation trims it (`.whitespacesAndNewlines`: tab, line breaks, NEL and the
    /// Zs space separators), and the C1 range around NEL that the pattern leaves out for brevity.
    private static func isWhiteSpaceOrC1(_ value: UInt32) -> Bool {
        switch value {
        case 0x00...0x20, 0x7F...0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000: true
        default: false
        }
    }
}
