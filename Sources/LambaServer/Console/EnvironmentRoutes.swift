import HTTPTypes
import LambaJOSE
import LambaModel

/// `/console/v1/projects/{project_id}/environments/{environment}`: each environment's own settings.
enum EnvironmentRoutes {
    static let routes: [ConsoleRoute] = [
        ConsoleRoute(.get, "/console/v1/projects/{project_id}/environments/{environment}", "getEnvironment",
                     "Settings of the sandbox or production environment", access: .project(.projectRead), response: .ref("Environment")) { call in
            ConsoleJSON.environment(try await call.services.projects.environment(
                try call.caller, projectID: try call.id("project_id", .project), environment: try call.environment))
        },
        ConsoleRoute(.patch, "/console/v1/projects/{project_id}/environments/{environment}", "updateEnvironment",
                     "Change an environment; a sign-in method change that would strand active Project Members is refused",
                     access: .project(.projectManage),
                     request: .object([
                         ("auth_methods", .array(.string(description: "password, passkey or provider:{id}", maxLength: 100), maxItems: 20, uniqueItems: true)),
                         ("allow_public_join", .boolean()), ("allow_register", .boolean()),
                         ("require_verified_email", .boolean(description: "users enter only once their email is verified")),
                         ("require_mfa", .boolean(description: "every sign-in proves a second factor; users without one set up an authenticator app")),
                         ("default_join_role", ConsoleSchemas.roleName),
                         ("access_token_lifetime_seconds", .integer(minimum: 60, maximum: 86_400)),
                         ("id_token_lifetime_seconds", .integer(minimum: 60, maximum: 86_400)),
                         ("refresh_token_lifetime_seconds", .integer(minimum: 300, maximum: 365 * 86_400)),
                         ("access_token_algorithm", .string(values: ["RS256", "PS256", "ES256", "EdDSA"])),
                         ("dynamic_client_registration", .string(values: ["off", "loopback_only", "open"])),
                         ("refresh_token_reuse_grace_seconds", .integer(
                             description: "0 (off) to 120: a rotated refresh token presented once more within this many seconds yields a fresh successor instead of revoking the family",
                             minimum: 0, maximum: EnvironmentSettings.maximumRefreshTokenReuseGraceSeconds)),
                     ]),
                     response: .ref("Environment")) { call in
            var changes = ProjectAdministration.EnvironmentChanges()
            if let methods = call.strings("auth_methods") {
                changes.authMethods = try methods.map { text in
                    guard let method = AuthMethod(text) else { throw APIError.invalidRequest("\(text) is not a sign-in method", field: "auth_methods") }
                    return method
                }
            }
            changes.allowPublicJoin = call.bool("allow_public_join")
            changes.allowRegister = call.bool("allow_register")
            changes.requireVerifiedEmail = call.bool("require_verified_email")
            changes.requireMFA = call.bool("require_mfa")
            changes.defaultJoinRole = call.string("default_join_role")
            changes.accessTokenLifetimeSeconds = try call.int("access_token_lifetime_seconds")
            changes.idTokenLifetimeSeconds = try call.int("id_token_lifetime_seconds")
            changes.refreshTokenLifetimeSeconds = try call.int("refresh_token_lifetime_seconds")
            changes.accessTokenAlgorithm = call.string("access_token_algorithm")
            changes.dynamicClientRegistration = call.string("dynamic_client_registration").flatMap(DynamicClientRegistration.init(rawValue:))
            changes.refreshTokenReuseGraceSeconds = try call.int("refresh_token_reuse_grace_seconds")
            return ConsoleJSON.environment(try await call.services.projects.updateEnvironment(
                try call.caller, projectID: try call.id("project_id", .project), environment: try call.environment, changes))
        },
    ]
}
