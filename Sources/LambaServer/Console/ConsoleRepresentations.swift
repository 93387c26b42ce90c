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
            "mail_from": w.mailFrom.map(JSONValue.string) ?? .null,
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

    static func branding(_ b: ProjectBranding) -> JSONValue {
        .object([
            "display_name": b.displayName.map(JSONValue.string) ?? .null, "logo_url": b.logoURL.map(JSONValue.string) ?? .null,
            "primary_color": b.primaryColor.map(JSONValue.string) ?? .null,
        ])
    }

    static func environment(_ e: EnvironmentSettings) -> JSONValue {
        .object([
            "project_id": .string(e.projectID), "environment": .string(e.environment.rawValue),
            "auth_methods": strings(e.authMethods.map(\.description)), "allow_public_join": .bool(e.allowPublicJoin),
            "allow_register": .bool(e.allowRegister), "require_verified_email": .bool(e.requireVerifiedEmail ?? false),
            "require_mfa": .bool(e.requireMFA ?? false),
            "default_join_role": .string(e.defaultJoinRole),
            "access_token_lifetime_seconds": .integer(Int64(e.accessTokenLifetimeSeconds)),
            "id_token_lifetime_seconds": .integer(Int64(e.idTokenLifetimeSeconds)),
            "refresh_token_lifetime_seconds": .integer(Int64(e.refreshTokenLifetimeSeconds)),
            "access_token_algorithm": .string(e.accessTokenAlgorithm),
            "dynamic_client_registration": .string(e.dynamicClientRegistration.rawValue),
            "refresh_token_reuse_grace_seconds": .integer(Int64(e.refreshTokenReuseGraceSeconds ?? 0)),
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

/// The component schemas of the OpenAPI document, one per representation above, and the request
/// fields' constraints (the domain's validation rules, as JSON Schema).
enum ConsoleSchemas {
    static let id = ConsoleSchema.string(description: "prefixed opaque id", maxLength: 64)
    static let time = ConsoleSchema.string(format: "date-time")
    static let workspaceRole = ConsoleSchema.string(values: WorkspaceRole.allCases.map(\.rawValue))
    static let consoleRole = ConsoleSchema.string(values: ProjectConsoleRole.allCases.map(\.rawValue))
    static let environmentName = ConsoleSchema.string(values: LambaModel.Environment.allCases.map(\.rawValue))
    static let strings = ConsoleSchema.array(.string())
    static let lifecycle = ConsoleSchema.string(values: ["active", "deactivated"])

    // Request fields (`MemberLifecycle.validateName`, `Slug`, `EmailAddress`, `ProjectRole`).
    static let name = ConsoleSchema.string(maxLength: 200, rule: .displayText)
    static let slug = ConsoleSchema.string(description: "3 to 40 characters; not a reserved word such as console or admin",
                                           minLength: 3, maxLength: 40, rule: .slug)
    static let email = ConsoleSchema.string(format: "email", maxLength: 254)
    static let roleName = ConsoleSchema.string(minLength: 2, maxLength: 40, rule: .roleName)
    static let permissions = ConsoleSchema.array(.string(description: "resource:action, resource:* or *", maxLength: 100, rule: .permission),
                                                 minItems: 1, maxItems: 200)
    static let projectRoles = ConsoleSchema.array(roleName, minItems: 1, maxItems: 20, uniqueItems: true)
    static let uris = ConsoleSchema.array(.string(format: "uri", maxLength: 2048), maxItems: 20)
    static let description = ConsoleSchema.string(maxLength: 500)
    static let password = ConsoleSchema.string(minLength: 10, maxLength: 256, rule: .noControls)

    static func list(_ item: String) -> ConsoleSchema { .object([("data", .array(.ref(item)))], required: ["data"]) }

    static let components: [(String, ConsoleSchema)] = [
        ("Error", .object([("error", .string()), ("error_description", .string()), ("field", .string()), ("limit", .string()),
                           ("maximum", .integer())], required: ["error", "error_description"])),
        ("Workspace", .object([
            ("id", id), ("slug", .string()), ("name", .string()), ("plan", .string(values: Plan.allCases.map(\.rawValue))),
            ("plan_limits", .object([("projects", .integer()), ("team_members", .integer()), ("project_members_per_project", .integer())])),
            ("status", lifecycle), ("custom_domains", strings), ("session_max_age_seconds", .integer()),
            ("sessions_valid_after", .nullable(time)), ("created_at", time),
            ("mail_from", .nullable(.string(description: "the sender of the Workspace's mail; null is the server's LAMBA_MAIL_FROM"))),
        ])),
        ("APIKey", .object([("id", id), ("name", .string()), ("role", workspaceRole), ("prefix", .string()), ("created_by", .nullable(.string())),
                            ("created_at", time), ("revoked_at", .nullable(time)), ("secret", .string(description: "only in the creating response"))])),
        ("Project", .object([("id", id), ("workspace_id", id), ("slug", .string()), ("name", .string()),
                             ("visibility", .string(values: ["public", "private"])), ("status", lifecycle), ("created_at", time)])),
        ("ProjectBranding", .object([("display_name", .nullable(.string())), ("logo_url", .nullable(.string(description: "https only"))),
                                     ("primary_color", .nullable(.string(description: "#rrggbb")))])),
        ("Environment", .object([
            ("project_id", id), ("environment", environmentName), ("auth_methods", strings), ("allow_public_join", .boolean()),
            ("allow_register", .boolean()), ("require_verified_email", .boolean()), ("require_mfa", .boolean()), ("default_join_role", .string()),
            ("access_token_lifetime_seconds", .integer()),
            ("id_token_lifetime_seconds", .integer()), ("refresh_token_lifetime_seconds", .integer()), ("access_token_algorithm", .string()),
            ("dynamic_client_registration", .string(values: ["off", "loopback_only", "open"])), ("refresh_token_reuse_grace_seconds", .integer()),
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
        ("ProjectMember", .object([("id", id), ("project_id", id), ("user", .nullable(.ref("User"))), ("roles", strings),
                                   ("status", .string(values: ["active", "removed"])), ("joined_via", .string()), ("created_at", time),
                                   ("updated_at", time)])),
        ("TeamMember", .object([("id", id), ("user", .nullable(.ref("User"))), ("workspace_role", workspaceRole),
                                ("project_console_roles", .map(consoleRole)), ("created_at", time)])),
        ("CustomDomain", .object([
            ("id", id), ("domain", .string()), ("status", .string(values: CustomDomain.Status.allCases.map(\.rawValue))),
            ("verification_token", .string(description: "serve exactly this as the body of verification_url; proves control, grants nothing")),
            ("verification_url", .string()), ("created_at", time),
            ("expires_at", .nullable(.string(description: "when a pending claim lapses", format: "date-time"))), ("verified_at", .nullable(time)),
        ])),
        ("Invite", .object([("id", id), ("kind", .string(values: ["team", "project"])), ("email", .string()), ("project_id", .nullable(id)),
                            ("workspace_role", .nullable(workspaceRole)), ("project_console_roles", .map(consoleRole)),
                            ("project_role", .nullable(.string())), ("status", .string(values: Invite.Status.allCases.map(\.rawValue))),
                            ("created_at", time), ("expires_at", time), ("accepted_at", .nullable(time)),
                            ("token", .string(description: "only in the creating response"))])),
        ("Event", .object([
            ("seq", .integer(minimum: 1)), ("id", id), ("type", .string()), ("actor", .nullable(.string())),
            ("actor_detail", .nullable(.object([
                ("type", .string(values: DomainEvent.Attribution.ActorType.allCases.map(\.rawValue))),
                ("console_session_id", .nullable(.string(description: "the console session a person acted through"))),
                ("created_by", .nullable(.string(description: "for an API key: who created it"))),
            ], required: ["type", "console_session_id", "created_by"]))),
            ("workspace_id", .nullable(id)),
            ("project_id", .nullable(id)), ("environment", .nullable(environmentName)), ("session_id", .nullable(.string())),
            ("occurred_at", time), ("data", .any(description: "the event's facts; their shape depends on the type")),
        ])),
        ("AuditPage", .object([("events", .array(.ref("Event"))), ("next_cursor", .nullable(.string(description: "cursor of the next page")))],
                              required: ["events", "next_cursor"])),
        ("EventStreamPage", .object([("events", .array(.ref("Event"))), ("cursor", .integer(description: "pass as after", minimum: 0))],
                                    required: ["events", "cursor"])),
        ("WebhookEndpoint", .object([
            ("id", id), ("project_id", id), ("environment", environmentName), ("url", .string()), ("description", .string()),
            ("event_types", strings), ("status", .string(values: ["enabled", "disabled"])), ("disabled_reason", .nullable(.string())),
            ("failure_streak", .integer(minimum: 0)), ("max_concurrency", .integer(minimum: 1)),
            ("previous_secret_expires_at", .nullable(time)), ("created_at", time), ("updated_at", time),
            ("secret", .string(description: "only when created or rotated")),
        ])),
        ("WebhookEndpointList", .object([("endpoints", .array(.ref("WebhookEndpoint")))], required: ["endpoints"])),
        ("WebhookDelivery", .object([
            ("id", id), ("endpoint_id", id), ("workspace_id", id), ("project_id", id), ("environment", environmentName), ("event_id", id),
            ("event_seq", .integer()), ("event_type", .string()), ("replay", .boolean()),
            ("state", .string(values: ["pending", "in_flight", "succeeded", "failed_permanently"])), ("attempt_count", .integer(minimum: 0)),
            ("next_attempt_at", .nullable(time)), ("created_at", time), ("completed_at", .nullable(time)), ("last_error", .nullable(.string())),
            ("attempts", .array(.object([
                ("attempt", .integer(minimum: 1)), ("attempted_at", time), ("status_code", .nullable(.integer())),
                ("latency_ms", .integer(minimum: 0)), ("response_excerpt", .nullable(.string())), ("error", .nullable(.string())),
            ]))),
        ])),
        ("WebhookDeliveryPage", .object([("deliveries", .array(.ref("WebhookDelivery"))), ("next_cursor", .nullable(.string()))],
                                        required: ["deliveries", "next_cursor"])),
        ("WebhookSettings", .object([("environment", environmentName), ("allow_private_targets", .boolean())],
                                    required: ["environment", "allow_private_targets"])),
    ] + MailLogRoutes.components
}

extension TextRule {
    /// Permissions of a Project role (`ProjectRole.validatePermissions`).
    static let permission = TextRule(pattern: "^(\\*|[a-z0-9._-]+:(\\*|[a-z0-9._-]+))$", explanation: "must be resource:action") { text in
        if text == "*" { return true }
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        let allowed: (UInt8) -> Bool = { (0x61...0x7A).contains($0) || (0x30...0x39).contains($0) || $0 == 0x2E || $0 == 0x5F || $0 == 0x2D }
        return parts.count == 2 && !parts[0].isEmpty && !parts[1].isEmpty && parts[0].utf8.allSatisfy(allowed)
            && (parts[1] == "*" || parts[1].utf8.allSatisfy(allowed))
    }
}

extension TextRule {
    /// A custom domain (`WorkspaceAdministration.validateDomain`): two or more dot-separated labels
    /// of ASCII letters, digits and inner hyphens, 63 bytes at most each.
    static let domainName = TextRule(
        pattern: "^([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\\.)+[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$",
        explanation: "must be a domain name") { text in
        let labels = text.split(separator: ".", omittingEmptySubsequences: false)
        return labels.count >= 2 && labels.allSatisfy { label in
            !label.isEmpty && label.utf8.count <= 63 && label.first != "-" && label.last != "-"
                && label.utf8.allSatisfy { (0x61...0x7A).contains($0) || (0x41...0x5A).contains($0) || (0x30...0x39).contains($0) || $0 == 0x2D }
        }
    }
}
