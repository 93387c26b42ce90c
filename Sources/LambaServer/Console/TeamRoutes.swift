import HTTPTypes
import LambaJOSE
import LambaModel

/// Team Members (console access): Workspace roles and Project console roles. Nothing here touches
/// runtime access.
enum TeamRoutes {
    static let consoleRoles = ConsoleSchema.map(ConsoleSchemas.consoleRole)

    static let routes: [ConsoleRoute] = [
        ConsoleRoute(.get, "/console/v1/team", "listTeamMembers", "The Workspace's Team Members", access: .workspace(.teamRead),
                     response: ConsoleSchemas.list("TeamMember")) { call in
            ConsoleJSON.list(try await call.services.members.teamMembers(try call.caller).map { ConsoleJSON.teamMember($0.member, $0.user) })
        },
        ConsoleRoute(.post, "/console/v1/team/invites", "inviteTeamMember",
                     "Invite someone to the team with a Workspace role and optional Project console roles; the token is shown once",
                     access: .workspace(.teamManage),
                     request: .object([("email", ConsoleSchemas.email), ("workspace_role", ConsoleSchemas.workspaceRole), ("project_console_roles", consoleRoles)],
                                      required: ["email", "workspace_role"]),
                     status: .created, response: .ref("Invite")) { call in
            let role = try require(call.string("workspace_role").flatMap(WorkspaceRole.init(rawValue:)), field: "workspace_role")
            let (invite, token) = try await call.services.members.inviteTeamMember(
                try call.caller, email: call.string("email") ?? "", workspaceRole: role, projectConsoleRoles: try call.consoleRoles("project_console_roles") ?? [:])
            return ConsoleJSON.invite(invite, token: token)
        },
        ConsoleRoute(.post, "/console/v1/team/promote", "promoteToTeamMember",
                     "Make a Project Member of this Workspace a Team Member; assigns no Project role", access: .workspace(.teamManage),
                     request: .object([("user_id", ConsoleSchemas.id), ("workspace_role", ConsoleSchemas.workspaceRole), ("project_console_roles", consoleRoles)],
                                      required: ["user_id", "workspace_role"]),
                     status: .created, response: .ref("TeamMember")) { call in
            let role = try require(call.string("workspace_role").flatMap(WorkspaceRole.init(rawValue:)), field: "workspace_role")
            guard let userID = call.string("user_id"), EntityID.isWellFormed(userID, .user) else { throw DomainError.notFound("user") }
            let member = try await call.services.members.promoteToTeamMember(
                try call.caller, userID: userID, workspaceRole: role, projectConsoleRoles: try call.consoleRoles("project_console_roles") ?? [:])
            return ConsoleJSON.teamMember(member, nil)
        },
        ConsoleRoute(.patch, "/console/v1/team/{team_member_id}", "updateTeamMember",
                     "Change a Team Member's Workspace role or Project console roles", access: .workspace(.teamManage),
                     request: .object([("workspace_role", ConsoleSchemas.workspaceRole), ("project_console_roles", consoleRoles)]),
                     response: .ref("TeamMember")) { call in
            let member = try await call.services.members.updateTeamMember(
                try call.caller, teamMemberID: try call.id("team_member_id", .teamMember),
                workspaceRole: call.string("workspace_role").flatMap(WorkspaceRole.init(rawValue:)),
                projectConsoleRoles: try call.consoleRoles("project_console_roles"))
            return ConsoleJSON.teamMember(member, nil)
        },
        ConsoleRoute(.delete, "/console/v1/team/{team_member_id}", "removeTeamMember",
                     "End a Team Member's console access; their Project memberships are untouched", access: .workspace(.teamManage),
                     status: .noContent, response: nil) { call in
            try await call.services.members.removeTeamMember(try call.caller, teamMemberID: try call.id("team_member_id", .teamMember))
            return nil
        },
    ]
}
