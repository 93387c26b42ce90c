public import Foundation
public import LambaJOSE
public import LambaModel

/// How the authorization response travels (OAuth 2.0 Multiple Response Types §2.1, Form Post
/// Response Mode §2).
public enum ResponseMode: String, Sendable {
    case query
    case fragment
    case formPost = "form_post"
}

/// A validated authorization request (RFC 6749 §4.1.1, OIDC Core §3.1.2.1).
public struct AuthorizationRequest: Sendable {
    public var client: OAuthClient
    public var redirectURI: String
    public var responseMode: ResponseMode
    public var state: String?
    public var nonce: String?
    public var scopes: [String]
    public var prompt: Set<String>
    public var maxAge: Int?
    /// Requested `acr` values in order of preference (OIDC Core §3.1.2.1); unknown ones are ignored.
    public var acrValues: [String] = []
    public var loginHint: String?
    public var codeChallenge: String?
    public var codeChallengeMethod: String?
    /// The request as sent, to resume it after a hosted page.
    public var parameters: OAuthParameters
}

/// The authorization response or error, sent to the client's registered redirect URI with `iss`
/// (RFC 9207 §2) and `state`.
public struct AuthorizationResponse: Sendable {
    public var redirectURI: String
    public var mode: ResponseMode
    public var parameters: [(String, String)]

    /// The `Location` for query and fragment modes; nil for form_post.
    public var location: String? {
        let encoded = OAuthParameters.encode(parameters)
        switch mode {
        case .query: return redirectURI + (redirectURI.contains("?") ? "&" : "?") + encoded
        case .fragment: return redirectURI + "#" + encoded
        case .formPost: return nil
        }
    }

    /// Form Post Response Mode §2: an auto-submitting form; a button works without JavaScript.
    public var formPostHTML: String {
        let inputs = parameters.map { "<input type=\"hidden\" name=\"\(HTML.escape($0.0))\" value=\"\(HTML.escape($0.1))\">" }.joined()
        return """
            <!DOCTYPE html><html><head><meta charset="utf-8"><title>Continue</title></head>
            <body onload="document.forms[0].submit()"><form method="post" action="\(HTML.escape(redirectURI))">\(inputs)
            <noscript><button type="submit">Continue</button></noscript></form></body></html>
            """
    }
}

/// Validation of an authorization request (RFC 6749 §4.1.1, OIDC Core §3.1.2.1), once per HTTP
/// request: `/authorize` and every hosted page that resumes it check the same value the same way.
struct AuthorizationRequestValidator: Sendable {
    let clients: RegisteredClients

    static let knownPrompts: Set<String> = ["none", "login", "consent", "select_account"]

    enum Validation {
        case success(AuthorizationRequest)
        case failure(AuthorizationOutcome)
    }

    /// RFC 6749 §3.1.2.3 / OIDC Core §3.1.2.1: redirect_uri is required and matched exactly against
    /// the registered ones; until both client and redirect URI are known good, errors go to a page.
    func validate(_ request: EndpointRequest, _ context: ProviderContext) async -> Validation {
        let parameters = request.parameters
        let clientID: String, redirectURI: String
        do {
            guard let id = try parameters.single("client_id") else { return .failure(.errorPage(.invalidRequest("client_id is missing"))) }
            guard let uri = try parameters.single("redirect_uri") else { return .failure(.errorPage(.invalidRequest("redirect_uri is missing"))) }
            clientID = id
            redirectURI = uri
        } catch {
            return .failure(.errorPage(error))
        }
        let client: OAuthClient
        do {
            guard let found = try await clients.client(id: clientID, in: context) else {
                return .failure(.errorPage(OAuthError(.invalidClient, "unknown client_id")))
            }
            client = found
        } catch {
            return .failure(.errorPage(error))
        }
        guard client.redirectURIs.contains(redirectURI) else {
            return .failure(.errorPage(.invalidRequest("redirect_uri is not registered for this client")))
        }
        var result = AuthorizationRequest(client: client, redirectURI: redirectURI, responseMode: .query, state: nil, nonce: nil, scopes: [],
                                          prompt: [], maxAge: nil, loginHint: nil, codeChallenge: nil, codeChallengeMethod: nil, parameters: parameters)
        // From here on, errors go back to the client.
        result.state = parameters.pairs.first { $0.name == "state" }.map(\.value)
        if let mode = parameters.pairs.first(where: { $0.name == "response_mode" })?.value, let parsed = ResponseMode(rawValue: mode) {
            result.responseMode = parsed
        }
        do {
            try parameters.rejectDuplicates()
            if let mode = try parameters.single("response_mode"), ResponseMode(rawValue: mode) == nil {
                throw OAuthError.invalidRequest("response_mode must be query, fragment or form_post")
            }
            if parameters.contains("request") { throw OAuthError(.requestNotSupported, "request objects are not supported") }
            if parameters.contains("request_uri") { throw OAuthError(.requestURINotSupported, "request_uri is not supported") }
            guard let responseType = try parameters.single("response_type") else { throw OAuthError.invalidRequest("response_type is missing") }
            guard responseType == "code" else { throw OAuthError(.unsupportedResponseType, "only response_type=code is supported") }
            guard client.grantTypes.contains("authorization_code") else {
                throw OAuthError(.unauthorizedClient, "this client may not use the authorization code grant")
            }
            let scopes = try ScopeList.parse(try parameters.single("scope"))
            guard Set(scopes).isSubset(of: Set(client.scopes)) else { throw OAuthError(.invalidScope, "a requested scope is not allowed for this client") }
            result.scopes = scopes
            result.codeChallenge = try parameters.single("code_challenge")
            result.codeChallengeMethod = try parameters.single("code_challenge_method")
            try PKCE.validateChallenge(result.codeChallenge, method: result.codeChallengeMethod, clientIsPublic: client.type == .public)
            let prompt = Set((try parameters.single("prompt") ?? "").split(separator: " ").map(String.init))
            guard prompt.isSubset(of: Self.knownPrompts) else { throw OAuthError.invalidRequest("unknown prompt value") }
            if prompt.contains("none"), prompt.count > 1 { throw OAuthError.invalidRequest("prompt=none cannot be combined with other values") }
            result.prompt = prompt
            if let maxAge = try parameters.single("max_age") {
                guard let seconds = Int(maxAge), seconds >= 0 else { throw OAuthError.invalidRequest("max_age must be a non-negative integer") }
                result.maxAge = seconds
            }
            if let acrValues = try parameters.single("acr_values") {
                guard acrValues.utf8.count <= 1024 else { throw OAuthError.invalidRequest("acr_values is too long") }
                result.acrValues = acrValues.split(separator: " ").map(String.init)
            }
            result.nonce = try parameters.single("nonce")
            if let nonce = result.nonce, nonce.utf8.count > 512 { throw OAuthError.invalidRequest("nonce is too long") }
            if let state = result.state, state.utf8.count > 2048 { throw OAuthError.invalidRequest("state is too long") }
            result.loginHint = try parameters.single("login_hint")
        } catch {
            return .failure(.redirect(Self.errorResponse(result, context, OAuthError.wrap(error))))
        }
        return .success(result)
    }

    /// RFC 6749 §4.1.2.1 with RFC 9207's `iss`.
    static func errorResponse(_ request: AuthorizationRequest, _ context: ProviderContext, _ error: OAuthError) -> AuthorizationResponse {
        var parameters: [(String, String)] = [("error", error.code.rawValue), ("error_description", error.message)]
        if let state = request.state { parameters.append(("state", state)) }
        parameters.append(("iss", context.issuer))
        return AuthorizationResponse(redirectURI: request.redirectURI, mode: request.responseMode, parameters: parameters)
    }

    /// The query that resumes the request after an interaction, with the prompt values that the
    /// interaction satisfies removed (a completed login answers `prompt=login`, and so on).
    static func resumeQuery(_ request: AuthorizationRequest) -> String {
        OAuthParameters.encode(request.parameters.pairs.map { ($0.name, $0.value) })
    }

    static func removingPrompt(_ query: String, _ satisfied: Set<String>) throws(OAuthError) -> String {
        let parameters = try OAuthParameters.decode(query)
        var pairs: [(String, String)] = []
        for pair in parameters.pairs {
            if pair.name == "prompt" {
                let remaining = pair.value.split(separator: " ").map(String.init).filter { !satisfied.contains($0) }
                if !remaining.isEmpty { pairs.append(("prompt", remaining.joined(separator: " "))) }
            } else if pair.name == "max_age", satisfied.contains("login") {
                continue
            } else {
                pairs.append((pair.name, pair.value))
            }
        }
        return OAuthParameters.encode(pairs)
    }

    /// The request behind a hosted page's `authz` field, validated again (its client or redirect URI
    /// may have changed since); an error that would redirect is refused here instead.
    func pending(_ context: ProviderContext, authz: String) async throws(OAuthError) -> AuthorizationRequest {
        let parameters = try OAuthParameters.decode(authz)
        switch await validate(EndpointRequest(method: "GET", parameters: parameters), context) {
        case .success(let request): return request
        case .failure(.errorPage(let error)): throw error
        case .failure: throw OAuthError.invalidRequest("the authorization request is not valid")
        }
    }
}
