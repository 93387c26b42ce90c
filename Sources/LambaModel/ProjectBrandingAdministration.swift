import LambaJOSE

/// A Project's branding as operators manage it (docs/hosted-pages.md#branding): read with
/// `project:read`, replaced whole with `project:manage`.
extension ProjectAdministration {
    public func branding(_ caller: ConsoleCaller, projectID: String) async throws -> ProjectBranding {
        try caller.require(.projectRead, inProject: projectID)
        return try await store.read { tx in
            guard let project = try tx.project(id: projectID, workspaceID: caller.workspaceID) else { throw DomainError.notFound("project \(projectID)") }
            return project.branding ?? ProjectBranding()
        }
    }

    /// Replaces the branding; fields left out are cleared. Validated before anything is written.
    public func setBranding(_ caller: ConsoleCaller, projectID: String, displayName: String?, logoURL: String?,
                            primaryColor: String?) async throws -> ProjectBranding {
        try caller.require(.projectManage, inProject: projectID)
        let branding = try ProjectBranding.validated(displayName: displayName, logoURL: logoURL, primaryColor: primaryColor)
        return try await store.write { tx in
            var project = try MemberLifecycle.activeProject(tx, projectID, caller.workspaceID)
            project.branding = branding == ProjectBranding() ? nil : branding
            try tx.update(project)
            try tx.append(DomainEvent(type: .projectBrandingUpdated, by: caller, workspaceID: caller.workspaceID, projectID: project.id, data: [
                "display_name": branding.displayName.map(JSONValue.string) ?? .null,
                "logo_url": branding.logoURL.map(JSONValue.string) ?? .null,
                "primary_color": branding.primaryColor.map(JSONValue.string) ?? .null,
            ]))
            return branding
        }
    }
}
