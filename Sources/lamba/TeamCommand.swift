import ArgumentParser
import LambaJOSE

/// `lamba team …`: Team Members (console access) — Workspace roles and Project console roles.
struct TeamCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "team", abstract: "Manage the Workspace's Team Members.",
                                                    subcommands: [List.self, Invite.self, Promote.self, Update.self, Remove.self, ForceLogout.self])
    static let columns = ["id", "user", "workspace_role", "project_console_roles"]

    /// `--workspace-role` and repeated `--project-console-role PROJECT_ID=ROLE`.
    struct Roles: ParsableArguments {
        @Option(help: "owner, admin, developer, billing or viewer.") var workspaceRole: String?
        @Option(help: "PROJECT_ID=admin|developer|viewer (repeat for several).") var projectConsoleRole: [String] = []

        func consoleRoles() throws -> JSONValue? {
            if projectConsoleRole.isEmpty { return nil }
            var roles = JSONObject()
            for pair in projectConsoleRole {
                let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
                guard parts.count == 2 else { throw ValidationError("--project-console-role takes PROJECT_ID=ROLE, not \(pair)") }
                roles[parts[0]] = .string(parts[1])
            }
            return .object(roles)
        }

        func body(_ more: JSONObject = [:]) throws -> JSONObject {
            var body = more
            body["workspace_role"] = workspaceRole.map(JSONValue.string)
            body["project_console_roles"] = try consoleRoles()
            return body
        }
    }

    struct List: ConsoleCommand {
        static let operation = ConsoleOperation("GET", "/team", columns: TeamCommand.columns)
        @OptionGroup var console: ConsoleOptions
    }

    struct Invite: ConsoleCommand {
        static let configuration = CommandConfiguration(abstract: "Invite someone to the team; the invite token is shown once.")
        static let operation = ConsoleOperation("POST", "/team/invites", columns: InvitesCommand.columns)
        @OptionGroup var console: ConsoleOptions
        @Option(help: "The invitee's email.") var email: String
        @OptionGroup var roles: Roles
        func body() throws -> JSONObject? { try roles.body(["email": .string(email)]) }
    }

    struct Promote: ConsoleCommand {
        static let configuration = CommandConfiguration(abstract: "Make a Project Member of this Workspace a Team Member.")
        static let operation = ConsoleOperation("POST", "/team/promote", columns: TeamCommand.columns)
        @OptionGroup var console: ConsoleOptions
        @Option(help: "Lamba User id.") var user: String
        @OptionGroup var roles: Roles
        func body() throws -> JSONObject? { try roles.body(["user_id": .string(user)]) }
    }

    struct Update: ConsoleCommand {
        static let operation = ConsoleOperation("PATCH", "/team/{team_member_id}", columns: TeamCommand.columns)
        @OptionGroup var console: ConsoleOptions
        @Option(help: "Team Member id.") var member: String
        @OptionGroup var roles: Roles
        var parameters: [String: String] { ["team_member_id": member] }
        func body() throws -> JSONObject? { try roles.body() }
    }

    struct Remove: ConsoleCommand {
        static let operation = ConsoleOperation("DELETE", "/team/{team_member_id}")
        @OptionGroup var console: ConsoleOptions
        @Option(help: "Team Member id.") var member: String
        var parameters: [String: String] { ["team_member_id": member] }
    }

    struct ForceLogout: ConsoleCommand {
        static let configuration = CommandConfiguration(abstract: "End a Team Member's console sessions in this Workspace.")
        static let operation = ConsoleOperation("POST", "/team/{team_member_id}/force-logout", columns: ["console_sessions_ended"])
        @OptionGroup var console: ConsoleOptions
        @Option(help: "Team Member id.") var member: String
        var parameters: [String: String] { ["team_member_id": member] }
    }
}

/// `lamba invites accept`: a team or Project invite, with the invitee's credentials; no key needed.
struct InvitesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "invites", abstract: "Accept an invite.", subcommands: [Accept.self])
    static let columns = ["id", "kind", "email", "status", "expires_at", "token"]

    struct Accept: ConsoleCommand {
        static let operation = ConsoleOperation("POST", "/invites/accept", columns: ["invite", "user"], anonymous: true)
        @OptionGroup var console: ConsoleOptions
        @Option(help: "The invite token.") var token: String
        @Option(help: "The invitee's email.") var email: String
        @Option(help: "Their password (an existing Lamba User's, or a new one's).") var password: String
        @Option(help: "Their name, when they are new to Lamba.") var name: String?
        func body() -> JSONObject? { .given(["token": token, "email": email, "password": password, "name": name]) }
    }
}
