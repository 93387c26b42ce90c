import Foundation
import LambaModel
import LambaStore

/// The console's part of `lamba serve`'s start (docs/console-access.md#first-run): the installation
/// is made or brought up to date; on the first start the administrator is made and a one-time
/// sign-in link printed; every later start says where the console is and how to get a new link.
enum ConsoleStartup {
    /// `LAMBA_ADMIN_EMAIL`, else this.
    static let defaultAdministratorEmail = "admin@lamba.local"

    static func prepare(store: any Store, publicBaseURL: String) async throws -> String {
        let identity = DomainIdentityStore(store: store)
        let setup = InstallationSetup(store: identity)
        try await setup.ensure(publicBaseURL: publicBaseURL)
        let console = publicBaseURL + "/console"
        let issuer = InstallationSetup.consoleIssuer(publicBaseURL: publicBaseURL)
        if try await setup.hasAdministrator() {
            let emails = try await setup.administrators().map(\.email)
            return """
                Console           \(console)
                Console issuer    \(issuer)
                A new sign-in link for an administrator (\(emails.joined(separator: ", "))):
                  lamba admin sign-in-link --email \(emails.first ?? "EMAIL")
                """
        }
        let email = ProcessInfo.processInfo.environment["LAMBA_ADMIN_EMAIL"].flatMap { $0.isEmpty ? nil : $0 } ?? defaultAdministratorEmail
        let administrator = try await setup.addAdministrator(email: email, name: "Administrator")
        // The first run's demo Workspace belongs to the administrator, so the console shows it at once.
        if try await identity.read({ tx in try tx.workspace(slug: DemoSetup.workspaceSlug) }) != nil {
            try await setup.addOwner(userID: administrator.id, workspaceSlug: DemoSetup.workspaceSlug)
        }
        let (_, token) = try await ConsoleAccessAdministration(store: identity).issueSignInLink(email: administrator.email, actor: "system")
        return """
            Console           \(console)
            Console issuer    \(issuer)
            First run: the administrator \(administrator.email) was made. Open this one-time link (valid 24 hours)
            to choose a password and sign in to the console:
              \(console)/sign-in-link?token=\(token)
            Later: lamba admin sign-in-link --email \(administrator.email)
            """
    }
}
