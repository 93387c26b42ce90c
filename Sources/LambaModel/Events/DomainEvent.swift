public import Foundation
public import LambaJOSE

/// A lifecycle fact, written in the same transaction as the change it describes
/// (docs/events.md#same-transaction). The `data` bytes are fixed when the event is written
/// (docs/events.md#immutable).
public struct DomainEvent: Sendable, Hashable {
    public var id: String
    public var type: EventType
    /// Who caused it: a user id, an API key id, or `system`.
    public var actor: String
    /// What `actor` is, and through what it acted (docs/events.md#attribution).
    public var attribution: Attribution
    public var workspaceID: String?
    public var projectID: String?
    public var environment: Environment?
    public var sessionID: String?
    public var occurredAt: Date
    public var data: JSONObject

    public init(type: EventType, actor: String, workspaceID: String?, projectID: String? = nil, environment: Environment? = nil,
                sessionID: String? = nil, occurredAt: Date = Date(), data: JSONObject = JSONObject()) {
        self.id = EntityID.generate(.event)
        self.type = type
        self.actor = actor
        self.attribution = Attribution(actor: actor)
        self.workspaceID = workspaceID
        self.projectID = projectID
        self.environment = environment
        self.sessionID = sessionID
        self.occurredAt = occurredAt
        self.data = data
    }
}

extension DomainEvent {
    /// Who acted, beyond the actor's id: a person's console session, or who created the API key used.
    public struct Attribution: Sendable, Hashable {
        public enum ActorType: String, Sendable, Hashable, CaseIterable {
            case user, apiKey = "api_key", system
        }

        public var actorType: ActorType
        /// The console session a person acted through; nil offline (the CLI on the database, first-run setup).
        public var consoleSessionID: String?
        /// For an API key: the Lamba User (or key) that created it.
        public var apiKeyCreatedBy: String?

        public init(actorType: ActorType, consoleSessionID: String? = nil, apiKeyCreatedBy: String? = nil) {
            self.actorType = actorType
            self.consoleSessionID = consoleSessionID
            self.apiKeyCreatedBy = apiKeyCreatedBy
        }

        /// From an actor id alone: a user id, an API key id, or else Lamba itself (`system`, and `cli`
        /// for the operator at the machine).
        public init(actor: String) {
            if EntityID.isWellFormed(actor, .user) { self.init(actorType: .user) }
            else if EntityID.isWellFormed(actor, .apiKey) { self.init(actorType: .apiKey) }
            else { self.init(actorType: .system) }
        }

        public init(_ principal: ConsoleCaller.Principal) {
            switch principal {
            case .user(let id, let session): self.init(actorType: Attribution(actor: id).actorType, consoleSessionID: session)
            case .apiKey(_, let createdBy): self.init(actorType: .apiKey, apiKeyCreatedBy: createdBy)
            }
        }
    }

    /// The same event, done by its user through a console session.
    public func through(consoleSession id: String) -> DomainEvent {
        var event = self
        event.attribution.consoleSessionID = id
        return event
    }

    /// An event caused by a console caller: it names the person or key, the console session or the key's creator.
    public init(type: EventType, by caller: ConsoleCaller, workspaceID: String?, projectID: String? = nil, environment: Environment? = nil,
                sessionID: String? = nil, occurredAt: Date = Date(), data: JSONObject = JSONObject()) {
        self.init(type: type, actor: caller.actor, workspaceID: workspaceID, projectID: projectID, environment: environment,
                  sessionID: sessionID, occurredAt: occurredAt, data: data)
        self.attribution = Attribution(caller.principal)
    }
}

/// Event type names, `noun.verb`, stable: webhooks and audit filters are keyed by them. The constants
/// below are the catalog (docs/events.md#catalog).
public struct EventType: RawRepresentable, Sendable, Hashable, Codable, ExpressibleByStringLiteral, CustomStringConvertible {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(stringLiteral value: String) { self.rawValue = value }
    public var description: String { rawValue }

    public static let userCreated: EventType = "user.created"
    public static let workspaceCreated: EventType = "workspace.created"
    public static let workspaceUpdated: EventType = "workspace.updated"
    public static let workspaceDeactivated: EventType = "workspace.deactivated"
    public static let workspaceForcedLogout: EventType = "workspace.forced_logout"
    public static let customDomainAdded: EventType = "custom_domain.added"
    public static let customDomainVerified: EventType = "custom_domain.verified"
    public static let customDomainRemoved: EventType = "custom_domain.removed"
    public static let apiKeyCreated: EventType = "api_key.created"
    public static let apiKeyRevoked: EventType = "api_key.revoked"
    public static let projectCreated: EventType = "project.created"
    public static let projectUpdated: EventType = "project.updated"
    public static let projectBrandingUpdated: EventType = "project.branding_updated"
    public static let projectDeactivated: EventType = "project.deactivated"
    public static let environmentUpdated: EventType = "environment.updated"
    public static let clientCreated: EventType = "client.created"
    public static let clientUpdated: EventType = "client.updated"
    public static let clientDeleted: EventType = "client.deleted"
    public static let clientSecretRotated: EventType = "client.secret_rotated"
    public static let roleCreated: EventType = "role.created"
    public static let roleUpdated: EventType = "role.updated"
    public static let roleDeleted: EventType = "role.deleted"
    public static let teamInviteCreated: EventType = "team_invite.created"
    public static let teamMemberAdded: EventType = "team_member.added"
    public static let teamMemberUpdated: EventType = "team_member.updated"
    public static let teamMemberRemoved: EventType = "team_member.removed"
    public static let teamMemberPromoted: EventType = "team_member.promoted"
    public static let projectInviteCreated: EventType = "project_invite.created"
    public static let inviteRevoked: EventType = "invite.revoked"
    public static let projectMemberAdded: EventType = "project_member.added"
    public static let projectMemberJoined: EventType = "project_member.joined"
    public static let projectMemberRegistered: EventType = "project_member.registered"
    public static let projectMemberRoleChanged: EventType = "project_member.role_changed"
    public static let projectMemberRemoved: EventType = "project_member.removed"
    public static let sessionCreated: EventType = "session.created"
    public static let sessionRevoked: EventType = "session.revoked"
    public static let runtimeScopeCreated: EventType = "runtime_scope.created"
    public static let runtimeScopeRevoked: EventType = "runtime_scope.revoked"
    public static let tokenRevoked: EventType = "token.revoked"
    public static let refreshTokenReused: EventType = "refresh_token.reused"
    /// A rotated refresh token was presented again within its environment's reuse grace: its unused
    /// successor was revoked and a fresh one issued, the family and runtime scope stay.
    public static let refreshTokenRetried: EventType = "refresh_token.retried"
    public static let authorizationCodeReplayed: EventType = "authorization_code.replayed"
    public static let signingKeyRotated: EventType = "signing_key.rotated"
    public static let providerCreated: EventType = "provider.created"
    public static let providerUpdated: EventType = "provider.updated"
    public static let providerDeleted: EventType = "provider.deleted"
    public static let userProviderLinked: EventType = "user.provider_linked"
    public static let userProviderUnlinked: EventType = "user.provider_unlinked"
    /// Password checks for an existing user's email were refused for a while after repeated failures.
    public static let userSignInThrottled: EventType = "user.sign_in_throttled"

    // Webhook endpoints of a Project environment (docs/events.md#disable-after-failures).
    public static let webhookEndpointCreated: EventType = "webhook_endpoint.created"
    public static let webhookEndpointUpdated: EventType = "webhook_endpoint.updated"
    public static let webhookEndpointDeleted: EventType = "webhook_endpoint.deleted"
    public static let webhookEndpointSecretRotated: EventType = "webhook_endpoint.secret_rotated"
    public static let webhookEndpointDisabled: EventType = "webhook_endpoint.disabled"
    public static let webhookEndpointEnabled: EventType = "webhook_endpoint.enabled"
    public static let webhookSettingsUpdated: EventType = "webhook_settings.updated"
}
