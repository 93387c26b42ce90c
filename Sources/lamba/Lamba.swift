import ArgumentParser

struct Lamba: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lamba",
        abstract: "Lamba: a multi-tenant OAuth 2.0 and OpenID Connect server.",
        subcommands: [
            ServeCommand.self,
            MigrateCommand.self,
            DemoCommand.self,
            BootstrapCommand.self,
            AdminCommand.self,
            ProjectsCommand.self,
            ClientsCommand.self,
            MembersCommand.self,
            RolesCommand.self,
            KeysCommand.self,
            JWTCommand.self,
        ]
    )
}
