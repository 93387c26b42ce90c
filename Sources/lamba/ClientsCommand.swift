import ArgumentParser
import LambaJOSE

/// `lamba clients …`: OAuth clients of one Project environment.
struct ClientsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "clients", abstract: "Manage the OAuth clients of a Project environment.",
                                                    subcommands: [List.self, Create.self, Show.self, Delete.self, RotateSecret.self])
    static let columns = ["client_id", "client_name", "client_type", "redirect_uris"]
    static let path = "/projects/{project_id}/environments/{environment}/clients"

    /// `--client`: one client of the environment.
    struct One: ParsableArguments {
        @OptionGroup var scope: EnvironmentScope
        @Option(help: "Client id.") var client: String
        var parameters: [String: String] { scope.parameters(["client_id": client]) }
    }

    struct List: ConsoleCommand {
        static let operation = ConsoleOperation("GET", path, columns: columns)
        @OptionGroup var console: ConsoleOptions
        @OptionGroup var scope: EnvironmentScope
        var parameters: [String: String] { scope.parameters() }
    }

    struct Create: ConsoleCommand {
        static let configuration = CommandConfiguration(abstract: "Register an OAuth client; a confidential client's secret is shown once.")
        static let operation = ConsoleOperation("POST", path, columns: columns + ["client_secret"])
        @OptionGroup var console: ConsoleOptions
        @OptionGroup var scope: EnvironmentScope
        @Option(help: "Client name.") var name: String
        @Option(help: "confidential or public.") var type = "confidential"
        @Option(help: "Redirect URI (repeat for several).") var redirectURI: [String] = []
        @Option(help: "Post-logout redirect URI (repeat for several).") var postLogoutRedirectURI: [String] = []
        @Option(help: "authorization_code, refresh_token or client_credentials (repeat for several).") var grantType: [String] = []
        @Option(help: "client_secret_basic, client_secret_post, private_key_jwt or none.") var tokenEndpointAuthMethod: String?
        @Option(help: "true for the Workspace's own app: no consent screen.") var firstParty: Bool?
        @Option(help: "RS256, PS256, ES256 or EdDSA.") var idTokenSignedResponseAlg: String?
        @Option(help: "JWK Set JSON text, for private_key_jwt.") var jwks: String?
        var parameters: [String: String] { scope.parameters() }
        func body() -> JSONObject? {
            .given([
                "client_name": name, "client_type": type, "redirect_uris": redirectURI, "post_logout_redirect_uris": postLogoutRedirectURI,
                "grant_types": grantType, "token_endpoint_auth_method": tokenEndpointAuthMethod, "first_party": firstParty,
                "id_token_signed_response_alg": idTokenSignedResponseAlg, "jwks": jwks,
            ])
        }
    }

    struct Show: ConsoleCommand {
        static let operation = ConsoleOperation("GET", path + "/{client_id}", columns: columns + ["grant_types", "token_endpoint_auth_method"])
        @OptionGroup var console: ConsoleOptions
        @OptionGroup var client: One
        var parameters: [String: String] { client.parameters }
    }

    struct Delete: ConsoleCommand {
        static let operation = ConsoleOperation("DELETE", path + "/{client_id}")
        @OptionGroup var console: ConsoleOptions
        @OptionGroup var client: One
        var parameters: [String: String] { client.parameters }
    }

    struct RotateSecret: ConsoleCommand {
        static let configuration = CommandConfiguration(abstract: "Replace a client's secret; the new one is shown once.")
        static let operation = ConsoleOperation("POST", path + "/{client_id}/rotate-secret", columns: ["client_id", "client_secret"])
        @OptionGroup var console: ConsoleOptions
        @OptionGroup var client: One
        var parameters: [String: String] { client.parameters }
    }
}

/// `lamba providers …`: social sign-in providers of one Project environment. The client secret is
/// write-only.
struct ProvidersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "providers", abstract: "Manage the social providers of a Project environment.",
                                                    subcommands: [List.self, Create.self, Show.self, Update.self, Delete.self])
    static let columns = ["id", "name", "issuer", "client_id", "enabled", "auth_method"]
    static let path = "/projects/{project_id}/environments/{environment}/providers"

    /// The settings `create` and `update` send; `create` needs the first four.
    struct Settings: ParsableArguments {
        @Option(help: "Shown as \"Continue with {name}\".") var name: String?
        @Option(help: "https issuer URL; its discovery document must name it exactly.") var issuer: String?
        @Option(help: "Client id at the provider.") var clientID: String?
        @Option(help: "Client secret at the provider (write-only).") var clientSecret: String?
        @Option(help: "Scope (repeat; must include openid; default openid email profile).") var scope: [String] = []
        @Option(help: "true or false: whether provider:{id} is among the sign-in methods.") var enabled: Bool?
        var body: JSONObject {
            .given(["name": name, "issuer": issuer, "client_id": clientID, "client_secret": clientSecret, "scopes": scope, "enabled": enabled])
        }
    }

    struct One: ParsableArguments {
        @OptionGroup var scope: EnvironmentScope
        @Option(help: "Provider id.") var provider: String
        var parameters: [String: String] { scope.parameters(["provider_id": provider]) }
    }

    struct List: ConsoleCommand {
        static let operation = ConsoleOperation("GET", path, columns: columns)
        @OptionGroup var console: ConsoleOptions
        @OptionGroup var scope: EnvironmentScope
        var parameters: [String: String] { scope.parameters() }
    }

    struct Create: ConsoleCommand {
        static let configuration = CommandConfiguration(abstract: "Add a social provider: --name, --issuer, --client-id and --client-secret.")
        static let operation = ConsoleOperation("POST", path, columns: columns + ["redirect_path"])
        @OptionGroup var console: ConsoleOptions
        @OptionGroup var scope: EnvironmentScope
        @OptionGroup var settings: Settings
        var parameters: [String: String] { scope.parameters() }
        func body() -> JSONObject? { settings.body }
    }

    struct Show: ConsoleCommand {
        static let operation = ConsoleOperation("GET", path + "/{provider_id}", columns: columns + ["redirect_path"])
        @OptionGroup var console: ConsoleOptions
        @OptionGroup var provider: One
        var parameters: [String: String] { provider.parameters }
    }

    struct Update: ConsoleCommand {
        static let operation = ConsoleOperation("PATCH", path + "/{provider_id}", columns: columns)
        @OptionGroup var console: ConsoleOptions
        @OptionGroup var provider: One
        @OptionGroup var settings: Settings
        var parameters: [String: String] { provider.parameters }
        func body() -> JSONObject? { settings.body }
    }

    struct Delete: ConsoleCommand {
        static let operation = ConsoleOperation("DELETE", path + "/{provider_id}")
        @OptionGroup var console: ConsoleOptions
        @OptionGroup var provider: One
        var parameters: [String: String] { provider.parameters }
    }
}
