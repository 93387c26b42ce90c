import HTTPTypes
import LambaJOSE
import LambaModel

/// `/console/v1/projects`: the Workspace's Projects.
enum ProjectRoutes {
    static let visibility = ConsoleSchema.string(values: ["public", "private"])

    static let routes: [ConsoleRoute] = [
        ConsoleRoute(.get, "/console/v1/projects", "listProjects", "The Projects the caller may see", access: .anyProject(.projectRead),
                     response: ConsoleSchemas.list("Project")) { call in
            ConsoleJSON.list(try await call.services.projects.projects(try call.caller).map(ConsoleJSON.project))
        },
        ConsoleRoute(.post, "/console/v1/projects", "createProject",
                     "Create a Project with both environments and the starter role catalog (private unless said otherwise)",
                     access: .workspace(.projectsCreate),
                     request: .object([("slug", ConsoleSchemas.slug), ("name", ConsoleSchemas.name), ("visibility", visibility)], required: ["slug", "name"]),
                     status: .created, response: .ref("Project")) { call in
            let visibility = call.string("visibility").flatMap(Project.Visibility.init(rawValue:)) ?? .private
            return ConsoleJSON.project(try await call.services.projects.createProject(
                try call.caller, slug: call.string("slug") ?? "", name: call.string("name") ?? "", visibility: visibility))
        },
        ConsoleRoute(.get, "/console/v1/projects/{project_id}", "getProject", "One Project", access: .project(.projectRead),
                     response: .ref("Project")) { call in
            ConsoleJSON.project(try await call.services.projects.project(try call.caller, projectID: try call.id("project_id", .project)))
        },
        ConsoleRoute(.patch, "/console/v1/projects/{project_id}", "updateProject",
                     "Rename a Project or change its visibility; going private closes public join and register",
                     access: .project(.projectManage), request: .object([("name", ConsoleSchemas.name), ("visibility", visibility)]),
                     response: .ref("Project")) { call in
            ConsoleJSON.project(try await call.services.projects.updateProject(
                try call.caller, projectID: try call.id("project_id", .project), name: call.string("name"),
                visibility: call.string("visibility").flatMap(Project.Visibility.init(rawValue:))))
        },
        // docs/hosted-pages.md#branding
        ConsoleRoute(.get, "/console/v1/projects/{project_id}/branding", "getProjectBranding",
                     "How the Project's hosted pages present it: display name, logo and primary colour", access: .project(.projectRead),
                     response: .ref("ProjectBranding")) { call in
            ConsoleJSON.branding(try await call.services.projects.branding(try call.caller, projectID: try call.id("project_id", .project)))
        },
        ConsoleRoute(.put, "/console/v1/projects/{project_id}/branding", "setProjectBranding",
                     "Replace the branding of the Project's hosted pages: an https logo URL and a #rrggbb colour; a field left out is cleared",
                     access: .project(.projectManage),
                     request: .object([("display_name", ConsoleSchema.string(maxLength: 200, rule: .displayText)),
                                       ("logo_url", ConsoleSchema.string(format: "uri", maxLength: ProjectBranding.maximumLogoURLLength)),
                                       ("primary_color", ConsoleSchema.string(description: "#rrggbb", maxLength: 7))]),
                     response: .ref("ProjectBranding")) { call in
            ConsoleJSON.branding(try await call.services.projects.setBranding(
                try call.caller, projectID: try call.id("project_id", .project), displayName: call.string("display_name"),
                logoURL: call.string("logo_url"), primaryColor: call.string("primary_color")))
        },
        ConsoleRoute(.post, "/console/v1/projects/{project_id}/deactivate", "deactivateProject",
                     "Deactivate a Project: every runtime scope of both environments ends", access: .project(.projectManage),
                     response: .ref("Project")) { call in
            ConsoleJSON.project(try await call.services.projects.deactivateProject(try call.caller, projectID: try call.id("project_id", .project)))
        },
    ]
}
