import ArgumentParser
import LambaJOSE

/// `lamba workspace …`: the caller's Workspace, its custom domains and its security posture.
struct WorkspaceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "workspace", abstract: "Show and change the caller's Workspace, its custom domains, force logout, deactivate it.",
        subcommands: [Show.self, Update.self, DomainsCommand.self, ForceLogout.self, Deactivate.self])
    static let columns = ["id", "slug", "name", "plan", "status"]

    struct Show: ConsoleCommand {
        static let operation = ConsoleOperation("GET", "/workspace", columns: WorkspaceCommand.columns)
        @OptionGroup var console: ConsoleOptions
    }

    struct Update: ConsoleCommand {
        static let operation = ConsoleOperation("PATCH", "/workspace", columns: WorkspaceCommand.columns)
        @OptionGroup var console: ConsoleOptions
        @Option(help: "Display name (workspace:manage).") var name: String?
        @Option(help: "Plan (billing:manage).") var plan: String?
        @Option(help: "Console session lifetime in seconds, 300 to 90 days (security:manage).") var sessionMaxAgeSeconds: Int?
        @Option(help: "Sender address of the Workspace's mail, \"\" for the server's default (workspace:manage).") var mailFrom: String?
        func body() -> JSONObject? {
            .given(["name": name, "plan": plan, "session_max_age_seconds": sessionMaxAgeSeconds, "mail_from": mailFrom])
        }
    }

    struct ForceLogout: ConsoleCommand {
        static let configuration = CommandConfiguration(abstract: "End every identity session and runtime scope of the Workspace now.")
        static let operation = ConsoleOperation("POST", "/workspace/force-logout", columns: ["sessions_revoked", "runtime_scopes_revoked"])
        @OptionGroup var console: ConsoleOptions
    }

    struct Deactivate: ConsoleCommand {
        static let configuration = CommandConfiguration(abstract: "Deactivate the Workspace: every sign-in, token, API key and console session under it stops.")
        static let operation = ConsoleOperation("POST", "/workspace/deactivate")
        @OptionGroup var console: ConsoleOptions
    }
}

/// `lamba workspace domains …`: custom domains, claimed then proven over HTTPS.
struct DomainsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "domains", abstract: "Claim, verify and release custom domains.",
                                                    subcommands: [List.self, Add.self, Verify.self, Remove.self])
    static let columns = ["id", "domain", "status", "verification_url", "verification_token"]

    struct List: ConsoleCommand {
        static let operation = ConsoleOperation("GET", "/workspace/domains", columns: DomainsCommand.columns)
        @OptionGroup var console: ConsoleOptions
    }

    struct Add: ConsoleCommand {
        static let operation = ConsoleOperation("POST", "/workspace/domains", columns: DomainsCommand.columns)
        @OptionGroup var console: ConsoleOptions
        @Option(help: "The domain to claim.") var domain: String
        func body() -> JSONObject? { ["domain": .string(domain)] }
    }

    struct Verify: ConsoleCommand {
        static let operation = ConsoleOperation("POST", "/workspace/domains/{domain_id}/verify", columns: DomainsCommand.columns)
        @OptionGroup var console: ConsoleOptions
        @Option(help: "Custom domain id.") var id: String
        var parameters: [String: String] { ["domain_id": id] }
    }

    struct Remove: ConsoleCommand {
        static let operation = ConsoleOperation("DELETE", "/workspace/domains/{domain_id}")
        @OptionGroup var console: ConsoleOptions
        @Option(help: "Custom domain id.") var id: String
        var parameters: [String: String] { ["domain_id": id] }
    }
}

/// `lamba workspaces …`: the Workspaces a signed-in person belongs to. These need a console session;
/// called with an API key the server refuses, and its answer is printed.
struct WorkspacesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "workspaces", abstract: "List, create and reactivate Workspaces (console session).",
                                                    subcommands: [List.self, Create.self, Reactivate.self])

    struct List: ConsoleCommand {
        static let operation = ConsoleOperation("GET", "/workspaces", columns: ["workspace", "team_member_id", "workspace_role"])
        @OptionGroup var console: ConsoleOptions
    }

    struct Create: ConsoleCommand {
        static let operation = ConsoleOperation("POST", "/workspaces", columns: WorkspaceCommand.columns)
        @OptionGroup var console: ConsoleOptions
        @Option(help: "Workspace slug.") var slug: String
        @Option(help: "Display name.") var name: String
        func body() -> JSONObject? { ["slug": .string(slug), "name": .string(name)] }
    }

    struct Reactivate: ConsoleCommand {
        static let operation = ConsoleOperation("POST", "/workspaces/{workspace_id}/reactivate", columns: WorkspaceCommand.columns)
        @OptionGroup var console: ConsoleOptions
        @Option(help: "Workspace id.") var id: String
        var parameters: [String: String] { ["workspace_id": id] }
    }
}

/// `lamba session …`: the console session itself (a console session's, not an API key's).
struct SessionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "session", abstract: "Show, switch or end the console session.",
                                                    subcommands: [Show.self, SwitchWorkspace.self, SignOut.self])
    static let columns = ["id", "user", "workspace_id", "installation_administrator", "expires_at"]

    struct Show: ConsoleCommand {
        static let operation = ConsoleOperation("GET", "/session", columns: SessionCommand.columns)
        @OptionGroup var console: ConsoleOptions
    }

    struct SwitchWorkspace: ConsoleCommand {
        static let operation = ConsoleOperation("PUT", "/session/workspace", columns: SessionCommand.columns)
        @OptionGroup var console: ConsoleOptions
        @Option(help: "Workspace id.") var workspace: String
        func body() -> JSONObject? { ["workspace_id": .string(workspace)] }
    }

    struct SignOut: ConsoleCommand {
        static let operation = ConsoleOperation("DELETE", "/session")
        @OptionGroup var console: ConsoleOptions
    }
}

/// `lamba installation …`: who may create Workspaces (administrators' console session). `lamba admin
/// workspace-creation` does the same offline on the database.
struct InstallationCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "installation", abstract: "Show and change the installation's settings (console session).",
                                                    subcommands: [Show.self, Update.self])
    static let columns = ["workspace_id", "console_project_id", "workspace_creation"]

    struct Show: ConsoleCommand {
        static let operation = ConsoleOperation("GET", "/installation", columns: InstallationCommand.columns)
        @OptionGroup var console: ConsoleOptions
    }

    struct Update: ConsoleCommand {
        static let operation = ConsoleOperation("PATCH", "/installation", columns: InstallationCommand.columns)
        @OptionGroup var console: ConsoleOptions
        @Option(help: "open, invite_only or administrators.") var workspaceCreation: String
        func body() -> JSONObject? { ["workspace_creation": .string(workspaceCreation)] }
    }
}
