public import Foundation
public import LambaJOSE
public import LambaModel
import LambaASCII

/// The client configuration endpoint, `{issuer}/register/{client_id}` (RFC 7592): a client that
/// registered itself reads (GET), replaces (PUT) and deletes (DELETE) its registration with the
/// registration access token it was given. Only self-registered clients have one; a token opens
/// only its own client, in its own Project environment.
public struct ClientConfigurationEndpoint: Sendable {
    let records: Transactions<any IdentityWriter & ClientRegistrationStorage>
    let keys: SigningKeyRing
    let clock: WallClock

    /// One request: the method, the client id from the path, the bearer header and, for PUT, the body.
    public func handle(method: String, clientID: String, authorization: String?, body: [UInt8], isJSON: Bool,
                       _ context: ProviderContext) async -> EndpointResponse {
        do {
            let token = try Self.bearer(authorization)
            switch method {
            case "GET":
                let client = try await authorized(clientID, token: token, context)
                return .json(DynamicClientRegistrationEndpoint.clientInformation(client, secret: nil, registrationAccessToken: token, context))
            case "PUT":
                return try await update(clientID, token: token, body: body, isJSON: isJSON, context)
            case "DELETE":
                try await delete(clientID, token: token, context)
                return EndpointResponse(status: 204, headers: [("Cache-Control", "no-store")], body: [])
            default:
                throw OAuthError.invalidRequest("the client configuration endpoint accepts GET, PUT and DELETE")
            }
        } catch {
            return .error(error, bearer: true)
        }
    }

    /// RFC 6750 §2.1; a missing header is a request without credentials (§3.1: no error code).
    static func bearer(_ authorization: String?) throws(OAuthError) -> String {
        guard let authorization else {
            var error = OAuthError(.invalidToken, "send the registration access token as Authorization: Bearer")
            error.lacksCredentials = true
            throw error
        }
        guard authorization.utf8.hasPrefixIgnoringASCIICase("bearer ") else { throw OAuthError.invalidToken("use the Bearer scheme") }
        let token = String(authorization.dropFirst(7)).trimmingCharacters(in: .whitespaces)
        guard !token.isEmpty, token.utf8.count <= 256 else { throw OAuthError.invalidToken() }
        return token
    }

    /// RFC 7592 §2: the client, when the token is its registration access token. An unknown
    /// client, another environment's client and a wrong token all answer the same 401.
    func authorized(_ clientID: String, token: String, _ context: ProviderContext) async throws -> OAuthClient {
        try await records.read { tx in try Self.authorized(tx, clientID, token: token, context) }
    }

    static func authorized(_ tx: any ClientReader & ClientRegistrationStorage, _ clientID: String, token: String,
                           _ context: ProviderContext) throws -> OAuthClient {
        let refused = OAuthError.invalidToken("the registration access token is not valid for this client")
        guard let client = try RegisteredClients.client(tx, id: clientID, in: context), client.registeredDynamically,
              let stored = try tx.registrationAccessTokenHash(clientID: client.id),
              constantTimeEquals(Array(OpaqueSecret.hash(token).utf8), Array(stored.utf8))
        else { throw refused }
        return client
    }

    /// RFC 7592 §2.2: the request carries every field the client wants registered, and what it
    /// leaves out takes its default. The client id stays, and so does the secret while the client
    /// still authenticates with one; a client that turns to a `client_secret_*` method gets a new one.
    func update(_ clientID: String, token: String, body: [UInt8], isJSON: Bool, _ context: ProviderContext) async throws -> EndpointResponse {
        guard isJSON else { throw OAuthError(.invalidClientMetadata, "send the client metadata as application/json") }
        var metadata: JSONObject
        do { metadata = try JSON.decodeObject(body) } catch { throw OAuthError(.invalidClientMetadata, "the body is not a JSON object") }
        guard metadata["client_id"]?.stringValue == clientID else {
            throw OAuthError(.invalidRequest, "client_id must be in the body and name this client (RFC 7592 §2.2)")
        }
        let presentedSecret = metadata["client_secret"]
        // The server's own fields (§2.2: the client must not send them); a client that echoes the
        // whole information response back is not refused for them.
        for name in ["client_id", "client_secret", "registration_access_token", "registration_client_uri", "client_secret_expires_at",
                     "client_id_issued_at"] { metadata[name] = nil }
        let registration = try DynamicClientRegistrationEndpoint.registration(metadata)
        if context.settings.dynamicClientRegistration == .loopbackOnly {
            try DynamicClientRegistrationEndpoint.requireLoopback(registration)
        }
        let rebuilt: (OAuthClient, secret: String?)
        do {
            rebuilt = try ProjectAdministration.makeClient(registration, workspaceID: context.workspace.id, projectID: context.project.id,
                                                          environment: context.environment, dynamically: true)
        } catch let error as DomainError {
            throw DynamicClientRegistrationEndpoint.metadataError(error)
        }
        let now = clock.now()
        let (client, secret) = try await records.write { tx -> (OAuthClient, String?) in
            let current = try Self.authorized(tx, clientID, token: token, context)
            if let presentedSecret {
                // §2.2: a secret in the request must be the one issued.
                guard let text = presentedSecret.stringValue, let hash = current.secretHash,
                      constantTimeEquals(Array(OpaqueSecret.hash(text).utf8), Array(hash.utf8))
                else { throw OAuthError(.invalidClientMetadata, "client_secret is not this client's secret") }
            }
            var client = rebuilt.0
            client.id = current.id
            client.createdAt = current.createdAt
            var secret = rebuilt.secret
            if client.secretHash != nil, let kept = current.secretHash {
                client.secretHash = kept
                secret = nil
            }
            try ProjectAdministration.checkRedirectURIsNotShared(tx, client)
            try tx.update(client)
            try tx.append(DomainEvent(type: .clientUpdated, actor: "dynamic_registration", workspaceID: context.workspace.id,
                                      projectID: context.project.id, environment: context.environment, occurredAt: now, data: [
                "client_id": .string(client.id), "dynamic": true,
            ]))
            return (client, secret)
        }
        if let algorithm = JWSAlgorithm(rawValue: client.idTokenSignedResponseAlg) {
            try await keys.ensureCurrent(projectID: context.project.id, environment: context.environment, algorithms: [algorithm])
        }
        return .json(DynamicClientRegistrationEndpoint.clientInformation(client, secret: secret, registrationAccessToken: token, context))
    }

    /// RFC 7592 §2.3: the client is gone, and its registration access token with it.
    func delete(_ clientID: String, token: String, _ context: ProviderContext) async throws {
        let now = clock.now()
        try await records.write { tx in
            let client = try Self.authorized(tx, clientID, token: token, context)
            try tx.deleteClient(id: client.id)
            try tx.setRegistrationAccessToken(clientID: client.id, hash: nil)
            try tx.append(DomainEvent(type: .clientDeleted, actor: "dynamic_registration", workspaceID: context.workspace.id,
                                      projectID: context.project.id, environment: context.environment, occurredAt: now, data: [
                "client_id": .string(client.id), "dynamic": true,
            ]))
        }
    }
}
