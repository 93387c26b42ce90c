public import Foundation
public import LambaJOSE
public import LambaModel
public import LambaStore

/// Webhook endpoints and settings as operators manage them from the console. Every call is scoped
/// to the caller's Workspace (another Workspace's ids read as missing), checks the caller's
/// capability in the Project, and writes its event in the same transaction as the change.
///
/// The rules it applies (limits, field checks, replay, private targets) are the domain's
/// (`WebhookEndpointRules`); this service only reads and writes them through the store.
public struct WebhookAdministration: Sendable {
    typealias Rules = WebhookEndpointRules

    let store: any Store
    let secrets: WebhookSecretBox

    public init(store: any Store, masterKey: MasterKey) {
        self.store = store
        self.secrets = WebhookSecretBox(masterKey: masterKey)
    }

    public struct EndpointChanges: Sendable {
        public var url: String?
        public var description: String?
        public var eventTypes: [String]?
        public var maxConcurrency: Int?
        public init(url: String? = nil, description: String? = nil, eventTypes: [String]? = nil, maxConcurrency: Int? = nil) {
            self.url = url
            self.description = description
            self.eventTypes = eventTypes
            self.maxConcurrency = maxConcurrency
        }
    }

    // MARK: Endpoints

    public func endpoints(_ caller: ConsoleCaller, projectID: String, environment: LambaModel.Environment) async throws -> [WebhookEndpointRecord] {
        try await store.read { r in
            try Self.requireProject(r, caller, projectID, .webhooksRead)
            return try r.webhookEndpoints(projectID: projectID, environment: environment)
        }
    }

    public func endpoint(_ caller: ConsoleCaller, projectID: String, environment: LambaModel.Environment, id: String) async throws -> WebhookEndpointRecord {
        try await store.read { r in
            try Self.requireProject(r, caller, projectID, .webhooksRead)
            return try Self.endpoint(r, caller, projectID, environment, id)
        }
    }

    /// Registers an endpoint and returns it with its secret, which is shown this once.
    public func createEndpoint(_ caller: ConsoleCaller, projectID: String, environment: LambaModel.Environment,
                               _ fields: EndpointChanges) async throws -> (WebhookEndpointRecord, secret: String) {
        guard let url = fields.url else { throw DomainError.invalid(field: "url", reason: "is required") }
        let eventTypes = try Rules.validateEventTypes(fields.eventTypes ?? [])
        let description = try Rules.validateDescription(fields.description ?? "")
        let concurrency = try Rules.validateConcurrency(fields.maxConcurrency ?? Rules.defaultConcurrency)
        let id = WebhookID.generate(WebhookID.endpoint)
        let secret = try StandardWebhooks.generateSecret()
        let sealed = try secrets.seal(secret, endpointID: id)
        let endpoint = try await store.withDomainTransaction { tx in
            try Self.requireProject(tx, caller, projectID, .webhooksManage)
            let allowPrivate = try tx.webhookAllowsPrivateTargets(projectID: projectID, environment: environment)
            let validURL = try Rules.validateURL(url, allowPrivate: allowPrivate)
            try Rules.checkEndpointLimit(existing: try tx.webhookEndpoints(projectID: projectID, environment: environment).count)
            let endpoint = WebhookEndpointRecord(
                id: id, workspaceID: caller.workspaceID, projectID: projectID, environment: environment, url: validURL,
                description: description, eventTypes: eventTypes, secretSealed: sealed, maxConcurrency: concurrency,
                startAfterSeq: try tx.latestEventSequence(), createdAt: Date())
            try tx.insertWebhookEndpoint(endpoint)
            try Self.append(tx, caller, endpoint, .webhookEndpointCreated, [
                "url": .string(endpoint.url), "event_types": .array(eventTypes.map(JSONValue.string)),
            ])
            return endpoint
        }
        return (endpoint, secret)
    }

    public func updateEndpoint(_ caller: ConsoleCaller, projectID: String, environment: LambaModel.Environment, id: String,
                               _ changes: EndpointChanges) async throws -> WebhookEndpointRecord {
        let eventTypes = try changes.eventTypes.map(Rules.validateEventTypes)
        let description = try changes.description.map(Rules.validateDescription)
        let concurrency = try changes.maxConcurrency.map(Rules.validateConcurrency)
        return try await store.withDomainTransaction { tx in
            try Self.requireProject(tx, caller, projectID, .webhooksManage)
            var endpoint = try Self.endpoint(tx, caller, projectID, environment, id)
            var changed: [JSONValue] = []
            if let url = changes.url {
                let allowPrivate = try tx.webhookAllowsPrivateTargets(projectID: projectID, environment: environment)
                endpoint.url = try Rules.validateURL(url, allowPrivate: allowPrivate)
                changed.append("url")
            }
            if let description { endpoint.description = description; changed.append("description") }
            if let eventTypes { endpoint.eventTypes = eventTypes; changed.append("event_types") }
            if let concurrency { endpoint.maxConcurrency = concurrency; changed.append("max_concurrency") }
            endpoint.updatedAt = Date()
            try tx.updateWebhookEndpoint(endpoint)
            try Self.append(tx, caller, endpoint, .webhookEndpointUpdated, ["changed": .array(changed)])
            return endpoint
        }
    }

    public func deleteEndpoint(_ caller: ConsoleCaller, projectID: String, environment: LambaModel.Environment, id: String) async throws {
        try await store.withDomainTransaction { tx in
            try Self.requireProject(tx, caller, projectID, .webhooksManage)
            let endpoint = try Self.endpoint(tx, caller, projectID, environment, id)
            try tx.deleteWebhookEndpoint(id: endpoint.id, at: Date())
            try Self.append(tx, caller, endpoint, .webhookEndpointDeleted, [:])
        }
    }

    /// A new secret; the previous one keeps signing (as a second signature) until `grace` has passed.
    public func rotateSecret(_ caller: ConsoleCaller, projectID: String, environment: LambaModel.Environment, id: String,
                             grace: TimeInterval?) async throws -> (WebhookEndpointRecord, secret: String) {
        let grace = try Rules.validateRotationGrace(grace)
        let secret = try StandardWebhooks.generateSecret()
        let secrets = self.secrets
        let endpoint = try await store.withDomainTransaction { tx in
            try Self.requireProject(tx, caller, projectID, .webhooksManage)
            var endpoint = try Self.endpoint(tx, caller, projectID, environment, id)
            let now = Date()
            endpoint.previousSecretSealed = endpoint.secretSealed
            endpoint.previousSecretExpiresAt = now.addingTimeInterval(grace)
            endpoint.secretSealed = try secrets.seal(secret, endpointID: endpoint.id)
            endpoint.updatedAt = now
            try tx.updateWebhookEndpoint(endpoint)
            try Self.append(tx, caller, endpoint, .webhookEndpointSecretRotated, [
                "previous_secret_expires_at": .string(EventsJSON.timestamp(now.addingTimeInterval(grace))),
            ])
            return endpoint
        }
        return (endpoint, secret)
    }

    /// Turns a disabled endpoint back on with a clean failure streak; its queued deliveries resume.
    public func enableEndpoint(_ caller: ConsoleCaller, projectID: String, environment: LambaModel.Environment, id: String) async throws -> WebhookEndpointRecord {
        try await store.withDomainTransaction { tx in
            try Self.requireProject(tx, caller, projectID, .webhooksManage)
            var endpoint = try Self.endpoint(tx, caller, projectID, environment, id)
            guard endpoint.status == .disabled else { return endpoint }
            endpoint.status = .enabled
            endpoint.failureStreak = 0
            endpoint.failingSince = nil
            endpoint.disabledReason = nil
            endpoint.updatedAt = Date()
            try tx.updateWebhookEndpoint(endpoint)
            try Self.append(tx, caller, endpoint, .webhookEndpointEnabled, [:])
            return endpoint
        }
    }

    // MARK: Delivery log and replay

    public func deliveries(_ caller: ConsoleCaller, projectID: String, environment: LambaModel.Environment, id: String,
                           state: WebhookDeliveryRecord.State?, before: (Date, String)?, limit: Int) async throws -> [WebhookDeliveryRecord] {
        try await store.read { r in
            try Self.requireProject(r, caller, projectID, .webhooksRead)
            let endpoint = try Self.endpoint(r, caller, projectID, environment, id)
            return try r.webhookDeliveries(endpointID: endpoint.id, state: state, before: before, limit: limit)
        }
    }

    /// Queues events again for one endpoint: one event by id, or every matching event that occurred
    /// in [since, until). Returns how many were queued. The bodies are the original bytes.
    public func replay(_ caller: ConsoleCaller, projectID: String, environment: LambaModel.Environment, id: String,
                       eventID: String?, since: Date?, until: Date?) async throws -> Int {
        try Rules.validateReplay(eventID: eventID, since: since, until: until)
        return try await store.withDomainTransaction { tx in
            try Self.requireProject(tx, caller, projectID, .webhooksManage)
            let endpoint = try Self.endpoint(tx, caller, projectID, environment, id)
            try Rules.checkReplayable(endpoint)
            let events = try tx.replayableEvents(projectID: projectID, environment: environment, eventID: eventID, since: since, until: until,
                                                 limit: Rules.maxReplayEvents + 1)
            try Rules.checkReplayFound(eventID: eventID, found: events.count)
            let now = Date()
            var queued = 0
            for stored in events where eventID != nil || endpoint.matches(eventType: stored.event.type) {
                try tx.enqueueWebhookDelivery(endpoint: endpoint, eventSeq: stored.sequence, eventID: stored.event.id,
                                              eventType: stored.event.type, replay: true, at: now)
                queued += 1
            }
            return queued
        }
    }

    // MARK: Settings

    public func allowsPrivateTargets(_ caller: ConsoleCaller, projectID: String, environment: LambaModel.Environment) async throws -> Bool {
        try await store.read { r in
            try Self.requireProject(r, caller, projectID, .webhooksRead)
            return try r.webhookAllowsPrivateTargets(projectID: projectID, environment: environment)
        }
    }

    /// Private targets are a sandbox convenience (local receivers); production always refuses them.
    public func setAllowPrivateTargets(_ caller: ConsoleCaller, projectID: String, environment: LambaModel.Environment, _ allow: Bool) async throws {
        try Rules.checkPrivateTargetsSetting(allow, environment: environment)
        try await store.withDomainTransaction { tx in
            try Self.requireProject(tx, caller, projectID, .webhooksManage)
            try tx.saveWebhookSettings(projectID: projectID, environment: environment, allowPrivateTargets: allow, at: Date())
            try SQLIdentityRecords(reader: tx, transaction: tx).append(DomainEvent(
                type: .webhookSettingsUpdated, by: caller, workspaceID: caller.workspaceID, projectID: projectID,
                environment: environment, data: ["allow_private_targets": .bool(allow)]))
        }
    }

    // MARK: Checks

    /// The Project must be the caller's (404 otherwise) and the caller must hold `capability` in it.
    static func requireProject(_ reader: any StoreReader, _ caller: ConsoleCaller, _ projectID: String, _ capability: ConsoleCapability) throws {
        guard EntityID.isWellFormed(projectID, .project),
              try SQLIdentityRecords(reader: reader, transaction: nil).project(id: projectID, workspaceID: caller.workspaceID) != nil,
              caller.canSee(projectID: projectID) || caller.capabilities(inProject: projectID).contains(capability)
        else { throw DomainError.notFound("project") }
        try caller.require(capability, inProject: projectID)
    }

    static func endpoint(_ reader: any StoreReader, _ caller: ConsoleCaller, _ projectID: String, _ environment: LambaModel.Environment,
                         _ id: String) throws -> WebhookEndpointRecord {
        guard let endpoint = try reader.webhookEndpoint(id: id, workspaceID: caller.workspaceID),
              endpoint.projectID == projectID, endpoint.environment == environment
        else { throw DomainError.notFound("webhook endpoint") }
        return endpoint
    }

    static func append(_ tx: any StoreTransaction, _ caller: ConsoleCaller, _ endpoint: WebhookEndpointRecord, _ type: EventType, _ extra: JSONObject) throws {
        var data: JSONObject = ["endpoint_id": .string(endpoint.id)]
        for (name, value) in extra { data[name] = value }
        try SQLIdentityRecords(reader: tx, transaction: tx).append(DomainEvent(
            type: type, by: caller, workspaceID: endpoint.workspaceID, projectID: endpoint.projectID,
            environment: endpoint.environment, data: data))
    }
}
