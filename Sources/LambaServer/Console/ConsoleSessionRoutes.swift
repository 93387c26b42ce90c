import HTTPTypes
import LambaJOSE
import LambaModel

/// People in the console (docs/console-access.md): the console session, the Workspaces a person is
/// a Team Member of and may create, Workspace deactivation and reactivation, a Team Member's forced
/// logout, and the installation's settings.
enum ConsoleSessionRoutes {
    static let sessionSchema = ConsoleSchema.object([
        ("id", ConsoleSchemas.id), ("user", .ref("User")), ("workspace_id", .nullable(ConsoleSchemas.id)),
        ("installation_administrator", .boolean()),
        ("csrf_token", .string(description: "send it as X-Lamba-CSRF with every unsafe request made with the session cookie")),
        ("created_at", ConsoleSchemas.time), ("idle_expires_at", ConsoleSchemas.time), ("expires_at", ConsoleSchemas.time),
    ])
    static let membershipSchema = ConsoleSchema.object([
        ("workspace", .ref("Workspace")), ("team_member_id", ConsoleSchemas.id), ("workspace_role", ConsoleSchemas.workspaceRole),
        ("project_console_roles", .map(ConsoleSchemas.consoleRole)),
    ])
    static let creationPolicy = ConsoleSchema.string(values: WorkspaceCreationPolicy.allCases.map(\.rawValue))
    static let installationSchema = ConsoleSchema.object([
        ("workspace_id", ConsoleSchemas.id), ("console_project_id", ConsoleSchemas.id), ("console_client_id", ConsoleSchemas.id),
        ("workspace_creation", creationPolicy),
    ])

    static let routes: [ConsoleRoute] = [
        ConsoleRoute(.get, "/console/v1/session", "getConsoleSession", "The signed-in person's console session, with its CSRF token",
                     access: .signedIn, response: sessionSchema) { call in
            let person = try call.person
            return session(person, csrf: call.authentication.csrfToken(sessionID: person.session.id))
        },
        ConsoleRoute(.delete, "/console/v1/session", "signOutOfConsole",
                     "Sign out: the console session ends, and with it the console issuer's session it stood on",
                     access: .signedIn, status: .noContent, response: nil) { call in
            try await call.services.people.signOut(try call.person)
            return nil
        },
        ConsoleRoute(.put, "/console/v1/session/workspace", "switchWorkspace", "Work in another Workspace the person is a Team Member of",
                     access: .signedIn, request: .object([("workspace_id", ConsoleSchemas.id)], required: ["workspace_id"]),
                     response: sessionSchema) { call in
            let person = try call.person
            guard let workspaceID = call.string("workspace_id"), EntityID.isWellFormed(workspaceID, .workspace) else {
                throw DomainError.notFound("workspace")
            }
            let selected = try await call.services.people.select(person, workspaceID: workspaceID)
            return session(selected, csrf: call.authentication.csrfToken(sessionID: selected.session.id))
        },
        ConsoleRoute(.get, "/console/v1/workspaces", "listMyWorkspaces", "The Workspaces the signed-in person is a Team Member of, with their roles",
                     access: .signedIn, response: .object([("data", .array(membershipSchema))], required: ["data"])) { call in
            ConsoleJSON.list(try await call.services.people.workspaces(try call.person).map(membership))
        },
        ConsoleRoute(.post, "/console/v1/workspaces", "createWorkspace",
                     "Create a Workspace owned by the signed-in person, as the installation's workspace_creation setting allows",
                     access: .signedIn, request: .object([("slug", ConsoleSchemas.slug), ("name", ConsoleSchemas.name)], required: ["slug", "name"]),
                     status: .created, response: .ref("Workspace")) { call in
            ConsoleJSON.workspace(try await call.services.people.createWorkspace(try call.person, slug: call.string("slug") ?? "",
                                                                                  name: call.string("name") ?? ""))
        },
        ConsoleRoute(.post, "/console/v1/workspaces/{workspace_id}/reactivate", "reactivateWorkspace",
                     "Reactivate a deactivated Workspace (its owners and installation administrators); what deactivation ended stays ended",
                     access: .signedIn, response: .ref("Workspace")) { call in
            ConsoleJSON.workspace(try await call.services.people.reactivateWorkspace(try call.person, workspaceID: try call.id("workspace_id", .workspace)))
        },
        ConsoleRoute(.post, "/console/v1/workspace/deactivate", "deactivateWorkspace",
                     "Deactivate the Workspace: every sign-in, runtime scope, token, API key and console session under it stops",
                     access: .workspace(.workspaceLifecycle), status: .noContent, response: nil) { call in
            try await call.services.workspaces.deactivateWorkspace(try call.caller)
            return nil
        },
        ConsoleRoute(.post, "/console/v1/team/{team_member_id}/force-logout", "forceLogoutTeamMember",
                     "End a Team Member's console sessions in this Workspace; they must sign in again to act here",
                     access: .workspace(.securityManage), response: .object([("console_sessions_ended", .integer())])) { call in
            let ended = try await call.services.people.forceLogout(try call.caller, teamMemberID: try call.id("team_member_id", .teamMember))
            return .object(["console_sessions_ended": .integer(Int64(ended))])
        },
        ConsoleRoute(.get, "/console/v1/installation", "getInstallation", "The installation's settings (administrators)",
                     access: .signedIn, response: installationSchema) { call in
            let person = try call.person
            guard person.isAdministrator else { throw DomainError.forbidden("only administrators read the installation's settings") }
            return installation(person.installation)
        },
        ConsoleRoute(.patch, "/console/v1/installation", "updateInstallation",
                     "Who may create Workspaces: open (anyone signed in; the console offers registration), invite_only, administrators",
                     access: .signedIn, request: .object([("workspace_creation", creationPolicy)], required: ["workspace_creation"]),
                     response: installationSchema) { call in
            let policy = try require(call.string("workspace_creation").flatMap(WorkspaceCreationPolicy.init(rawValue:)), field: "workspace_creation")
            return installation(try await call.services.people.updateInstallation(try call.person, workspaceCreation: policy))
        },
    ]

    static func session(_ person: ConsoleAccessAdministration.SignedIn, csrf: String) -> JSONValue {
        .object([
            "id": .string(person.session.id), "user": ConsoleJSON.user(person.user), "workspace_id": person.session.workspaceID.map(JSONValue.string) ?? .null,
            "installation_administrator": .bool(person.isAdministrator), "csrf_token": .string(csrf),
            "created_at": ConsoleJSON.time(person.session.createdAt), "idle_expires_at": ConsoleJSON.time(person.session.idleExpiresAt),
            "expires_at": ConsoleJSON.time(person.session.expiresAt),
        ])
    }

    static func membership(_ m: ConsoleAccessAdministration.Membership) -> JSONValue {
        .object([
            "workspace": ConsoleJSON.workspace(m.workspace), "team_member_id": .string(m.member.id),
            "workspace_role": .string(m.member.workspaceRole.rawValue), "project_console_roles": ConsoleJSON.consoleRoles(m.member.projectConsoleRoles),
        ])
    }

    static func installation(_ i: Installation) -> JSONValue {
        .object([
            "workspace_id": .string(i.workspaceID), "console_project_id": .string(i.consoleProjectID), "console_client_id": .string(i.consoleClientID),
            "workspace_creation": .string(i.workspaceCreation.rawValue),
        ])
    }
}
