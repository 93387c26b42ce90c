import HTTPTypes
import LambaJOSE
import LambaModel

/// OAuth clients of one Project environment. A client asked for under the other environment's path
/// is not found: sandbox and production never share clients (docs/access-model.md#environment-isolation).
enum ClientRoutes {
    static let base = "/console/v1/projects/{project_id}/environments/{environment}/clients"

    static let routes: [ConsoleRoute] = [
        ConsoleRoute(.get, base, "listClients", "The environment's OAuth clients", access: .project(.clientsRead),
                     response: ConsoleSchemas.list("Client")) { call in
            ConsoleJSON.list(try await call.services.projects.clients(
                try call.caller, projectID: try call.id("project_id", .project), environment: try call.environment).map { ConsoleJSON.client($0) })
        },
        ConsoleRoute(.post, base, "createClient", "Register an OAuth client; a confidential client's secret is in this response only",
                     access: .project(.clientsManage),
                     request: .object([
                         ("client_name", ConsoleSchemas.name), ("client_type", .string(values: ["confidential", "public"])),
                         ("redirect_uris", ConsoleSchemas.uris), ("post_logout_redirect_uris", ConsoleSchemas.uris),
                         ("grant_types", .array(.string(values: ["authorization_code", "refresh_token", "client_credentials"]), maxItems: 3, uniqueItems: true)),
                         ("token_endpoint_auth_method", .string(values: OAuthClient.AuthMethod.allCases.map(\.rawValue))),
                         ("first_party", .boolean()), ("id_token_signed_response_alg", .string(values: ["RS256", "PS256", "ES256", "EdDSA"])),
                         ("jwks", .string(description: "JWK Set JSON text", maxLength: 16_384)),
                     ], required: ["client_name", "client_type"]),
                     status: .created, response: .ref("Client")) { call in
            let type = try require(call.string("client_type").flatMap(OAuthClient.ClientType.init(rawValue:)), field: "client_type")
            var registration = ProjectAdministration.ClientRegistration(name: call.string("client_name") ?? "", type: type,
                                                                        redirectURIs: call.strings("redirect_uris") ?? [])
            if let uris = call.strings("post_logout_redirect_uris") { registration.postLogoutRedirectURIs = uris }
            if let grants = call.strings("grant_types") { registration.grantTypes = grants }
            registration.tokenEndpointAuthMethod = call.string("token_endpoint_auth_method").flatMap(OAuthClient.AuthMethod.init(rawValue:))
            if let firstParty = call.bool("first_party") { registration.firstParty = firstParty }
            if let alg = call.string("id_token_signed_response_alg") { registration.idTokenSignedResponseAlg = alg }
            registration.jwks = call.string("jwks")
            let (client, secret) = try await call.services.projects.createClient(
                try call.caller, projectID: try call.id("project_id", .project), environment: try call.environment, registration)
            return ConsoleJSON.client(client, secret: secret)
        },
        ConsoleRoute(.get, base + "/{client_id}", "getClient", "One OAuth client of the environment", access: .project(.clientsRead),
                     response: .ref("Client")) { call in
            ConsoleJSON.client(try await call.services.projects.client(
                try call.caller, projectID: try call.id("project_id", .project), environment: try call.environment,
                clientID: try call.id("client_id", .client)))
        },
        ConsoleRoute(.delete, base + "/{client_id}", "deleteClient", "Delete an OAuth client", access: .project(.clientsManage),
                     status: .noContent, response: nil) { call in
            try await call.services.projects.deleteClient(
                try call.caller, projectID: try call.id("project_id", .project), environment: try call.environment,
                clientID: try call.id("client_id", .client))
            return nil
        },
        ConsoleRoute(.post, base + "/{client_id}/rotate-secret", "rotateClientSecret", "Replace a client's secret; the new one is shown once",
                     access: .project(.clientsManage),
                     response: .object([("client_id", ConsoleSchemas.id), ("client_secret", .string())])) { call in
            let clientID = try call.id("client_id", .client)
            let secret = try await call.services.projects.rotateClientSecret(
                try call.caller, projectID: try call.id("project_id", .project), environment: try call.environment, clientID: clientID)
            return .object(["client_id": .string(clientID), "client_secret": .string(secret)])
        },
    ]
}
