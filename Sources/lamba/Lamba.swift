import ArgumentParser
import LambaServer

struct Lamba: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lamba",
        abstract: "Lamba: a multi-tenant OAuth 2.0 and OpenID Connect server.",
        version: LambaVersion.current,
        subcommands: [
            ServeCommand.self,
            MigrateCommand.self,
            DemoCommand.self,
            BootstrapCommand.self,
            AdminCommand.self,
            WorkspaceCommand.self,
            WorkspacesCommand.self,
            TeamCommand.self,
            ProjectsCommand.self,
            ClientsCommand.self,
            ProvidersCommand.self,
            RolesCommand.self,
            MembersCommand.self,
            InvitesCommand.self,
            APIKeysCommand.self,
            WebhooksCommand.self,
            MailCommand.self,
            AuditCommand.self,
            EventsCommand.self,
            InstallationCommand.self,
            SessionCommand.self,
            KeysCommand.self,
            JWTCommand.self,
            HelpOperationsCommand.self,
        ]
    )
}

/// `lamba help-operations`: `METHOD PATH` of every console operation a command calls, read from the
/// commands' own declarations, for the parity test against the server's route table.
struct HelpOperationsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "help-operations", shouldDisplay: false)

    func run() {
        for operation in Self.operations(of: Lamba.self) { print(operation.method + " " + operation.path) }
    }

    static func operations(of command: any ParsableCommand.Type) -> [ConsoleOperation] {
        ((command as? any ConsoleCommand.Type).map { [$0.operation] } ?? []) + command.configuration.subcommands.flatMap { operations(of: $0) }
    }
}
