import HTTPTypes
import LambaJOSE
import LambaModel

/// `/console/v1/workspace`: the caller's Workspace, its plan and security posture.
enum WorkspaceRoutes {
    static let routes: [ConsoleRoute] = [
        ConsoleRoute(.get, "/console/v1/workspace", "getWorkspace", "The caller's Workspace", access: .apiKey(.workspaceRead),
                     response: .ref("Workspace")) { call in
            ConsoleJSON.workspace(try await call.services.workspaces.workspace(try call.caller))
        },
        ConsoleRoute(.patch, "/console/v1/workspace", "updateWorkspace",
                     "Change name and custom domains (workspace:manage), plan (billing:manage), session lifetime (security:manage)",
                     access: .apiKey(nil),
                     request: .object([("name", ConsoleSchemas.name), ("plan", .string(values: Plan.allCases.map(\.rawValue))),
                                       ("custom_domains", .array(.string(maxLength: 253, rule: .domainName), maxItems: 20)),
                                       ("session_max_age_seconds", .integer(minimum: 300, maximum: 90 * 24 * 3600))]),
                     response: .ref("Workspace")) { call in
            let changes = WorkspaceAdministration.WorkspaceChanges(
                name: call.string("name"), plan: call.string("plan").flatMap(Plan.init(rawValue:)), customDomains: call.strings("custom_domains"),
                sessionMaxAgeSeconds: try call.int("session_max_age_seconds"))
            return ConsoleJSON.workspace(try await call.services.workspaces.updateWorkspace(try call.caller, changes))
        },
        ConsoleRoute(.post, "/console/v1/workspace/force-logout", "forceLogout",
                     "End every identity session and runtime scope of the Workspace now", access: .apiKey(.securityManage),
                     response: .object([("sessions_revoked", .integer()), ("runtime_scopes_revoked", .integer())])) { call in
            let (sessions, scopes) = try await call.services.workspaces.forceLogout(try call.caller)
            return .object(["sessions_revoked": .integer(Int64(sessions)), "runtime_scopes_revoked": .integer(Int64(scopes))])
        },
    ]
}
