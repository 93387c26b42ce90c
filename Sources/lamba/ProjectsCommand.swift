import ArgumentParser
import LambaJOSE

/// `lamba projects …`: the Workspace's Projects and each environment's settings.
struct ProjectsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "projects", abstract: "Manage Projects and their environments.",
                                                    subcommands: [List.self, Create.self, Show.self, Update.self, Deactivate.self, EnvironmentCommand.self,
                                                                  BrandingCommand.self])
    static let columns = ["id", "slug", "name", "visibility", "status"]

    struct List: ConsoleCommand {
        static let operation = ConsoleOperation("GET", "/projects", columns: ProjectsCommand.columns)
        @OptionGroup var console: ConsoleOptions
    }

    struct Create: ConsoleCommand {
        static let operation = ConsoleOperation("POST", "/projects", columns: ProjectsCommand.columns)
        @OptionGroup var console: ConsoleOptions
        @Option(help: "Globally unique slug; names the issuer /p/{slug}/{environment}.") var slug: String
        @Option(help: "Display name.") var name: String
        @Option(help: "public or private (default private).") var visibility: String?
        func body() -> JSONObject? { .given(["slug": slug, "name": name, "visibility": visibility]) }
    }

    struct Show: ConsoleCommand {
        static let operation = ConsoleOperation("GET", "/projects/{project_id}", columns: ProjectsCommand.columns)
        @OptionGroup var console: ConsoleOptions
        @OptionGroup var scope: ProjectScope
        var parameters: [String: String] { scope.parameters }
    }

    struct Update: ConsoleCommand {
        static let configuration = CommandConfiguration(abstract: "Rename a Project or change its visibility.")
        static let operation = ConsoleOperation("PATCH", "/projects/{project_id}", columns: ProjectsCommand.columns)
        @OptionGroup var console: ConsoleOptions
        @OptionGroup var scope: ProjectScope
        @Option(help: "Display name.") var name: String?
        @Option(help: "public or private.") var visibility: String?
        var parameters: [String: String] { scope.parameters }
        func body() -> JSONObject? { .given(["name": name, "visibility": visibility]) }
    }

    struct Deactivate: ConsoleCommand {
        static let configuration = CommandConfiguration(abstract: "Deactivate a Project: every runtime scope of both environments ends.")
        static let operation = ConsoleOperation("POST", "/projects/{project_id}/deactivate", columns: ProjectsCommand.columns)
        @OptionGroup var console: ConsoleOptions
        @OptionGroup var scope: ProjectScope
        var parameters: [String: String] { scope.parameters }
    }
}

/// `lamba projects environment show|update`: one environment's sign-in and token settings.
struct EnvironmentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "environment", abstract: "Show and change a Project environment's settings.",
                                                    subcommands: [Show.self, Update.self])
    static let columns = ["environment", "auth_methods", "allow_public_join", "allow_register", "default_join_role", "access_token_lifetime_seconds"]

    struct Show: ConsoleCommand {
        static let operation = ConsoleOperation("GET", "/projects/{project_id}/environments/{environment}", columns: EnvironmentCommand.columns)
        @OptionGroup var console: ConsoleOptions
        @OptionGroup var scope: EnvironmentScope
        var parameters: [String: String] { scope.parameters() }
    }

    struct Update: ConsoleCommand {
        static let operation = ConsoleOperation("PATCH", "/projects/{project_id}/environments/{environment}", columns: EnvironmentCommand.columns)
        @OptionGroup var console: ConsoleOptions
        @OptionGroup var scope: EnvironmentScope
        @Option(help: "Sign-in method: password, passkey or provider:{id} (repeat for several; replaces the list).") var authMethod: [String] = []
        @Option(help: "true or false.") var allowPublicJoin: Bool?
        @Option(help: "true or false.") var allowRegister: Bool?
        @Option(help: "true or false: users enter only once their email is verified.") var requireVerifiedEmail: Bool?
        @Option(help: "true or false: every sign-in proves a second factor (an authenticator app).") var requireMfa: Bool?
        @Option(help: "Role given to those who join.") var defaultJoinRole: String?
        @Option(help: "60 to 86400.") var accessTokenLifetimeSeconds: Int?
        @Option(help: "60 to 86400.") var idTokenLifetimeSeconds: Int?
        @Option(help: "300 to 365 days.") var refreshTokenLifetimeSeconds: Int?
        @Option(help: "RS256, PS256, ES256 or EdDSA.") var accessTokenAlgorithm: String?
        @Option(help: "off, loopback_only or open.") var dynamicClientRegistration: String?
        @Option(help: "0 (off) to 120.") var refreshTokenReuseGraceSeconds: Int?
        var parameters: [String: String] { scope.parameters() }
        func body() -> JSONObject? {
            .given([
                "auth_methods": authMethod, "allow_public_join": allowPublicJoin, "allow_register": allowRegister, "require_verified_email": requireVerifiedEmail, "require_mfa": requireMfa, "default_join_role": defaultJoinRole,
                "access_token_lifetime_seconds": accessTokenLifetimeSeconds, "id_token_lifetime_seconds": idTokenLifetimeSeconds,
                "refresh_token_lifetime_seconds": refreshTokenLifetimeSeconds, "access_token_algorithm": accessTokenAlgorithm,
                "dynamic_client_registration": dynamicClientRegistration, "refresh_token_reuse_grace_seconds": refreshTokenReuseGraceSeconds,
            ])
        }
    }
}

/// `lamba projects branding show|set`: how the Project's hosted pages present it (docs/hosted-pages.md#branding).
struct BrandingCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "branding", abstract: "Show and set a Project's hosted-page branding.",
                                                    subcommands: [Show.self, Set.self])
    static let columns = ["display_name", "logo_url", "primary_color"]

    struct Show: ConsoleCommand {
        static let operation = ConsoleOperation("GET", "/projects/{project_id}/branding", columns: BrandingCommand.columns)
        @OptionGroup var console: ConsoleOptions
        @OptionGroup var scope: ProjectScope
        var parameters: [String: String] { scope.parameters }
    }

    struct Set: ConsoleCommand {
        static let configuration = CommandConfiguration(abstract: "Replace the branding; an option left out is cleared.")
        static let operation = ConsoleOperation("PUT", "/projects/{project_id}/branding", columns: BrandingCommand.columns)
        @OptionGroup var console: ConsoleOptions
        @OptionGroup var scope: ProjectScope
        @Option(help: "Name shown on the hosted pages.") var displayName: String?
        @Option(help: "https URL of the logo.") var logoURL: String?
        @Option(help: "Primary colour as #rrggbb.") var primaryColor: String?
        var parameters: [String: String] { scope.parameters }
        func body() -> JSONObject? { .given(["display_name": displayName, "logo_url": logoURL, "primary_color": primaryColor]) }
    }
}
