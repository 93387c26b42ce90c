public import Foundation
public import LambaModel

/// Server-side state of a sign-in through a social provider, keyed by the SHA-256 hash of the
/// secret that names it (the `state` sent upstream, a link ticket, or a proof token). Single use.
public struct ProviderSignInRecord: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable {
        /// A round trip to the upstream that signs in at the hosted login page.
        case login
        /// A one-time ticket from `/me/providers/{id}/link`, opened by the user's browser.
        case linkTicket = "link_ticket"
        /// A round trip to the upstream that links its account to a signed-in user.
        case link
        /// A verified upstream account whose email names an existing user: linked only once that
        /// user proves the existing account.
        case proof
    }

    public var secretHash: String
    public var kind: Kind
    public var providerID: String
    public var workspaceID: String
    public var projectID: String
    public var environment: Environment
    /// Hash of the browser-binding cookie; the flow finishes only in the browser that started it.
    public var browserHash: String?
    /// Hash of the nonce sent upstream (OIDC Core §3.1.2.1).
    public var nonceHash: String?
    /// The PKCE code verifier (RFC 7636 §4.1), sealed under the master key, bound to `secretHash`.
    public var codeVerifierSealed: String?
    /// The pending authorization request to resume (`/authorize` query).
    public var authz: String?
    /// The user being linked (link, link ticket) or asked to prove their account (proof).
    public var userID: String?
    /// The identity session the user acts from, which stays when others end.
    public var sessionID: String?
    /// The OAuth client whose token started a link (its redirect URIs bound `returnURI`).
    public var clientID: String?
    public var returnURI: String?
    /// For proofs: the verified upstream claims (`sub`, `email`, `name`, `amr`) as JSON text.
    public var upstreamClaims: String?
    /// For a round trip through another linked provider that proves the account behind a `proof`.
    public var proofHash: String?
    public var createdAt: Date
    public var expiresAt: Date
    public var consumedAt: Date?

    public init(secretHash: String, kind: Kind, providerID: String, workspaceID: String, projectID: String, environment: Environment,
                browserHash: String? = nil, nonceHash: String? = nil, codeVerifierSealed: String? = nil, authz: String? = nil, userID: String? = nil,
                sessionID: String? = nil, clientID: String? = nil, returnURI: String? = nil, upstreamClaims: String? = nil, proofHash: String? = nil, createdAt: Date,
                expiresAt: Date, consumedAt: Date? = nil) {
        self.secretHash = secretHash
        self.kind = kind
        self.providerID = providerID
        self.workspaceID = workspaceID
        self.projectID = projectID
        self.environment = environment
        self.browserHash = browserHash
        self.nonceHash = nonceHash
        self.codeVerifierSealed = codeVerifierSealed
        self.authz = authz
        self.userID = userID
        self.sessionID = sessionID
        self.clientID = clientID
        self.returnURI = returnURI
        self.upstreamClaims = upstreamClaims
        self.proofHash = proofHash
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.consumedAt = consumedAt
    }
}

public protocol ProviderSignInStorage {
    /// Also drops records expired before `createdAt`. - Throws: the store's errors.
    func insert(_ signIn: ProviderSignInRecord) throws
    /// The record, consumed or not; nil when unknown. - Throws: the store's errors.
    func providerSignIn(hash: String) throws -> ProviderSignInRecord?
    /// Marks it consumed; false when it was consumed already. - Throws: the store's errors.
    func consumeProviderSignIn(hash: String, at date: Date) throws -> Bool
}
