import ArgumentParser
import LambaJOSE

/// `lamba members …`: Project Members (runtime access) of one Project, their runtime scopes and the
/// Project's invites.
struct MembersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "members", abstract: "Manage the Project Members of a Project.",
        subcommands: [List.self, Add.self, Show.self, Update.self, Remove.self, EndScope.self, ProjectInvitesCommand.self])
    static let columns = ["id", "user", "roles", "status", "joined_via"]
    static let path = "/projects/{project_id}/members"

    struct One: ParsableArguments {
        @OptionGroup var scope: ProjectScope
        @Option(help: "Project member id.") var member: String
        var parameters: [String: String] { scope.parameters.merging(["member_id": member]) { $1 } }
    }

    struct List: ConsoleCommand {
        static let operation = ConsoleOperation("GET", path, columns: columns)
        @OptionGroup var console: ConsoleOptions
        @OptionGroup var scope: ProjectScope
        var parameters: [String: String] { scope.parameters }
    }

    struct Add: ConsoleCommand {
        static let configuration = CommandConfiguration(abstract: "Invite someone by email; the membership exists once they accept.")
        static let operation = ConsoleOperation("POST", path, columns: InvitesCommand.columns)
        @OptionGroup var console: ConsoleOptions
        @OptionGroup var scope: ProjectScope
        @Option(help: "The invitee's email.") var email: String
        @Option(help: "Project role (default viewer).") var role: [String] = []
        var parameters: [String: String] { scope.parameters }
        func body() -> JSONObject? { .given(["email": email, "roles": role]) }
    }

    struct Show: ConsoleCommand {
        static let operation = ConsoleOperation("GET", path + "/{member_id}", columns: columns)
        @OptionGroup var console: ConsoleOptions
        @OptionGroup var member: One
        var parameters: [String: String] { member.parameters }
    }

    struct Update: ConsoleCommand {
        static let configuration = CommandConfiguration(abstract: "Replace a member's Project roles; their runtime scopes in the Project end.",
                                                        aliases: ["set-roles"])
        static let operation = ConsoleOperation("PATCH", path + "/{member_id}", columns: columns)
        @OptionGroup var console: ConsoleOptions
        @OptionGroup var member: One
        @Option(help: "Project role (repeat for several).") var role: [String]
        var parameters: [String: String] { member.parameters }
        func body() -> JSONObject? { ["roles": .array(role.map(JSONValue.string))] }
    }

    struct Remove: ConsoleCommand {
        static let operation = ConsoleOperation("DELETE", path + "/{member_id}")
        @OptionGroup var console: ConsoleOptions
        @OptionGroup var member: One
        var parameters: [String: String] { member.parameters }
    }

    struct EndScope: ConsoleCommand {
        static let configuration = CommandConfiguration(abstract: "End one runtime scope (a token's sid) and every token bound to it.")
        static let operation = ConsoleOperation("DELETE", "/projects/{project_id}/runtime-scopes/{scope_id}")
        @OptionGroup var console: ConsoleOptions
        @OptionGroup var project: ProjectScope
        @Option(help: "Runtime scope id (a token's sid).") var scope: String
        var parameters: [String: String] { project.parameters.merging(["scope_id": scope]) { $1 } }
    }
}

/// `lamba members invites create|list`: a Project's invites.
struct ProjectInvitesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "invites", abstract: "Invite someone to a Project, and list the invites.",
                                                    subcommands: [Create.self, List.self])

    struct Create: ConsoleCommand {
        static let operation = ConsoleOperation("POST", "/projects/{project_id}/invites", columns: InvitesCommand.columns)
        @OptionGroup var console: ConsoleOptions
        @OptionGroup var scope: ProjectScope
        @Option(help: "The invitee's email.") var email: String
        @Option(help: "Project role (default viewer).") var role: String?
        var parameters: [String: String] { scope.parameters }
        func body() -> JSONObject? { .given(["email": email, "role": role]) }
    }

    struct List: ConsoleCommand {
        static let operation = ConsoleOperation("GET", "/projects/{project_id}/invites", columns: ["id", "email", "project_role", "status", "expires_at"])
        @OptionGroup var console: ConsoleOptions
        @OptionGroup var scope: ProjectScope
        var parameters: [String: String] { scope.parameters }
    }
}
