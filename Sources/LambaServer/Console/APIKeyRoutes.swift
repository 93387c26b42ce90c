import HTTPTypes
import LambaJOSE
import LambaModel

/// `/console/v1/api-keys`: Workspace API keys, shown once, stored hashed.
enum APIKeyRoutes {
    static let routes: [ConsoleRoute] = [
        ConsoleRoute(.get, "/console/v1/api-keys", "listAPIKeys", "The Workspace's API keys (never their secrets)",
                     access: .workspace(.apiKeysManage), response: ConsoleSchemas.list("APIKey")) { call in
            ConsoleJSON.list(try await call.services.workspaces.apiKeys(try call.caller).map(ConsoleJSON.apiKey))
        },
        ConsoleRoute(.post, "/console/v1/api-keys", "createAPIKey", "Create an API key; its secret is in this response only",
                     access: .workspace(.apiKeysManage),
                     request: .object([("name", ConsoleSchemas.name), ("role", ConsoleSchemas.workspaceRole)], required: ["name", "role"]),
                     status: .created, response: .ref("APIKey")) { call in
            let role = try require(call.string("role").flatMap(WorkspaceRole.init(rawValue:)), field: "role")
            let (key, secret) = try await call.services.workspaces.createAPIKey(try call.caller, name: call.string("name") ?? "", role: role)
            guard case .object(var object) = ConsoleJSON.apiKey(key) else { return nil }
            object["secret"] = .string(secret)
            return .object(object)
        },
        ConsoleRoute(.delete, "/console/v1/api-keys/{api_key_id}", "revokeAPIKey", "Revoke an API key", access: .workspace(.apiKeysManage),
                     status: .noContent, response: nil) { call in
            try await call.services.workspaces.revokeAPIKey(try call.caller, keyID: try call.id("api_key_id", .apiKey))
            return nil
        },
    ]
}

/// A member the body schema already checked for presence and enumeration; this only unwraps it.
func require<T>(_ value: T?, field: String) throws -> T {
    guard let value else { throw APIError.invalidRequest("\(field) is required", field: field) }
    return value
}
