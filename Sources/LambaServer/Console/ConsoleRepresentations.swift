import Foundation
import LambaJOSE
import LambaModel

/// How domain values appear on the console API (snake_case, RFC 3339 times, prefixed ids), and the
/// schemas of the same shapes for the OpenAPI document. Secrets never appear here except in the one
/// response that creates them.
enum ConsoleJSON {
    static func time(_ date: Date?) -> JSONValue {
        guard let date else { return .null }
        return .string(date.formatted(.iso8601))
    }

    static func strings(_ values: [String]) -> JSONValue { .array(values.map(JSONValue.string)) }

    static func list(_ items: [JSONValue]) -> JSONValue { .object(["data": .array(items)]) }

    static func workspace(_ w: Workspace) -> JSONValue {
        let limits = w.plan.limits
        return .object([
            "id": .string(w.id), "slug": .string(w.slug), "name": .string(w.name), "plan": .string(w.plan.rawValue),
            "plan_limits": .object(["projects": .integer(Int64(limits.projects)), "team_members": .integer(Int64(limits.teamMembers)),
                                    "project_members_per_project": .integer(Int64(limits.projectMembersPerProject))]),
            "status": .string(w.status.rawValue), "custom_domains": strings(w.customDomains),
            "session_max_age_seconds": .integer(Int64(w.securityPosture.sessionMaxAgeSeconds)),
            "sessions_valid_after": time(w.securityPosture.sessionsValidAfter), "created_at": time(w.createdAt),
        ])
    }

    static func apiKey(_ k: APIKey) -> JSONValue {
        .object([
            "id": .string(k.id), "name": .string(k.name), "role": .string(k.role.rawValue), "prefix": .string(k.displayPrefix),
            "created_by": k.createdBy.map(JSONValue.string) ?? .null, "created_at": time(k.createdAt), "revoked_at": time(k.revokedAt),
        ])
    }

    static func project(_ p: Project) -> JSONValue {
        .object([
            "id": .string(p.id), "workspace_id": .string(p.workspaceID), "slug": .string(p.slug), "name": .string(p.name),
            "visibility": .string(p.visibility.rawValue), "status": .string(p.status.rawValue), "created_at": time(p.createdAt),
        ])
    }

    static func environment(_ e: EnvironmentSettings) -> JSONValue {
        .object([
            "project_id": .string(e.projectID), "environment": .string(e.environment.rawValue),
            "auth_methods": strings(e.authMethods.map(\.description)), "allow_public_join": .bool(e.allowPublicJoin),
            "allow_register": .bool(e.allowRegister), "default_join_role": .string(e.defaultJoinRole),
            "access_token_lifetime_seconds": .integer(Int64(e.accessTokenLifetimeSeconds)),
            "id_token_lifetime_seconds": .integer(Int64(e.idTokenLifetimeSeconds)),
            "refresh_token_lifetime_seconds": .integer(Int64(e.refreshTokenLifetimeSeconds)),
            "access_token_algorithm": .string(e.accessTokenAlgorithm),
            "dynamic_client_registration": .string(e.dynamicClientRegistration.rawValue),
        ])
    }

    static func client(_ c: OAuthClient, secret: String? = nil) -> JSONValue {
        var object: JSONObject = [
            "client_id": .string(c.id), "project_id": .string(c.projectID), "environment": .string(c.environment.rawValue),
            "client_name": .string(c.name), "client_type": .string(c.type.rawValue),
            "token_endpoint_auth_method": .string(c.tokenEndpointAuthMethod.rawValue), "redirect_uris": strings(c.redirectURIs),
            "post_logout_redirect_uris": strings(c.postLogoutRedirectURIs), "grant_types": strings(c.grantTypes), "scopes": strings(c.scopes),
            "first_party": .bool(c.firstParty), "id_token_signed_response_alg": .string(c.idTokenSignedResponseAlg),
            "registered_dynamically": .bool(c.registeredDynamically), "created_at": time(c.createdAt),
        ]
        if let secret { object["client_secret"] = .string(secret) }
        return .object(object)
    }

    static func role(_ r: ProjectRole) -> JSONValue {
        .object([
            "name": .string(r.name), "description": .string(r.description), "permissions": strings(r.permissions),
            "built_in": .bool(r.builtIn), "created_at": time(r.createdAt),
        ])
    }

    static func user(_ u: LambaUser) -> JSONValue {
        .object(["id": .string(u.id), "email": .string(u.email), "name": .string(u.name)])
    }

    static func projectMember(_ m: ProjectMember, _ u: LambaUser?) -> JSONValue {
        .object([
            "id": .string(m.id), "project_id": .string(m.projectID), "user": u.map(user) ?? .null, "roles": strings(m.roles),
            "status": .string(m.status.rawValue), "joined_via": .string(m.joinedVia.rawValue), "created_at": time(m.createdAt),
            "updated_at": time(m.updatedAt),
        ])
    }

    static func consoleRoles(_ roles: [String: ProjectConsoleRole]) -> JSONValue {
        var object = JSONObject()
        for key in roles.keys.sorted() { object[key] = .string(roles[key]!.rawValue) }
        return .object(object)
    }

    static func teamMember(_ m: TeamMember, _ u: LambaUser?) -> JSONValue {
        .object([
            "id": .string(m.id), "user": u.map(user) ?? .null, "workspace_role": .string(m.workspaceRole.rawValue),
            "project_console_roles": consoleRoles(m.projectConsoleRoles), "created_at": time(m.createdAt),
        ])
    }

    static func customDomain(_ d: CustomDomain) -> JSONValue {
        .object([
            "id": .string(d.id), "domain": .string(d.domain), "status": .string(d.status.rawValue),
            "verification_token": .string(d.verificationToken),
            "verification_url": .string("https://\(d.domain)\(CustomDomain.proofPath)"),
            "created_at": time(d.createdAt), "expires_at": d.status == .pending ? time(d.expiresAt) : .null, "verified_at": time(d.verifiedAt),
        ])
    }

    static func invite(_ i: Invite, token: String?) -> JSONValue {
        var object: JSONObject = [
            "id": .string(i.id), "kind": .string(i.kind.rawValue), "email": .string(i.email),
            "project_id": i.projectID.map(JSONValue.string) ?? .null, "workspace_role": i.workspaceRole.map { .string($0.rawValue) } ?? .null,
            "project_console_roles": consoleRoles(i.projectConsoleRoles), "project_role": i.projectRole.map(JSONValue.string) ?? .null,
            "status": .string(i.status().rawValue), "created_at": time(i.createdAt), "expires_at": time(i.expiresAt),
            "accepted_at": time(i.acceptedAt),
        ]
        if let token { object["token"] = .string(token) }
        return .object(object)
    }
}

/// The component schemas of the OpenAPI document, one per representation above.
enum ConsoleSchemas {
    static let id = ConsoleSchema.string(description: "prefixed opaque id")
    static let time = ConsoleSchema.string(format: "date-time")
    static let workspaceRole = ConsoleSchema.string(values: WorkspaceRole.allCases.map(\.rawValue))
    static let consoleRole = ConsoleSchema.string(values: ProjectConsoleRole.allCases.map(\.rawValue))
    static let environmentName = ConsoleSchema.string(values: LambaModel.Environment.allCases.map(\.rawValue))
    static let strings = ConsoleSchema.array(.string())

    static func list(_ item: String) -> ConsoleSchema { .object([("data", .array(.ref(item)))], required: ["data"]) }

    static let components: [(String, ConsoleSchema)] = [
        ("Error", .object([("error", .string()), ("error_description", .string()), ("field", .string()), ("limit", .string()),
                           ("maximum", .integer())], required: ["error", "error_description"])),
        ("Workspace", .object([
            ("id", id), ("slug", .string()), ("name", .string()), ("plan", .string(values: Plan.allCases.map(\.rawValue))),
            ("plan_limits", .object([("projects", .integer()), ("team_members", .integer()), ("project_members_per_project", .integer())])),
            ("status", .string(values: ["active", "deactivated"])), ("custom_domains", strings), ("session_max_age_seconds", .integer()),
            ("sessions_valid_after", time), ("created_at", time),
        ])),
        ("APIKey", .object([("id", id), ("name", .string()), ("role", workspaceRole), ("prefix", .string()), ("created_by", .string()),
                            ("created_at", time), ("revoked_at", time), ("secret", .string(description: "only in the creating response"))])),
        ("Project", .object([("id", id), ("workspace_id", id), ("slug", .string()), ("name", .string()),
                             ("visibility", .string(values: ["public", "private"])), ("status", .string(values: ["active", "deactivated"])),
                             ("created_at", time)])),
        ("Environment", .object([
            ("project_id", id), ("environment", environmentName), ("auth_methods", strings), ("allow_public_join", .boolean()),
            ("allow_register", .boolean()), ("default_join_role", .string()), ("access_token_lifetime_seconds", .integer()),
            ("id_token_lifetime_seconds", .integer()), ("refresh_token_lifetime_seconds", .integer()), ("access_token_algorithm", .string()),
            ("dynamic_client_registration", .string(values: ["off", "loopback_only", "open"])),
        ])),
        ("Client", .object([
            ("client_id", id), ("project_id", id), ("environment", environmentName), ("client_name", .string()),
            ("client_type", .string(values: ["confidential", "public"])), ("token_endpoint_auth_method", .string()), ("redirect_uris", strings),
            ("post_logout_redirect_uris", strings), ("grant_types", strings), ("scopes", strings), ("first_party", .boolean()),
            ("id_token_signed_response_alg", .string()), ("registered_dynamically", .boolean()), ("created_at", time),
            ("client_secret", .string(description: "only when created or rotated")),
        ])),
        ("Provider", .object([
            ("id", id), ("project_id", id), ("environment", environmentName), ("name", .string()), ("issuer", .string()), ("client_id", .string()),
            ("scopes", strings), ("enabled", .boolean()), ("auth_method", .string(description: "provider:{id}, as in auth_methods")),
            ("redirect_path", .string(description: "register {issuer of this environment}/providers/callback at the provider")),
            ("created_at", time), ("updated_at", time),
        ])),
        ("Role", .object([("name", .string()), ("description", .string()), ("permissions", strings), ("built_in", .boolean()), ("created_at", time)])),
        ("User", .object([("id", id), ("email", .string()), ("name", .string())])),
        ("ProjectMember", .object([("id", id), ("project_id", id), ("user", .ref("User")), ("roles", strings),
                                   ("status", .string(values: ["active", "removed"])), ("joined_via", .string()), ("created_at", time),
                                   ("updated_at", time)])),
        ("TeamMember", .object([("id", id), ("user", .ref("User")), ("workspace_role", workspaceRole), ("project_console_roles", .map(consoleRole)),
                                ("created_at", time)])),
        ("CustomDomain", .object([
            ("id", id), ("domain", .string()), ("status", .string(values: CustomDomain.Status.allCases.map(\.rawValue))),
            ("verification_token", .string(description: "serve exactly this as the body of verification_url; proves control, grants nothing")),
            ("verification_url", .string()), ("created_at", time),
            ("expires_at", .string(description: "when a pending claim lapses", format: "date-time")), ("verified_at", time),
        ])),
        ("Invite", .object([("id", id), ("kind", .string(values: ["team", "project"])), ("email", .string()), ("project_id", id),
                            ("workspace_role", workspaceRole), ("project_console_roles", .map(consoleRole)), ("project_role", .string()),
                            ("status", .string(values: Invite.Status.allCases.map(\.rawValue))), ("created_at", time),
                            ("expires_at", time), ("accepted_at", time), ("token", .string(description: "only in the creating response"))])),
    ]
}
