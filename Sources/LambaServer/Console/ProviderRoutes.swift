import HTTPTypes
import LambaJOSE
import LambaModel

/// Social providers of one Project environment. The client secret is write-only: it is sealed at
/// rest and never returned. `redirect_uri` is what to register at the provider.
enum ProviderRoutes {
    static let base = "/console/v1/projects/{project_id}/environments/{environment}/providers"

    static let settings: [(String, ConsoleSchema)] = [
        ("name", .string(description: "shown as \"Continue with {name}\"", maxLength: 200, rule: .displayText)),
        ("issuer", .string(description: "https issuer URL; its discovery document must name it exactly", format: "uri", maxLength: 2048)),
        ("client_id", .string(minLength: 1, maxLength: 255, rule: .printableASCII)),
        ("client_secret", .string(description: "write-only; sealed at rest", minLength: 1, maxLength: 256, rule: .noControls)),
        ("scopes", .array(.string(description: "must include openid; default openid email profile", maxLength: 100), maxItems: 20, uniqueItems: true)),
        ("enabled", .boolean(description: "whether provider:{id} is among the environment's sign-in methods")),
    ]

    static let routes: [ConsoleRoute] = [
        ConsoleRoute(.get, base, "listProviders", "The environment's social providers", access: .project(.projectRead),
                     response: ConsoleSchemas.list("Provider")) { call in
            let environment = try call.environment
            return ConsoleJSON.list(try await call.services.providers.providers(
                try call.caller, projectID: try call.id("project_id", .project), environment: environment).map(ProviderRoutes.json))
        },
        ConsoleRoute(.post, base, "createProvider", "Add a social provider (its issuer is checked through discovery); enabled unless told otherwise",
                     access: .project(.projectManage), request: .object(settings, required: ["name", "issuer", "client_id", "client_secret"]),
                     status: .created, response: .ref("Provider")) { call in
            let configured = try await call.services.providers.createProvider(
                try call.caller, projectID: try call.id("project_id", .project), environment: try call.environment, ProviderRoutes.changes(call),
                checkIssuer: call.services.issuerCheck)
            return ProviderRoutes.json(configured)
        },
        ConsoleRoute(.get, base + "/{provider_id}", "getProvider", "One social provider of the environment", access: .project(.projectRead),
                     response: .ref("Provider")) { call in
            ProviderRoutes.json(try await call.services.providers.provider(
                try call.caller, projectID: try call.id("project_id", .project), environment: try call.environment,
                providerID: try call.id("provider_id", .upstreamProvider)))
        },
        ConsoleRoute(.patch, base + "/{provider_id}", "updateProvider",
                     "Change a social provider; disabling it or changing its issuer or client id ends the runtime scopes signed in through it",
                     access: .project(.projectManage), request: .object(settings), response: .ref("Provider")) { call in
            ProviderRoutes.json(try await call.services.providers.updateProvider(
                try call.caller, projectID: try call.id("project_id", .project), environment: try call.environment,
                providerID: try call.id("provider_id", .upstreamProvider), ProviderRoutes.changes(call), checkIssuer: call.services.issuerCheck))
        },
        ConsoleRoute(.delete, base + "/{provider_id}", "deleteProvider",
                     "Remove a social provider and its linked accounts; refused when it would strand active Project Members",
                     access: .project(.projectManage), status: .noContent, response: nil) { call in
            try await call.services.providers.deleteProvider(
                try call.caller, projectID: try call.id("project_id", .project), environment: try call.environment,
                providerID: try call.id("provider_id", .upstreamProvider))
            return nil
        },
    ]

    static func changes(_ call: ConsoleCall) -> UpstreamProviderAdministration.Settings {
        var settings = UpstreamProviderAdministration.Settings()
        settings.name = call.string("name")
        settings.issuer = call.string("issuer")
        settings.clientID = call.string("client_id")
        settings.clientSecret = call.string("client_secret")
        settings.scopes = call.strings("scopes")
        settings.enabled = call.bool("enabled")
        return settings
    }

    /// The callback every provider of the environment redirects to, under the issuer.
    static func json(_ configured: UpstreamProviderAdministration.Configured) -> JSONValue {
        let p = configured.provider
        return .object([
            "id": .string(p.id), "project_id": .string(p.projectID), "environment": .string(p.environment.rawValue), "name": .string(p.name),
            "issuer": .string(p.issuer), "client_id": .string(p.clientID), "scopes": ConsoleJSON.strings(p.scopes),
            "enabled": .bool(configured.enabled), "auth_method": .string(p.method.description),
            "redirect_path": .string("/providers/callback"),
            "created_at": ConsoleJSON.time(p.createdAt), "updated_at": ConsoleJSON.time(p.updatedAt),
        ])
    }
}
