import HTTPTypes
import LambaJOSE
import LambaModel

/// The OpenAPI 3.1 document of the console API, generated from `ConsoleRoutes.table`, with the
/// permission table of Workspace roles and Project console roles under `x-lamba-permissions`.
enum OpenAPIDocument {
    static let route = ConsoleRoute(.get, "/console/v1/openapi.json", "getOpenAPIDocument", "This document", access: .anonymous,
                                    response: .map(.any(description: "OpenAPI 3.1 document members"))) { _ in document }

    static let errorStatuses: [(String, String)] = [
        ("400", "invalid_request: malformed, oversized or unknown input (with `field`)"),
        ("401", "invalid_token: missing, unknown or revoked API key (with WWW-Authenticate: Bearer)"),
        ("403", "forbidden: the caller's roles do not grant the capability"),
        ("404", "not_found: no such resource in the caller's Workspace (another Workspace's ids too)"),
        ("409", "conflict, refused (a rule of the model) or plan_limit_exceeded (with `limit` and `maximum`)"),
        ("413", "payload_too_large"), ("415", "unsupported_media_type: bodies are application/json"),
    ]

    static var document: JSONValue {
        var paths = JSONObject()
        for route in ConsoleRoutes.table {
            var item = paths[route.path]?.objectValue ?? JSONObject()
            item[route.method.rawValue.lowercased()] = .object(operation(route))
            paths[route.path] = .object(item)
        }
        var schemas = JSONObject()
        for (name, schema) in ConsoleSchemas.components { schemas[name] = schema.json }
        return .object([
            "openapi": "3.1.0",
            "info": .object([
                "title": "Lamba console API", "version": "1",
                "description": .string("""
                    Operate a Workspace: its Projects, environments, OAuth clients, role catalogs, Team Members and Project Members, \
                    and read what happened: the audit log, the event stream, webhook endpoints and their deliveries. \
                    Authenticate with a Workspace API key as a Bearer token. Each operation names the console capability it needs \
                    (`x-lamba-capability`); `x-lamba-permissions` lists what each Workspace role and Project console role grants. \
                    Console roles never grant runtime access, and Project roles never grant console access.
                    """),
            ]),
            "servers": .array([.object(["url": "/"])]),
            "paths": .object(paths),
            "components": .object([
                "schemas": .object(schemas),
                "securitySchemes": .object([
                    "apiKey": .object(["type": "http", "scheme": "bearer", "description": "Workspace API key (lmb_sk_…)"]),
                    "consoleSession": .object(["type": "apiKey", "in": "cookie", "name": "lamba_console",
                                               "description": "Console session of a person signed in through the console issuer; unsafe methods also send X-Lamba-CSRF"]),
                ]),
            ]),
            "x-lamba-permissions": permissions,
        ])
    }

    static var permissions: JSONValue {
        var workspace = JSONObject()
        for role in WorkspaceRole.allCases { workspace[role.rawValue] = capabilities(role.capabilities) }
        var project = JSONObject()
        for role in ProjectConsoleRole.allCases { project[role.rawValue] = capabilities(role.capabilities) }
        return .object(["workspace_roles": .object(workspace), "project_console_roles": .object(project)])
    }

    private static func capabilities(_ set: Set<ConsoleCapability>) -> JSONValue {
        .array(ConsoleCapability.allCases.filter(set.contains).map { .string($0.rawValue) })
    }

    private static func operation(_ route: ConsoleRoute) -> JSONObject {
        var operation: JSONObject = ["operationId": .string(route.operationID), "summary": .string(route.summary)]
        var parameters: [JSONValue] = route.parameters.map { name in
            var schema: JSONObject = ["type": "string"]
            if name == "environment" { schema["enum"] = .array(LambaModel.Environment.allCases.map { .string($0.rawValue) }) }
            return .object(["name": .string(name), "in": "path", "required": true, "schema": .object(schema)])
        }
        for (name, schema) in route.query {
            parameters.append(.object(["name": .string(name), "in": "query", "required": false, "schema": schema.json]))
        }
        if !parameters.isEmpty { operation["parameters"] = .array(parameters) }
        if let request = route.request {
            operation["requestBody"] = .object(["required": .bool(!route.requestOptional),
                                                "content": .object(["application/json": .object(["schema": request.json])])])
        }
        var responses = JSONObject()
        var success: JSONObject = ["description": .string(route.status.reasonPhrase)]
        if let response = route.response {
            success["content"] = .object(["application/json": .object(["schema": response.json])])
        }
        responses[String(route.status.code)] = .object(success)
        for (status, description) in errorStatuses {
            if case .anonymous = route.access, ["401", "403"].contains(status) { continue }
            if route.request == nil, ["413", "415"].contains(status) { continue }
            responses[status] = .object(["description": .string(description), "content": .object(["application/json": .object(["schema": .object(["$ref": "#/components/schemas/Error"])])])])
        }
        operation["responses"] = .object(responses)
        switch route.access {
        case .anonymous:
            operation["security"] = .array([])
        case .signedIn:
            operation["security"] = .array([.object(["consoleSession": .array([])])])
        case .workspace(let capability), .project(let capability), .anyProject(let capability):
            operation["security"] = .array([.object(["apiKey": .array([])]), .object(["consoleSession": .array([])])])
            operation["x-lamba-capability"] = .string(capability.rawValue)
        case .anyOf:
            operation["security"] = .array([.object(["apiKey": .array([])]), .object(["consoleSession": .array([])])])
            operation["x-lamba-capability"] = .string("per field: see summary")
        }
        return operation
    }
}
