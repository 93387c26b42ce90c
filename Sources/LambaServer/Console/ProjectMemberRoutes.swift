import HTTPTypes
import LambaJOSE
import LambaModel

/// Project Members (runtime access) and Project invites. Nothing here touches console access.
/// Adding someone by email is an invite: nothing here says whether an email has an account, and no
/// one becomes a member without accepting (docs/access-model.md#invites-not-lookups).
enum ProjectMemberRoutes {
    static let base = "/console/v1/projects/{project_id}/members"

    static let routes: [ConsoleRoute] = [
        ConsoleRoute(.get, base, "listProjectMembers", "Active members of the Project", access: .project(.membersRead),
                     response: ConsoleSchemas.list("ProjectMember")) { call in
            ConsoleJSON.list(try await call.services.members.projectMembers(try call.caller, projectID: try call.id("project_id", .project))
                .map { ConsoleJSON.projectMember($0.member, $0.user) })
        },
        ConsoleRoute(.post, base, "addProjectMember",
                     "Invite someone by email with one Project role (viewer when none): the same answer whether or not the email has an account; the membership exists once they accept; the token is in this response only",
                     access: .project(.membersManage),
                     request: .object([("email", ConsoleSchemas.email), ("roles", .array(ConsoleSchemas.roleName, minItems: 1, maxItems: 1))],
                                      required: ["email"]),
                     status: .created, response: .ref("Invite")) { call in
            let (invite, token) = try await call.services.members.addProjectMember(
                try call.caller, projectID: try call.id("project_id", .project), email: call.string("email") ?? "", roles: call.strings("roles"))
            return ConsoleJSON.invite(invite, token: token)
        },
        ConsoleRoute(.get, base + "/{member_id}", "getProjectMember", "One Project Member", access: .project(.membersRead),
                     response: .ref("ProjectMember")) { call in
            let listed = try await call.services.members.projectMember(
                try call.caller, projectID: try call.id("project_id", .project), memberID: try call.id("member_id", .projectMember))
            return ConsoleJSON.projectMember(listed.member, listed.user)
        },
        ConsoleRoute(.patch, base + "/{member_id}", "changeProjectMemberRoles",
                     "Replace a member's Project roles; their runtime scopes in the Project end", access: .project(.membersManage),
                     request: .object([("roles", ConsoleSchemas.projectRoles)], required: ["roles"]), response: .ref("ProjectMember")) { call in
            let projectID = try call.id("project_id", .project)
            let member = try await call.services.members.changeProjectMemberRoles(
                try call.caller, projectID: projectID, memberID: try call.id("member_id", .projectMember), roles: call.strings("roles") ?? [])
            let listed = try await call.services.members.projectMember(try call.caller, projectID: projectID, memberID: member.id)
            return ConsoleJSON.projectMember(listed.member, listed.user)
        },
        ConsoleRoute(.delete, base + "/{member_id}", "removeProjectMember",
                     "End a Project membership and its runtime scopes; console access is untouched", access: .project(.membersManage),
                     status: .noContent, response: nil) { call in
            try await call.services.members.removeProjectMember(
                try call.caller, projectID: try call.id("project_id", .project), memberID: try call.id("member_id", .projectMember))
            return nil
        },
        ConsoleRoute(.delete, "/console/v1/projects/{project_id}/runtime-scopes/{scope_id}", "revokeRuntimeScope",
                     "End one runtime scope (a token's sid) and every token bound to it; membership and the global session stay",
                     access: .project(.membersManage), status: .noContent, response: nil) { call in
            _ = try await call.services.members.revokeRuntimeScope(
                try call.caller, projectID: try call.id("project_id", .project), scopeID: try call.id("scope_id", .runtimeScope))
            return nil
        },
        ConsoleRoute(.post, "/console/v1/projects/{project_id}/invites", "inviteProjectMember",
                     "Invite someone to the Project with a role (viewer when none); the token is in this response only",
                     access: .project(.membersManage), request: .object([("email", ConsoleSchemas.email), ("role", ConsoleSchemas.roleName)], required: ["email"]),
                     status: .created, response: .ref("Invite")) { call in
            let (invite, token) = try await call.services.members.inviteProjectMember(
                try call.caller, projectID: try call.id("project_id", .project), email: call.string("email") ?? "", role: call.string("role"))
            return ConsoleJSON.invite(invite, token: token)
        },
        ConsoleRoute(.get, "/console/v1/projects/{project_id}/invites", "listProjectInvites",
                     "The Project's invites: the invited email and the invite's status, never the invitee's account",
                     access: .project(.membersRead), response: ConsoleSchemas.list("Invite")) { call in
            ConsoleJSON.list(try await call.services.members.projectInvites(try call.caller, projectID: try call.id("project_id", .project))
                .map { ConsoleJSON.invite($0, token: nil) })
        },
    ]
}
