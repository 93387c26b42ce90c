public import LambaJOSE

/// A JSON Schema (2020-12, as OpenAPI 3.1 uses it) small enough to also check request bodies: the
/// console's routes declare their bodies once, and both the OpenAPI document and the input checks
/// come from that declaration.
public indirect enum ConsoleSchema: Sendable {
    case string(description: String? = nil, values: [String]? = nil, format: String? = nil)
    case integer(description: String? = nil)
    case boolean(description: String? = nil)
    case array(ConsoleSchema)
    /// Members in order; `required` names the members a request must hold.
    case object([(String, ConsoleSchema)], required: [String] = [])
    /// An object whose member names are free (e.g. Project id → console role).
    case map(ConsoleSchema)
    /// A component of the document, `#/components/schemas/{name}`.
    case ref(String)

    public var json: JSONValue {
        switch self {
        case .string(let description, let values, let format):
            var object: JSONObject = ["type": "string"]
            if let description { object["description"] = .string(description) }
            if let values { object["enum"] = .array(values.map(JSONValue.string)) }
            if let format { object["format"] = .string(format) }
            return .object(object)
        case .integer(let description):
            var object: JSONObject = ["type": "integer"]
            if let description { object["description"] = .string(description) }
            return .object(object)
        case .boolean(let description):
            var object: JSONObject = ["type": "boolean"]
            if let description { object["description"] = .string(description) }
            return .object(object)
        case .array(let items):
            return .object(["type": "array", "items": items.json])
        case .object(let members, let required):
            var properties = JSONObject()
            for (name, schema) in members { properties[name] = schema.json }
            var object: JSONObject = ["type": "object", "properties": .object(properties), "additionalProperties": false]
            if !required.isEmpty { object["required"] = .array(required.map(JSONValue.string)) }
            return .object(object)
        case .map(let values):
            return .object(["type": "object", "additionalProperties": values.json])
        case .ref(let name):
            return .object(["$ref": .string("#/components/schemas/\(name)")])
        }
    }

    /// Checks a request body against an object schema: no unknown member, every required member,
    /// each member of the declared JSON type and enumeration. Nested objects are checked the same way.
    /// - Throws: `APIError` 400 `invalid_request` naming the field.
    func check(_ value: JSONValue, field: String) throws(APIError) {
        switch (self, value) {
        case (.string(_, let values, _), .string(let text)):
            if let values, !values.contains(text) {
                throw .invalidRequest("\(field) must be one of \(values.joined(separator: ", "))", field: field)
            }
        case (.integer, .integer), (.boolean, .bool):
            return
        case (.array(let items), .array(let elements)):
            guard elements.count <= 200 else { throw .invalidRequest("\(field) has too many elements", field: field) }
            for element in elements { try items.check(element, field: field) }
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
        case (.map(let values), .object(let object)):
            guard object.count <= 200 else { throw .invalidRequest("\(field) has too many members", field: field) }
            for (name, member) in object { try values.check(member, field: "\(field).\(name)") }
        case (.ref, _):
            return
        default:
            throw .invalidRequest("\(field) has the wrong JSON type", field: field)
        }
    }
}
