import HTTPTypes
import LambaJOSE
import LambaModel

/// `/console/v1/workspace`: the caller's Workspace, its plan and security posture.
enum WorkspaceRoutes {
    /// Custom domains: claimed, proven over HTTPS, unique across the installation (docs/custom-domains.md).
    static let domains = "/console/v1/workspace/domains"

    static let routes: [ConsoleRoute] = [
        ConsoleRoute(.get, "/console/v1/workspace", "getWorkspace", "The caller's Workspace", access: .workspace(.workspaceRead),
                     response: .ref("Workspace")) { call in
            ConsoleJSON.workspace(try await call.services.workspaces.workspace(try call.caller))
        },
        ConsoleRoute(.patch, "/console/v1/workspace", "updateWorkspace",
                     "Change name and mail sender (workspace:manage), plan (billing:manage), session lifetime (security:manage); custom_domains is read-only (400): manage domains under /console/v1/workspace/domains",
                     access: .anyOf([.workspaceManage, .billingManage, .securityManage]),
                     request: .object([("name", ConsoleSchemas.name), ("plan", .string(values: Plan.allCases.map(\.rawValue))),
                                       ("session_max_age_seconds", .integer(minimum: 300, maximum: 90 * 24 * 3600)),
                                       ("mail_from", .string(description: "sender address of the Workspace's mail (workspace:manage); empty for the server's default",
                                                             maxLength: 254))]),
                     response: .ref("Workspace")) { call in
            let changes = WorkspaceAdministration.WorkspaceChanges(
                name: call.string("name"), plan: call.string("plan").flatMap(Plan.init(rawValue:)), customDomains: call.strings("custom_domains"),
                sessionMaxAgeSeconds: try call.int("session_max_age_seconds"), mailFrom: call.string("mail_from"))
            return ConsoleJSON.workspace(try await call.services.workspaces.updateWorkspace(try call.caller, changes))
        },
        ConsoleRoute(.get, domains, "listCustomDomains", "The Workspace's custom domains, pending and verified, with their verification tokens",
                     access: .workspace(.workspaceRead), response: ConsoleSchemas.list("CustomDomain")) { call in
            ConsoleJSON.list(try await call.services.domains.domains(try call.caller).map { ConsoleJSON.customDomain($0) })
        },
        ConsoleRoute(.post, domains, "addCustomDomain",
                     "Claim a domain, pending until verified; 409 when this or another Workspace holds it (which one is not said); a pending claim lapses after 7 days",
                     access: .workspace(.workspaceManage), request: .object([("domain", .string(maxLength: 253, rule: .domainName))], required: ["domain"]),
                     status: .created, response: .ref("CustomDomain")) { call in
            ConsoleJSON.customDomain(try await call.services.domains.addDomain(try call.caller, domain: call.string("domain") ?? ""))
        },
        ConsoleRoute(.post, domains + "/{domain_id}/verify", "verifyCustomDomain",
                     "Fetch https://{domain}/.well-known/lamba-domain-verification; when it serves the claim's token the domain is verified (409 otherwise)",
                     access: .workspace(.workspaceManage), response: .ref("CustomDomain")) { call in
            ConsoleJSON.customDomain(try await call.services.domains.verifyDomain(try call.caller, domainID: try call.id("domain_id", .customDomain)))
        },
        ConsoleRoute(.delete, domains + "/{domain_id}", "removeCustomDomain", "Release a domain claim, pending or verified",
                     access: .workspace(.workspaceManage), status: .noContent, response: nil) { call in
            try await call.services.domains.removeDomain(try call.caller, domainID: try call.id("domain_id", .customDomain))
            return nil
        },
        ConsoleRoute(.post, "/console/v1/workspace/force-logout", "forceLogout",
                     "End every identity session and runtime scope of the Workspace now", access: .workspace(.securityManage),
                     response: .object([("sessions_revoked", .integer()), ("runtime_scopes_revoked", .integer())])) { call in
            let (sessions, scopes) = try await call.services.workspaces.forceLogout(try call.caller)
            return .object(["sessions_revoked": .integer(Int64(sessions)), "runtime_scopes_revoked": .integer(Int64(scopes))])
        },
    ]
}
