import HTTPTypes
import LambaJOSE
import LambaModel

/// A Project's runtime role catalog. Built-ins (admin, member, viewer) are never deleted or emptied.
enum RoleRoutes {
    static let base = "/console/v1/projects/{project_id}/roles"

    static let routes: [ConsoleRoute] = [
        ConsoleRoute(.get, base, "listRoles", "The Project's role catalog, built-ins first", access: .project(.rolesRead),
                     response: ConsoleSchemas.list("Role")) { call in
            ConsoleJSON.list(try await call.services.projects.roles(try call.caller, projectID: try call.id("project_id", .project)).map(ConsoleJSON.role))
        },
        ConsoleRoute(.post, base, "createRole", "Add a custom Project role", access: .project(.rolesManage),
                     request: .object([("name", ConsoleSchemas.roleName), ("description", ConsoleSchemas.description), ("permissions", ConsoleSchemas.permissions)],
                                      required: ["name", "permissions"]),
                     status: .created, response: .ref("Role")) { call in
            ConsoleJSON.role(try await call.services.projects.createRole(
                try call.caller, projectID: try call.id("project_id", .project), name: call.string("name") ?? "",
                description: call.string("description") ?? "", permissions: call.strings("permissions") ?? []))
        },
        ConsoleRoute(.patch, base + "/{role_name}", "updateRole", "Change a role's description or permissions", access: .project(.rolesManage),
                     request: .object([("description", ConsoleSchemas.description), ("permissions", ConsoleSchemas.permissions)]), response: .ref("Role")) { call in
            ConsoleJSON.role(try await call.services.projects.updateRole(
                try call.caller, projectID: try call.id("project_id", .project), name: try call.parameter("role_name"),
                description: call.string("description"), permissions: call.strings("permissions")))
        },
        ConsoleRoute(.delete, base + "/{role_name}", "deleteRole", "Delete a custom role no member holds", access: .project(.rolesManage),
                     status: .noContent, response: nil) { call in
            try await call.services.projects.deleteRole(try call.caller, projectID: try call.id("project_id", .project),
                                                        name: try call.parameter("role_name"))
            return nil
        },
    ]
}
