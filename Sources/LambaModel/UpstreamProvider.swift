public import Foundation
public import LambaJOSE

/// A social provider: an upstream OpenID Provider configured in one Project environment (Google, a
/// company's IdP, another Lamba issuer). Lamba is its relying party, with the authorization code
/// flow, PKCE and a nonce always (OIDC Core §3.1, RFC 7636). The client secret is sealed under the
/// master key, bound to the provider's id.
public struct UpstreamProvider: Sendable, Hashable {
    public var id: String
    public var workspaceID: String
    public var projectID: String
    public var environment: Environment
    /// Shown on the hosted login page: "Continue with {name}".
    public var name: String
    /// Compared exactly with the discovery document's and the ID token's `iss` (OIDC Discovery §4.3).
    public var issuer: String
    public var clientID: String
    /// base64url AES-256-GCM box of the client secret (MasterKey), associated data `upstream_provider:{id}`.
    public var sealedClientSecret: String
    public var scopes: [String]
    public var createdAt: Date
    public var updatedAt: Date
    /// When the issuer or client id last changed: sessions established through the provider before
    /// this instant no longer stand for it.
    public var trustChangedAt: Date
    public var deletedAt: Date?

    public var method: AuthMethod { .provider(id) }

    public init(id: String = EntityID.generate(.upstreamProvider), workspaceID: String, projectID: String, environment: Environment, name: String,
                issuer: String, clientID: String, sealedClientSecret: String, scopes: [String], createdAt: Date = Date()) {
        self.id = id
        self.workspaceID = workspaceID
        self.projectID = projectID
        self.environment = environment
        self.name = name
        self.issuer = issuer
        self.clientID = clientID
        self.sealedClientSecret = sealedClientSecret
        self.scopes = scopes
        self.createdAt = createdAt
        self.updatedAt = createdAt
        self.trustChangedAt = createdAt
        self.deletedAt = nil
    }

    public static let defaultScopes = ["openid", "email", "profile"]

    static func associatedData(_ id: String) -> [UInt8] { Array("upstream_provider:\(id)".utf8) }

    public static func sealClientSecret(_ secret: String, providerID: String, masterKey: MasterKey) throws -> String {
        Base64URL.encode(try masterKey.seal(Array(secret.utf8), associatedData: associatedData(providerID)))
    }

    /// The client secret in the clear, for the token request only; never logged or returned.
    public func clientSecret(masterKey: MasterKey) throws -> String {
        String(decoding: try masterKey.open(try Base64URL.decode(sealedClientSecret), associatedData: Self.associatedData(id)), as: UTF8.self)
    }

    /// An issuer (and the endpoints its discovery names) must be https; plain http is accepted only
    /// for a loopback host in sandbox, where a local IdP runs. No credentials, query or fragment.
    public static func validateURL(_ text: String, environment: Environment, field: String) throws(DomainError) -> URL {
        guard text.utf8.count <= 2048, let url = URL(string: text), let scheme = url.scheme?.lowercased(),
            let host = url.host(percentEncoded: false), !host.isEmpty
        else { throw .invalid(field: field, reason: "must be an absolute https URL") }
        guard url.user == nil, url.password == nil, url.fragment == nil else {
            throw .invalid(field: field, reason: "must not carry credentials or a fragment")
        }
        if scheme == "http" {
            guard environment == .sandbox, isLoopback(host) else {
                throw .invalid(field: field, reason: "must use https (http only for a loopback host in sandbox)")
            }
        } else if scheme != "https" {
            throw .invalid(field: field, reason: "must use https")
        }
        return url
    }

    static func isLoopback(_ host: String) -> Bool {
        let host = host.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        return host == "localhost" || host == "::1" || (host.hasPrefix("127.") && host.split(separator: ".").count == 4
            && host.split(separator: ".").allSatisfy { UInt8($0) != nil })
    }

    static func validateIssuer(_ text: String, environment: Environment) throws(DomainError) -> String {
        let url = try validateURL(text, environment: environment, field: "issuer")
        guard url.query == nil else { throw .invalid(field: "issuer", reason: "must not have a query") }
        return text
    }

    static func validateClientID(_ text: String) throws(DomainError) -> String {
        guard (1...255).contains(text.utf8.count), text.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F }) else {
            throw .invalid(field: "client_id", reason: "must be 1 to 255 printable ASCII characters")
        }
        return text
    }

    static func validateClientSecret(_ text: String) throws(DomainError) -> String {
        guard (1...1024).contains(text.utf8.count), !text.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else {
            throw .invalid(field: "client_secret", reason: "must be 1 to 1024 printable characters")
        }
        return text
    }

    /// RFC 6749 §3.3 scope tokens; `openid` is required (OIDC Core §3.1.2.1).
    static func validateScopes(_ scopes: [String]) throws(DomainError) -> [String] {
        guard scopes.contains("openid") else { throw .invalid(field: "scopes", reason: "must include openid") }
        guard scopes.count <= 20, Set(scopes).count == scopes.count else { throw .invalid(field: "scopes", reason: "must be distinct, at most 20") }
        for scope in scopes {
            guard (1...100).contains(scope.utf8.count),
                scope.utf8.allSatisfy({ $0 == 0x21 || (0x23...0x5B).contains($0) || (0x5D...0x7E).contains($0) })
            else { throw .invalid(field: "scopes", reason: "\(scope) is not a valid scope token") }
        }
        return scopes
    }
}

/// An upstream account linked to a Lamba User: the provider's `sub` (unique per provider, OIDC
/// Core §2) is the key, never the email. One account per provider per user.
public struct LinkedIdentity: Sendable, Hashable {
    public var id: String
    public var userID: String
    public var workspaceID: String
    public var projectID: String
    public var environment: Environment
    public var providerID: String
    public var subject: String
    /// The email the provider reported when the link was made, for display only.
    public var email: String?
    public var linkedAt: Date

    public init(id: String = EntityID.generate(.linkedIdentity), userID: String, workspaceID: String, projectID: String, environment: Environment,
                providerID: String, subject: String, email: String?, linkedAt: Date = Date()) {
        self.id = id
        self.userID = userID
        self.workspaceID = workspaceID
        self.projectID = projectID
        self.environment = environment
        self.providerID = providerID
        self.subject = subject
        self.email = email
        self.linkedAt = linkedAt
    }
}

/// Social providers of Project environments, as operators manage them. Creating or re-pointing one
/// first proves the issuer (its discovery document must name the configured issuer exactly); the
/// proof is I/O, so the caller supplies it and it runs only after the caller's capability is checked.
public struct UpstreamProviderAdministration: Sendable {
    public let store: any IdentityStore
    let masterKey: MasterKey

    public let clock: WallClock

    public init(store: any IdentityStore, masterKey: MasterKey, clock: WallClock = .system) {
        self.clock = clock
        self.store = store
        self.masterKey = masterKey
    }

    /// Checks an issuer over the network; throws a DomainError naming `issuer` when it does not answer as one.
    public typealias IssuerCheck = @Sendable (_ issuer: String, _ environment: Environment) async throws -> Void

    public struct Settings: Sendable {
        public var name: String?
        public var issuer: String?
        public var clientID: String?
        public var clientSecret: String?
        public var scopes: [String]?
        /// Whether `provider:{id}` is among the environment's sign-in methods.
        public var enabled: Bool?
        public init() {}
    }

    /// The provider and whether it is an enabled sign-in method of its environment.
    public struct Configured: Sendable {
        public var provider: UpstreamProvider
        public var enabled: Bool
    }

    public func createProvider(_ caller: ConsoleCaller, projectID: String, environment: Environment, _ settings: Settings,
                               checkIssuer: IssuerCheck) async throws -> Configured {
        try caller.require(.projectManage, inProject: projectID)
        guard let name = settings.name else { throw DomainError.invalid(field: "name", reason: "is required") }
        guard let issuer = settings.issuer else { throw DomainError.invalid(field: "issuer", reason: "is required") }
        guard let clientID = settings.clientID else { throw DomainError.invalid(field: "client_id", reason: "is required") }
        guard let secret = settings.clientSecret else { throw DomainError.invalid(field: "client_secret", reason: "is required") }
        let validName = try MemberLifecycle.validateName(name)
        let validIssuer = try UpstreamProvider.validateIssuer(issuer, environment: environment)
        let validClientID = try UpstreamProvider.validateClientID(clientID)
        let validSecret = try UpstreamProvider.validateClientSecret(secret)
        let scopes = try UpstreamProvider.validateScopes(settings.scopes ?? UpstreamProvider.defaultScopes)
        // The Project must be the caller's before anything is fetched on its behalf.
        _ = try await store.read { tx in try MemberLifecycle.activeProject(tx, projectID, caller.workspaceID) }
        try await checkIssuer(validIssuer, environment)
        let id = EntityID.generate(.upstreamProvider)
        let provider = UpstreamProvider(id: id, workspaceID: caller.workspaceID, projectID: projectID, environment: environment, name: validName,
                                        issuer: validIssuer, clientID: validClientID,
                                        sealedClientSecret: try UpstreamProvider.sealClientSecret(validSecret, providerID: id, masterKey: masterKey),
                                        scopes: scopes)
        let enable = settings.enabled ?? true
        return try await store.write { tx in
            let project = try MemberLifecycle.activeProject(tx, projectID, caller.workspaceID)
            try tx.insert(provider)
            try tx.append(DomainEvent(type: .providerCreated, by: caller, workspaceID: caller.workspaceID, projectID: project.id,
                                      environment: environment, data: Self.eventData(provider, enabled: enable)))
            if enable {
                try Self.setEnabled(tx, caller, project: project, provider: provider, enabled: true)
            }
            return Configured(provider: provider, enabled: enable)
        }
    }

    public func providers(_ caller: ConsoleCaller, projectID: String, environment: Environment) async throws -> [Configured] {
        try caller.require(.projectRead, inProject: projectID)
        return try await store.read { tx in
            guard try tx.project(id: projectID, workspaceID: caller.workspaceID) != nil else { throw DomainError.notFound("project \(projectID)") }
            let methods = try tx.environmentSettings(projectID: projectID, environment: environment)?.authMethods ?? []
            return try tx.upstreamProviders(projectID: projectID, environment: environment).map {
                Configured(provider: $0, enabled: methods.contains($0.method))
            }
        }
    }

    public func provider(_ caller: ConsoleCaller, projectID: String, environment: Environment, providerID: String) async throws -> Configured {
        try caller.require(.projectRead, inProject: projectID)
        return try await store.read { tx in
            let provider = try Self.owned(tx, caller, projectID, environment, providerID)
            let methods = try tx.environmentSettings(projectID: projectID, environment: environment)?.authMethods ?? []
            return Configured(provider: provider, enabled: methods.contains(provider.method))
        }
    }

    /// Changes a provider. Disabling it, or pointing it at another issuer or client id, is a "provider
    /// setting changed" trigger (docs/sessions-and-scopes.md#sign-in-method-changed): the runtime scopes of
    /// this environment whose session came through the provider end. Disabling is checked by the
    /// auth-method guard first. A new issuer is refused while accounts are linked: `sub` values are unique
    /// per issuer only.
    public func updateProvider(_ caller: ConsoleCaller, projectID: String, environment: Environment, providerID: String, _ settings: Settings,
                               checkIssuer: IssuerCheck) async throws -> Configured {
        try caller.require(.projectManage, inProject: projectID)
        let name = try settings.name.map { try MemberLifecycle.validateName($0) }
        let issuer = try settings.issuer.map { try UpstreamProvider.validateIssuer($0, environment: environment) }
        let clientID = try settings.clientID.map { try UpstreamProvider.validateClientID($0) }
        let secret = try settings.clientSecret.map { try UpstreamProvider.validateClientSecret($0) }
        let scopes = try settings.scopes.map { try UpstreamProvider.validateScopes($0) }
        let current = try await store.read { tx in try Self.owned(tx, caller, projectID, environment, providerID) }
        if let issuer, issuer != current.issuer { try await checkIssuer(issuer, environment) }
        let sealed = try secret.map { try UpstreamProvider.sealClientSecret($0, providerID: providerID, masterKey: masterKey) }
        return try await store.write { tx in
            let project = try MemberLifecycle.activeProject(tx, projectID, caller.workspaceID)
            var provider = try Self.owned(tx, caller, projectID, environment, providerID)
            let now = clock.now()
            var trustChanged = false
            if let issuer, issuer != provider.issuer {
                let linked = try tx.countLinkedIdentities(providerID: provider.id)
                guard linked == 0 else {
                    throw DomainError.refused("\(linked) accounts are linked to this provider and their ids belong to its issuer; "
                        + "add a new provider for the other issuer instead")
                }
                provider.issuer = issuer
                trustChanged = true
            }
            if let clientID, clientID != provider.clientID {
                provider.clientID = clientID
                trustChanged = true
            }
            if let name { provider.name = name }
            if let sealed { provider.sealedClientSecret = sealed }
            if let scopes { provider.scopes = scopes }
            provider.updatedAt = now
            if trustChanged { provider.trustChangedAt = now }
            let methods = try tx.environmentSettings(projectID: project.id, environment: environment)?.authMethods ?? []
            var enabled = methods.contains(provider.method)
            var disabledHere = false
            if let wanted = settings.enabled, wanted != enabled {
                // Disabling is the login-method change of `ProjectAdministration.updateEnvironment`,
                // with its guard, its one event and its revocations.
                try Self.setEnabled(tx, caller, project: project, provider: provider, enabled: wanted, reason: "provider_disabled")
                enabled = wanted
                disabledHere = !wanted
            }
            try tx.update(provider)
            var data = Self.eventData(provider, enabled: enabled)
            data["trust_changed"] = .bool(trustChanged)
            data["secret_changed"] = .bool(sealed != nil)
            let event = DomainEvent(type: .providerUpdated, by: caller, workspaceID: caller.workspaceID, projectID: project.id,
                                    environment: environment, data: data)
            // A re-pointed provider no longer stands for the sessions it established: this event is
            // the trigger. When this change also disabled it, those scopes have ended already.
            if trustChanged, !disabledHere {
                try MemberLifecycle.invalidate(tx, .signInMethod(projectID: project.id, environment: environment, method: provider.method),
                                               reason: "provider_changed", listingIDs: false, event)
            } else {
                try tx.append(event)
            }
            return Configured(provider: provider, enabled: enabled)
        }
    }

    /// Deletes a provider: it leaves the sign-in methods (guarded; the scopes its sessions opened in
    /// this environment end there, as for any removed method), and its links go. A provider that is
    /// not enabled has no live scopes left: disabling ended them, and a session through a withdrawn
    /// provider must sign in again before it enters (`AuthorizationEndpoint`).
    public func deleteProvider(_ caller: ConsoleCaller, projectID: String, environment: Environment, providerID: String) async throws {
        try caller.require(.projectManage, inProject: projectID)
        try await store.write { tx in
            let project = try MemberLifecycle.activeProject(tx, projectID, caller.workspaceID)
            var provider = try Self.owned(tx, caller, projectID, environment, providerID)
            if try tx.environmentSettings(projectID: project.id, environment: environment)?.authMethods.contains(provider.method) == true {
                try Self.setEnabled(tx, caller, project: project, provider: provider, enabled: false, reason: "provider_deleted")
            }
            let unlinked = try tx.deleteLinkedIdentities(providerID: provider.id)
            let now = clock.now()
            provider.deletedAt = now
            provider.updatedAt = now
            provider.trustChangedAt = now
            try tx.update(provider)
            try tx.append(DomainEvent(type: .providerDeleted, by: caller, workspaceID: caller.workspaceID, projectID: project.id,
                                      environment: environment, data: [
                "provider_id": .string(provider.id), "unlinked_accounts": .integer(Int64(unlinked.count)),
            ]))
        }
    }

    /// Adds or removes `provider:{id}` in the environment's sign-in methods, with the trigger of
    /// `ProjectAdministration.updateEnvironment` (`endRemovedSignIns`): removal is guarded
    /// (docs/access-model.md#auth-method-guard) and ends the environment's scopes signed in through the
    /// provider, with one `environment.updated` event that names the provider and says why (`reason`).
    static func setEnabled(_ tx: any IdentityWriter, _ caller: ConsoleCaller, project: Project, provider: UpstreamProvider, enabled: Bool,
                           reason: String = "login_method_changed") throws {
        guard var settings = try tx.environmentSettings(projectID: project.id, environment: provider.environment) else {
            throw DomainError.notFound("environment \(provider.environment.rawValue)")
        }
        let previous = settings.authMethods
        var methods = previous.filter { $0 != provider.method }
        if enabled {
            methods.append(provider.method)
        } else {
            guard !methods.isEmpty else {
                throw DomainError.refused("\(provider.name) is the only sign-in method of \(provider.environment.rawValue); enable another method first")
            }
            try AuthMethodGuard.check(tx, project: project, environment: provider.environment, newMethods: methods)
        }
        settings.authMethods = methods
        try tx.save(settings)
        try ProjectAdministration.endRemovedSignIns(tx, settings, previous: previous, reason: reason, DomainEvent(
            type: .environmentUpdated, by: caller, workspaceID: caller.workspaceID, projectID: project.id,
            environment: provider.environment, data: ["provider_id": .string(provider.id)]))
    }

    static func owned(_ tx: any IdentityReader, _ caller: ConsoleCaller, _ projectID: String, _ environment: Environment,
                      _ providerID: String) throws -> UpstreamProvider {
        guard let provider = try tx.upstreamProvider(id: providerID), provider.deletedAt == nil, provider.workspaceID == caller.workspaceID,
            provider.projectID == projectID, provider.environment == environment
        else { throw DomainError.notFound("provider \(providerID)") }
        return provider
    }

    static func eventData(_ provider: UpstreamProvider, enabled: Bool) -> JSONObject {
        ["provider_id": .string(provider.id), "name": .string(provider.name), "issuer": .string(provider.issuer),
         "client_id": .string(provider.clientID), "scopes": .array(provider.scopes.map(JSONValue.string)), "enabled": .bool(enabled)]
    }
}
