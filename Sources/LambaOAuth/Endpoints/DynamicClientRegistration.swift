public import Foundation
public import LambaJOSE
public import LambaModel

/// How much an open registration endpoint may be used (RFC 7591 §3 leaves it to the server; §5
/// warns of clients registering en masse). Counted in the database, so every `lamba` process on it
/// enforces the same numbers.
public struct ClientRegistrationLimits: Sendable, Equatable {
    /// Clients one address may register in one environment within `window`.
    public var perAddress: Int
    public var window: TimeInterval
    /// Self-registered clients one environment may hold at once; deleting some frees room.
    public var perEnvironment: Int

    public init(perAddress: Int = 20, window: TimeInterval = 3600, perEnvironment: Int = 1000) {
        self.perAddress = perAddress
        self.window = window
        self.perEnvironment = perEnvironment
    }
}

/// `POST /register` (RFC 7591 §3), when the environment's `dynamicClientRegistration` is on;
/// `loopback_only` admits only clients whose redirect URIs are loopback (conformance tools).
public struct DynamicClientRegistrationEndpoint: Sendable {
    let records: Transactions<any ClientWriter & ClientRegistrationStorage & EventLog>
    let keys: SigningKeyRing
    let limits: ClientRegistrationLimits
    let clock: WallClock

    /// `clientAddress` is the peer's IP address as the server saw it, the key of the per-address limit.
    public func handle(body: [UInt8], isJSON: Bool, clientAddress: String, _ context: ProviderContext) async -> EndpointResponse {
        do {
            let mode = context.settings.dynamicClientRegistration
            guard mode != .off else { throw OAuthError(.notFound, "dynamic client registration is not enabled") }
            guard isJSON else { throw OAuthError(.invalidClientMetadata, "send the client metadata as application/json") }
            let metadata: JSONObject
            do { metadata = try JSON.decodeObject(body) } catch { throw OAuthError(.invalidClientMetadata, "the body is not a JSON object") }
            let registration = try Self.registration(metadata)
            if mode == .loopbackOnly { try Self.requireLoopback(registration) }
            let made: (OAuthClient, secret: String?)
            do {
                made = try ProjectAdministration.makeClient(registration, workspaceID: context.workspace.id, projectID: context.project.id,
                                                           environment: context.environment, dynamically: true)
            } catch let error as DomainError {
                throw Self.metadataError(error)
            }
            let client = made.0
            let now = clock.now()
            let addressHash = OpaqueSecret.hash("client-registration " + clientAddress)
            // RFC 7592 §3: the bearer token of the client configuration endpoint, stored hashed.
            let accessToken = OpaqueSecret.generate(prefix: "lmb_rat_")
            try await records.write { tx in
                try Self.checkLimits(tx, limits, addressHash: addressHash, context, now: now)
                try tx.insert(client)
                try tx.recordRegistration(clientID: client.id, projectID: context.project.id, environment: context.environment,
                                          addressHash: addressHash, accessTokenHash: accessToken.hash, at: now)
                try tx.append(DomainEvent(type: .clientCreated, actor: "dynamic_registration", workspaceID: context.workspace.id,
                                          projectID: context.project.id, environment: context.environment, occurredAt: now, data: [
                    "client_id": .string(client.id), "type": .string(client.type.rawValue), "first_party": false, "dynamic": true,
                ]))
            }
            // A client's ID token algorithm needs a key before its first token.
            if let algorithm = JWSAlgorithm(rawValue: client.idTokenSignedResponseAlg) {
                try await keys.ensureCurrent(projectID: context.project.id, environment: context.environment, algorithms: [algorithm])
            }
            return .json(Self.clientInformation(client, secret: made.secret, registrationAccessToken: accessToken.value, context), status: 201)
        } catch {
            return .error(OAuthError.wrap(error))
        }
    }

    /// `loopback_only`: every redirect URI is plain http on a loopback address.
    static func requireLoopback(_ registration: ProjectAdministration.ClientRegistration) throws(OAuthError) {
        for uri in registration.redirectURIs + registration.postLogoutRedirectURIs {
            guard let host = URLComponents(string: uri)?.host, OAuthClient.isLoopback(host: host), uri.lowercased().hasPrefix("http://") else {
                throw OAuthError(.invalidRedirectURI, "only loopback redirect URIs may register here")
            }
        }
    }

    /// RFC 7591 §3.2.2: a redirect URI problem has its own error code.
    static func metadataError(_ error: DomainError) -> OAuthError {
        if case .invalid(let field, _) = error, field.contains("redirect_uri") {
            return OAuthError(.invalidRedirectURI, error.description)
        }
        return OAuthError(.invalidClientMetadata, error.description)
    }

    /// The client information response (RFC 7591 §3.2.1, RFC 7592 §3): the registered metadata,
    /// the secret when one was just issued, and where and with what token the client manages itself.
    static func clientInformation(_ client: OAuthClient, secret: String?, registrationAccessToken: String, _ context: ProviderContext) -> JSONObject {
        var response: JSONObject = [
            "client_id": .string(client.id),
            "client_id_issued_at": .integer(Int64(client.createdAt.timeIntervalSince1970)),
            "client_name": .string(client.name),
            "redirect_uris": .array(client.redirectURIs.map(JSONValue.string)),
            "post_logout_redirect_uris": .array(client.postLogoutRedirectURIs.map(JSONValue.string)),
            "grant_types": .array(client.grantTypes.map(JSONValue.string)),
            "response_types": client.grantTypes.contains("authorization_code") ? ["code"] : [],
            "token_endpoint_auth_method": .string(client.tokenEndpointAuthMethod.rawValue),
            "id_token_signed_response_alg": .string(client.idTokenSignedResponseAlg),
            "scope": .string(client.scopes.joined(separator: " ")),
            "registration_access_token": .string(registrationAccessToken),
            "registration_client_uri": .string(context.endpoint("/register/") + client.id),
        ]
        if let secret {
            response["client_secret"] = .string(secret)
            response["client_secret_expires_at"] = 0
        }
        if let jwks = client.jwks, let set = try? JSON.decodeObject(Array(jwks.utf8)) { response["jwks"] = .object(set) }
        return response
    }

    /// Refuses the registration when the address registered `perAddress` clients within the window
    /// (429 with `Retry-After`: when its oldest registration leaves the window) or the environment
    /// holds `perEnvironment` self-registered clients (403). Runs in the registering transaction,
    /// after the lock, so concurrent registrations are counted one after another.
    static func checkLimits(_ tx: any ClientRegistrationStorage, _ limits: ClientRegistrationLimits, addressHash: String, _ context: ProviderContext,
                            now: Date) throws {
        try tx.lockClientRegistrations(projectID: context.project.id, environment: context.environment)
        let recent = try tx.registrations(projectID: context.project.id, environment: context.environment, addressHash: addressHash,
                                          since: now.addingTimeInterval(-limits.window))
        if recent.count >= limits.perAddress {
            var error = OAuthError(.tooManyRequests, "too many client registrations from this address; retry later")
            let reopens = (recent.first ?? now).addingTimeInterval(limits.window).timeIntervalSince(now)
            error.retryAfter = Int(max(1, min(limits.window, reopens.rounded(.up))))
            throw error
        }
        guard try tx.dynamicClientCount(projectID: context.project.id, environment: context.environment) < limits.perEnvironment else {
            throw OAuthError(.accessDenied, "this environment holds the most self-registered clients it allows (\(limits.perEnvironment))")
        }
    }

    /// RFC 7591 §2 metadata → a registration. Unknown members are ignored (§2).
    static func registration(_ metadata: JSONObject) throws(OAuthError) -> ProjectAdministration.ClientRegistration {
        func strings(_ name: String) throws(OAuthError) -> [String]? {
            guard let value = metadata[name] else { return nil }
            guard let items = value.arrayValue else { throw OAuthError(.invalidClientMetadata, "\(name) must be an array of strings") }
            var out: [String] = []
            for item in items {
                guard let string = item.stringValue else { throw OAuthError(.invalidClientMetadata, "\(name) must be an array of strings") }
                out.append(string)
            }
            return out
        }
        func string(_ name: String) throws(OAuthError) -> String? {
            guard let value = metadata[name] else { return nil }
            guard let string = value.stringValue else { throw OAuthError(.invalidClientMetadata, "\(name) must be a string") }
            return string
        }
        let redirectURIs = try strings("redirect_uris") ?? []
        let method = try string("token_endpoint_auth_method").map { raw throws(OAuthError) -> OAuthClient.AuthMethod in
            guard let method = OAuthClient.AuthMethod(rawValue: raw) else {
                throw OAuthError(.invalidClientMetadata, "token_endpoint_auth_method \(raw) is not supported")
            }
            return method
        } ?? .clientSecretBasic
        if let responseTypes = try strings("response_types"), !Set(responseTypes).isSubset(of: ["code"]) {
            throw OAuthError(.invalidClientMetadata, "only the code response type is supported")
        }
        var registration = ProjectAdministration.ClientRegistration(
            name: try string("client_name") ?? "Dynamically registered client", type: method == .none ? .public : .confidential,
            redirectURIs: redirectURIs)
        registration.tokenEndpointAuthMethod = method
        registration.postLogoutRedirectURIs = try strings("post_logout_redirect_uris") ?? []
        registration.grantTypes = try strings("grant_types") ?? ["authorization_code", "refresh_token"]
        registration.idTokenSignedResponseAlg = try string("id_token_signed_response_alg") ?? "RS256"
        // RFC 7591 §2: the client is registered for what it asked, never more; the default set only
        // when it asked for none.
        if let scope = try string("scope") {
            let scopes: [String]
            do { scopes = try ScopeList.parse(scope) } catch { throw OAuthError(.invalidClientMetadata, "scope: \(error.message)") }
            guard !scopes.isEmpty else { throw OAuthError(.invalidClientMetadata, "scope must name at least one scope, or be left out") }
            let unknown = scopes.filter { !Discovery.scopesSupported.contains($0) }
            guard unknown.isEmpty else {
                throw OAuthError(.invalidClientMetadata, "scope \(unknown.joined(separator: " ")) is not offered here; "
                    + "scopes_supported: \(Discovery.scopesSupported.joined(separator: " "))")
            }
            registration.scopes = scopes
        }
        if let jwks = metadata["jwks"] {
            guard let object = jwks.objectValue else { throw OAuthError(.invalidClientMetadata, "jwks must be a JWK Set") }
            registration.jwks = JSON.encodeString(.object(object))
        }
        return registration
    }
}
