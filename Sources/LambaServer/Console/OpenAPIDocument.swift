import HTTPTypes
import LambaJOSE
import LambaModel

/// The OpenAPI 3.1 document of the console API, generated from `ConsoleRoutes.table`, with the
/// permission table of Workspace roles and Project console roles under `x-lamba-permissions`, and
/// the runtime APIs a product calls under its issuer (`RuntimeOperations`).
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
        for (path, item) in RuntimeOperations.paths { paths[path] = item }
        var schemas = JSONObject()
        for (name, schema) in ConsoleSchemas.components + RuntimeOperations.components { schemas[name] = schema.json }
        var securitySchemes: JSONObject = [
            "apiKey": .object(["type": "http", "scheme": "bearer", "description": "Workspace API key (lmb_sk_…)"]),
            "consoleSession": .object(["type": "apiKey", "in": "cookie", "name": "lamba_console",
                                       "description": "Console session of a person signed in through the console issuer; unsafe methods also send X-Lamba-CSRF"]),
        ]
        for (name, scheme) in RuntimeOperations.securitySchemes { securitySchemes[name] = scheme }
        return .object([
            "openapi": "3.1.0",
            "info": .object([
                "title": "Lamba console API", "version": "1",
                "description": .string("""
                    Operate a Workspace: its Projects, environments, OAuth clients, role catalogs, Team Members and Project Members, \
                    and read what happened: the audit log, the event stream, webhook endpoints and their deliveries. \
                    Authenticate with a Workspace API key as a Bearer token. Each operation names the console capability it needs \
                    (`x-lamba-capability`); `x-lamba-permissions` lists what each Workspace role and Project console role grants. \
                    Console roles never grant runtime access, and Project roles never grant console access. \
                    The runtime APIs a product calls under its issuer, `/p/{project_slug}/{environment}`, are listed too \
                    (the access check and `/me`); they take a client's credentials or the user's access token, \
                    never console credentials.
                    """),
            ]),
            "servers": .array([.object(["url": "/"])]),
            "paths": .object(paths),
            "components": .object([
                "schemas": .object(schemas),
                "securitySchemes": .object(securitySchemes),
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
        case .anyOf(let capabilities):
            operation["security"] = .array([.object(["apiKey": .array([])]), .object(["consoleSession": .array([])])])
            operation["x-lamba-capability"] = .string(capabilities.map(\.rawValue).joined(separator: " | "))
        }
        // Where the capability counts (docs/access-model.md#console-capabilities).
        switch route.access {
        case .anonymous: operation["x-lamba-access"] = "anonymous"
        case .signedIn: operation["x-lamba-access"] = "signed_in"
        case .workspace: operation["x-lamba-access"] = "workspace"
        case .project: operation["x-lamba-access"] = "project"
        case .anyProject: operation["x-lamba-access"] = "any_project"
        case .anyOf: operation["x-lamba-access"] = "per_field"
        }
        return operation
    }
}

/// The runtime APIs under each issuer that a product calls: described here by hand, since the
/// protocol engine (`LambaOAuth`) serves them, not the console route table.
enum RuntimeOperations {
    static let issuer = "/p/{project_slug}/{environment}"

    static var securitySchemes: JSONObject {
        [
            "clientSecretBasic": .object(["type": "http", "scheme": "basic",
                                          "description": "The product backend's OAuth client of this environment (client_secret_basic, RFC 6749 §2.3.1); client_secret_post puts client_id and client_secret in the form instead"]),
            "accessToken": .object(["type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                                    "description": "An access token this issuer minted for the user (RFC 6750 §2.1), public clients' too"]),
        ]
    }

    static let components: [(String, ConsoleSchema)] = [
        ("OAuthError", .object([("error", .string()), ("error_description", .string())], required: ["error"])),
        ("AccessDecision", .object([
            ("allowed", .boolean()),
            ("reason", .string(description: "granted, permission_not_granted, token_invalid, token_revoked, not_a_user_token, scope_revoked, not_a_member, membership_removed, project_deactivated, workspace_deactivated, user_deactivated")),
            ("sub", .string()), ("project_id", .string()), ("environment", ConsoleSchemas.environmentName), ("sid", .string()),
            ("permission", .string()), ("roles", .array(.string())),
        ], required: ["allowed", "reason"])),
        ("Me", .object([
            ("sub", .string()), ("email", .string()), ("email_verified", .boolean()), ("name", .string()), ("project_id", .string()),
            ("environment", ConsoleSchemas.environmentName), ("sign_in_methods", .array(.string())),
            ("providers", .array(.object([("provider_id", .string()), ("name", .string()), ("email", .nullable(.string())),
                                          ("linked_at", .string(format: "date-time")), ("enabled", .boolean())]))),
        ], required: ["sub", "email", "email_verified", "name", "project_id", "environment", "sign_in_methods", "providers"])),
        ("EffectiveAuthorization", .object([
            ("sub", .string()), ("sid", .string(description: "the runtime scope")), ("project_id", .string()),
            ("environment", ConsoleSchemas.environmentName), ("resolved_at", .string(format: "date-time")),
            ("active", .boolean(description: "false once the scope, membership, user, Project or Workspace ended")),
            ("reason", .string(description: "active, token_revoked, scope_revoked, not_a_member, membership_removed, project_deactivated, workspace_deactivated, user_deactivated")),
            ("membership", .nullable(.object([
                ("id", .string()), ("status", .string()), ("joined_via", .string()),
                ("created_at", .string(format: "date-time")), ("updated_at", .string(format: "date-time")),
            ], required: ["id", "status", "joined_via", "created_at", "updated_at"]))),
            ("roles", .array(.object([("name", .string()), ("permissions", .array(.string()))], required: ["name", "permissions"]))),
            ("permissions", .array(.string(description: "resource:action; * and resource:* are wildcards"))),
        ], required: ["sub", "sid", "project_id", "environment", "resolved_at", "active", "reason", "membership", "roles", "permissions"])),
    ]

    static func json(_ name: String) -> JSONValue {
        .object(["application/json": .object(["schema": .object(["$ref": .string("#/components/schemas/\(name)")])])])
    }

    static var parameters: JSONValue {
        .array([
            .object(["name": "project_slug", "in": "path", "required": true,
                     "schema": .object(["type": "string", "minLength": 1, "maxLength": 63])]),
            .object(["name": "environment", "in": "path", "required": true,
                     "schema": .object(["type": "string", "enum": .array(LambaModel.Environment.allCases.map { .string($0.rawValue) })])]),
        ])
    }

    static var noSuchIssuer: JSONValue {
        .object(["description": "not_found: no such Project or environment", "content": json("OAuthError")])
    }

    /// A Bearer refusal (RFC 6750 §3.1): without credentials the body may be empty.
    static var bearerRefusal: JSONValue {
        .object(["description": "invalid_token: missing, malformed, expired or revoked access token (with WWW-Authenticate: Bearer)",
                 "headers": .object(["WWW-Authenticate": .object(["required": true, "schema": .object(["type": "string"])])]),
                 "content": json("OAuthError")])
    }

    static var paths: JSONObject {
        let accessCheck: JSONObject = [
            "operationId": "checkAccess",
            "summary": "Whether the token's user may use a permission in this Project environment now, with the reason, from current membership and roles",
            "security": .array([.object(["clientSecretBasic": .array([])]), .object([:])]),
            "requestBody": .object(["required": true, "content": .object([
                "application/x-www-form-urlencoded": .object(["schema": ConsoleSchema.object([
                    ("token", .string(description: "the user's access token")), ("permission", .string(maxLength: 200)),
                    ("client_id", .string(description: "client_secret_post")), ("client_secret", .string(description: "client_secret_post")),
                ], required: ["token", "permission"]).json]),
            ])]),
            "responses": .object([
                "200": .object(["description": "the decision; an unusable token is allowed: false with its reason", "content": json("AccessDecision")]),
                "400": .object(["description": "invalid_request: a missing, duplicated or oversized parameter", "content": json("OAuthError")]),
                "401": .object(["description": "invalid_client: the client did not authenticate", "content": json("OAuthError")]),
                "404": noSuchIssuer,
            ]),
        ]
        let me: JSONObject = [
            "operationId": "getMe",
            "summary": "The signed-in user's profile in this environment, linked providers and the sign-in methods that work here",
            "security": .array([.object(["accessToken": .array([])])]),
            "responses": .object(["200": .object(["description": "OK", "content": json("Me")]), "401": bearerRefusal, "404": noSuchIssuer]),
        ]
        func effectiveAuthorization(_ operationID: String) -> JSONObject {
            [
                "operationId": .string(operationID),
                "summary": "The caller's own Project membership, roles and permissions, resolved now; for the product's UI before it shows privileged runtime actions",
                "security": .array([.object(["accessToken": .array([])])]),
                "responses": .object([
                    "200": .object(["description": "OK; a token whose access ended answers active: false with the reason", "content": json("EffectiveAuthorization")]),
                    "400": .object(["description": "invalid_request: the token sent in more than one way, or a duplicated parameter", "content": json("OAuthError")]),
                    "401": bearerRefusal, "404": noSuchIssuer,
                ]),
            ]
        }
        var paths = JSONObject()
        let operations: [(String, String, JSONObject)] = [
            ("/access/check", "post", accessCheck), ("/me", "get", me),
            ("/me/authorization", "get", effectiveAuthorization("getEffectiveAuthorization")),
            ("/me/authorization", "post", effectiveAuthorization("postEffectiveAuthorization")),
        ]
        for (path, method, operation) in operations {
            var operation = operation
            operation["parameters"] = parameters
            operation["tags"] = ["runtime"]
            var item = paths[issuer + path]?.objectValue ?? JSONObject()
            item[method] = .object(operation)
            paths[issuer + path] = .object(item)
        }
        return paths
    }
}
