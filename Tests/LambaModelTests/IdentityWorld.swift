import Foundation
import LambaJOSE
import LambaPasswords
import LambaModel
import LambaPostgres
import LambaStore
import LambaStoreTestSupport
import Testing

struct SetupError: Error, CustomStringConvertible {
    let description: String
}

/// A fresh migrated database with one bootstrapped Workspace, and the services over it.
struct World: Sendable {
    let store: any Store
    let identity: SQLIdentityStore
    let workspaces: WorkspaceAdministration
    let projects: ProjectAdministration
    let members: MemberLifecycle
    let boot: WorkspaceAdministration.Bootstrap
    /// The bootstrap owner key's caller.
    let owner: ConsoleCaller

    static func with(_ backend: Backend, _ body: @Sendable (World) async throws -> Void) async throws {
        let url = try TestDatabases.makeURL(backend, prefix: "m")
        defer { TestDatabases.remove(url) }
        let store = try await StoreFactory.open(url, poolSize: 2)
        do {
            try await store.migrate()
            let identity = SQLIdentityStore(store: store)
            let workspaces = WorkspaceAdministration(store: identity)
            let boot = try await workspaces.bootstrap(email: "Owner@Example.com", password: nil, name: "Olga Owner",
                                                      workspaceSlug: "acme", workspaceName: "Acme")
            guard let owner = try await workspaces.authenticate(apiKey: boot.apiKeySecret) else { throw SetupError(description: "owner key refused") }
            let world = World(store: store, identity: identity, workspaces: workspaces, projects: ProjectAdministration(store: identity),
                              members: MemberLifecycle(store: identity), boot: boot, owner: owner)
            try await body(world)
        } catch {
            await store.close()
            throw error
        }
        await store.close()
    }

    /// A Lamba User inserted directly (what sign-up elsewhere would have made), with a password when asked.
    func user(_ email: String, password: String? = nil) async throws -> LambaUser {
        let user = LambaUser(email: email, emailVerified: true, name: email, passwordHash: try password.map { try PasswordHasher.hash($0) })
        try await identity.write { tx in try tx.insert(user) }
        return user
    }

    /// A caller acting with `role` in the owner's Workspace, as a new API key.
    func caller(_ role: WorkspaceRole) async throws -> ConsoleCaller {
        let (_, secret) = try await workspaces.createAPIKey(owner, name: "\(role.rawValue) key", role: role)
        guard let caller = try await workspaces.authenticate(apiKey: secret) else { throw SetupError(description: "key refused") }
        return caller
    }

    func project(_ slug: String, _ visibility: Project.Visibility = .private) async throws -> Project {
        try await projects.createProject(owner, slug: slug, name: slug, visibility: visibility)
    }

    /// An identity session and a runtime scope for `userID` in a Project environment, as sign-in makes them.
    func runtimeScope(userID: String, projectID: String, environment: LambaModel.Environment = .sandbox) async throws -> RuntimeScope {
        let workspaceID = owner.workspaceID
        return try await identity.write { tx in
            let now = Date()
            let session = IdentitySession(id: EntityID.generate(.identitySession), workspaceID: workspaceID, userID: userID,
                                          tokenHash: OpaqueSecret.generate().hash, authTime: now, amr: ["pwd"], createdAt: now,
                                          expiresAt: now.addingTimeInterval(3600), revokedAt: nil, revokeReason: nil)
            try tx.insert(session)
            let scope = RuntimeScope(id: EntityID.generate(.runtimeScope), sessionID: session.id, userID: userID, workspaceID: workspaceID,
                                     projectID: projectID, environment: environment, applicationID: "cli_audit_only", authTime: now,
                                     createdAt: now, revokedAt: nil, revokeReason: nil)
            try tx.insert(scope)
            return scope
        }
    }

    func decide(_ scope: RuntimeScope, _ permission: String = "project:read") async throws -> RuntimeAccess.Decision {
        try await identity.read { tx in
            try RuntimeAccess.decide(tx, scopeID: scope.id, userID: scope.userID, projectID: scope.projectID, environment: scope.environment,
                                    permission: permission)
        }
    }

    func events() async throws -> [OutboxEvent] {
        try await store.read { reader in try reader.events(after: 0, limit: 10_000).map(\.event) }
    }

    func events(after sequence: Int64) async throws -> [OutboxEvent] {
        try await store.read { reader in try reader.events(after: sequence, limit: 10_000).map(\.event) }
    }

    func lastSequence() async throws -> Int64 {
        try await store.read { reader in try reader.events(after: 0, limit: 100_000).last?.sequence ?? 0 }
    }
}

/// Expects `body` to throw exactly `expected`.
func expectDomainError(_ expected: DomainError, sourceLocation: SourceLocation = #_sourceLocation,
                       _ body: () async throws -> Void) async {
    do {
        try await body()
        Issue.record("expected \(expected), nothing was thrown", sourceLocation: sourceLocation)
    } catch let error as DomainError {
        #expect(error == expected, sourceLocation: sourceLocation)
    } catch {
        Issue.record("expected \(expected), got \(error)", sourceLocation: sourceLocation)
    }
}

/// Expects `body` to throw a DomainError matching `matches` (for messages that carry counts or ids).
func expectDomainError(sourceLocation: SourceLocation = #_sourceLocation, _ matches: (DomainError) -> Bool,
                       _ body: () async throws -> Void) async {
    do {
        try await body()
        Issue.record("expected a domain error, nothing was thrown", sourceLocation: sourceLocation)
    } catch let error as DomainError {
        #expect(matches(error), "unexpected \(error)", sourceLocation: sourceLocation)
    } catch {
        Issue.record("expected a domain error, got \(error)", sourceLocation: sourceLocation)
    }
}

extension DomainError {
    var isInvalid: Bool { if case .invalid = self { true } else { false } }
    var isRefused: Bool { if case .refused = self { true } else { false } }
    var isNotFound: Bool { if case .notFound = self { true } else { false } }
    var isForbidden: Bool { if case .forbidden = self { true } else { false } }
    func isInvalid(field: String) -> Bool { if case .invalid(let f, _) = self { f == field } else { false } }
}
