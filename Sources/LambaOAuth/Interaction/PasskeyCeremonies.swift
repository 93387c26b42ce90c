public import Foundation
public import LambaJOSE
public import LambaModel
import LambaWebAuthn

/// Passkey registration and sign-in (docs/account-security.md#passkeys): the WebAuthn Level 3
/// ceremonies of the hosted pages, over `LambaWebAuthn`'s checks. The RP ID is the host of the
/// environment's issuer and the only origin allowed is the issuer's. A challenge is not stored
/// when it is handed out: the page carries it sealed under the master key with its purpose, RP ID,
/// user and expiry, and a ceremony that used it records its hash until it expires, so that no
/// challenge works twice and loading a page writes nothing.
public struct PasskeyCeremonies: Sendable {
    /// How long a page's ceremony may take (the options' `timeout` too).
    public static let ceremonySeconds = 300
    /// Bounds on what a browser posts back: a credential is a few kilobytes at most.
    static let credentialLimits = JSONLimits(maxBytes: 32 * 1024, maxDepth: 4)
    public static let maximumNameLength = 64

    public typealias Context = SecondFactors.Context

    /// What a page needs for one ceremony.
    public struct Ceremony: Sendable {
        /// PublicKeyCredentialCreationOptions or RequestOptions in their JSON form (WebAuthn L3 §5.1.11).
        public let options: JSONValue
        /// The sealed challenge the page posts back with the credential.
        public let token: String
    }

    /// A verified passkey sign-in.
    public struct SignIn: Sendable {
        public let user: LambaUser
        public let passkey: Passkey
        /// RFC 8176 methods: `hwk` for a device-bound key, `swk` for a synced one (backup eligible),
        /// `user` for the presence test, and `mfa` when the authenticator verified the user too
        /// (possession and a PIN or biometric: two factors).
        public let amr: [String]
    }

    /// A passkey for an account that does not exist yet, made on the sign-up page: the account it
    /// will create, as the sealed challenge carries it.
    public struct SignUp: Sendable {
        /// The new user's id: the user handle the authenticator was given.
        public let user: LambaUser
        public let passkey: Passkey
        public let amr: [String]
    }

    enum Purpose: String {
        case registration = "webauthn.create"
        case signUp = "webauthn.create.signup"
        case authentication = "webauthn.get"
    }

    let store: any IdentityStore
    let masterKey: MasterKey
    let clock: WallClock

    public init(store: any IdentityStore, masterKey: MasterKey, clock: WallClock = .system) {
        self.store = store
        self.masterKey = masterKey
        self.clock = clock
    }

    // MARK: The relying party

    /// The relying party of an environment, or nil where passkeys cannot work: an IP address can
    /// never be an RP ID (WebAuthn L3 §5.1.2 needs a domain), and browsers refuse plain http except
    /// for `localhost`.
    static func relyingParty(_ context: ProviderContext) -> WebAuthnRelyingParty? {
        guard let url = URL(string: context.issuer), let scheme = url.scheme?.lowercased(), let host = url.host?.lowercased(), !host.isEmpty,
              !host.contains(":"), !host.allSatisfy({ $0.isNumber || $0 == "." }),
              scheme == "https" || (scheme == "http" && (host == "localhost" || host.hasSuffix(".localhost")))
        else { return nil }
        let origin = "\(scheme)://\(host)" + (url.port.map { ":\($0)" } ?? "")
        return WebAuthnRelyingParty(id: host, name: context.project.name, origins: [origin])
    }

    /// Whether passkeys can work under this environment's issuer at all.
    public static func available(_ context: ProviderContext) -> Bool { relyingParty(context) != nil }

    static func relyingPartyOrRefuse(_ context: ProviderContext) throws -> WebAuthnRelyingParty {
        guard let party = relyingParty(context) else {
            throw DomainError.refused("passkeys need the server on https (or http://localhost) under a domain name, not an IP address")
        }
        return party
    }

    // MARK: Sealed challenges

    static func associatedData(_ workspaceID: String) -> [UInt8] { Array("lamba webauthn v1:\(workspaceID)".utf8) }

    func seal(_ purpose: Purpose, challenge: [UInt8], rpID: String, userID: String?, _ context: ProviderContext,
              account: (email: String, name: String)? = nil) throws -> String {
        let expires = Int64(clock.now().timeIntervalSince1970) + Int64(Self.ceremonySeconds)
        var payload: JSONObject = [
            "p": .string(purpose.rawValue), "c": .string(Base64URL.encode(challenge)), "rp": .string(rpID),
            "u": userID.map(JSONValue.string) ?? .null, "exp": .integer(expires),
        ]
        if let account { payload["e"] = .string(account.email); payload["n"] = .string(account.name) }
        return Base64URL.encode(try masterKey.seal(JSON.encode(payload), associatedData: Self.associatedData(context.workspace.id)))
    }

    /// The challenge behind a page's token, when it is this ceremony's, unexpired, for this RP ID and user.
    func open(_ token: String, _ purpose: Purpose, rpID: String, userID: String?, _ context: ProviderContext) throws -> (challenge: [UInt8], expiresAt: Date) {
        let (payload, challenge, expiresAt) = try openPayload(token, purpose, rpID: rpID, context)
        guard payload["u"]?.stringValue == userID else { throw Self.expiredRequest }
        return (challenge, expiresAt)
    }

    static let expiredRequest = DomainError.refused("this passkey request has expired or is not valid: try again")

    func openPayload(_ token: String, _ purpose: Purpose, rpID: String, _ context: ProviderContext) throws -> (JSONObject, [UInt8], Date) {
        // Sign-up tokens carry an email and a name too: still well under this bound.
        guard token.utf8.count <= 2048, let sealed = try? Base64URL.decode(token),
              let plain = try? masterKey.open(sealed, associatedData: Self.associatedData(context.workspace.id)),
              let payload = try? JSON.decodeObject(plain),
              payload["p"]?.stringValue == purpose.rawValue, payload["rp"]?.stringValue == rpID, let exp = payload["exp"]?.integerValue,
              let encoded = payload["c"]?.stringValue, let challenge = try? Base64URL.decode(encoded)
        else { throw Self.expiredRequest }
        let expiresAt = Date(timeIntervalSince1970: TimeInterval(exp))
        guard expiresAt > clock.now() else { throw Self.expiredRequest }
        return (payload, challenge, expiresAt)
    }

    // MARK: Registration (WebAuthn L3 §7.1)

    /// Creation options for a new passkey of a signed-in user; the user's passkeys are excluded so
    /// that one authenticator does not register twice.
    public func beginRegistration(_ context: ProviderContext, user: LambaUser) async throws -> Ceremony {
        let party = try Self.relyingPartyOrRefuse(context)
        let challenge = try WebAuthnChallenge.generate()
        let existing = try await store.read { tx in try tx.passkeys(userID: user.id) }.filter { $0.rpID == party.id }.map(\.credentialID)
        // The user handle is the opaque user id, never the email (WebAuthn L3 §14.6.1).
        let options = party.creationOptions(challenge: challenge, user: WebAuthnUser(id: Array(user.id.utf8), name: user.email, displayName: user.name),
                                            excludeCredentials: existing, timeoutMilliseconds: Int64(Self.ceremonySeconds) * 1000)
        return Ceremony(options: options, token: try seal(.registration, challenge: challenge, rpID: party.id, userID: user.id, context))
    }

    /// Verifies the browser's answer to `beginRegistration` and stores the passkey.
    public func finishRegistration(_ context: ProviderContext, user: LambaUser, token: String, credential json: String, name: String) async throws -> Passkey {
        let party = try Self.relyingPartyOrRefuse(context)
        let trimmed = name.trimmingCharacters(in: .whitespacesAndNewlines)
        guard trimmed.count <= Self.maximumNameLength, !trimmed.contains(where: { $0.isNewline }) else {
            throw DomainError.invalid(field: "name", reason: "must be at most \(Self.maximumNameLength) characters on one line")
        }
        let (challenge, expiresAt) = try open(token, .registration, rpID: party.id, userID: user.id, context)
        let response = try Self.registrationResponse(json)
        let now = clock.now()
        let (passkey, _) = try Self.verify(response, party, challenge: challenge, userID: user.id, name: trimmed, now: now)
        let challengeHash = OpaqueSecret.hash(Base64URL.encode(challenge))
        let events = factorContext(context)
        try await store.write { tx in
            guard try tx.useWebAuthnChallenge(hash: challengeHash, expiresAt: expiresAt, now: now) else {
                throw DomainError.refused("this passkey request was used already: try again")
            }
            // §7.1 step 25: a credential id registered already (by anyone) is refused.
            guard try tx.passkey(rpID: party.id, credentialID: passkey.credentialID) == nil else {
                throw DomainError.conflict("this passkey is registered already")
            }
            try tx.insert(passkey)
            try Self.append(tx, .userPasskeyRegistered, userID: user.id, events, now, [
                "passkey_id": .string(passkey.id), "backup_eligible": .bool(passkey.backupEligible),
            ])
        }
        return passkey
    }

    static func registrationResponse(_ json: String) throws -> RegistrationResponse {
        try field(json) { credential in
            let fields = try responseFields(credential)
            return RegistrationResponse(clientDataJSON: try bytes(fields, "clientDataJSON"), attestationObject: try bytes(fields, "attestationObject"))
        }
    }

    /// §7.1 steps 5–24, and the passkey they yield with what it proves (RFC 8176 `amr`).
    static func verify(_ response: RegistrationResponse, _ party: WebAuthnRelyingParty, challenge: [UInt8], userID: String, name: String,
                       now: Date) throws -> (Passkey, amr: [String]) {
        let verified: RegisteredCredential
        do {
            verified = try party.verifyRegistration(response, challenge: challenge)
        } catch {
            throw DomainError.refused("the passkey could not be registered: \(error)")
        }
        let passkey = Passkey(userID: userID, rpID: party.id, credentialID: verified.id, publicKey: verified.publicKey,
                              algorithm: verified.algorithm.rawValue, signCount: Int64(verified.signCount), backupEligible: verified.backupEligible,
                              backedUp: verified.backedUp, aaguid: verified.aaguid,
                              name: name.isEmpty ? "Passkey added " + String(now.formatted(.iso8601).prefix(10)) : name, createdAt: now)
        return (passkey, amr(backupEligible: verified.backupEligible, userVerified: verified.userVerified))
    }

    static func amr(backupEligible: Bool, userVerified: Bool) -> [String] {
        var amr = [backupEligible ? "swk" : "hwk", "user"]
        if userVerified { amr.append("mfa") }
        return amr
    }

    // MARK: Sign-up with a passkey (WebAuthn L3 §7.1, for an account made with it)

    /// Creation options for the account the sign-up form described: a new user id is the user
    /// handle, and the sealed challenge carries it with the email and name, so that the browser's
    /// answer can only create that account.
    public func beginSignUp(_ context: ProviderContext, email: String, name: String) throws -> Ceremony {
        let party = try Self.relyingPartyOrRefuse(context)
        let challenge = try WebAuthnChallenge.generate()
        let userID = EntityID.generate(.user)
        let options = party.creationOptions(challenge: challenge, user: WebAuthnUser(id: Array(userID.utf8), name: email, displayName: name),
                                            excludeCredentials: [], timeoutMilliseconds: Int64(Self.ceremonySeconds) * 1000)
        return Ceremony(options: options, token: try seal(.signUp, challenge: challenge, rpID: party.id, userID: userID, context,
                                                          account: (email, name)))
    }

    /// Verifies the browser's answer to `beginSignUp` and spends its challenge; the caller creates
    /// the account and its passkey together (`MemberLifecycle.register(_:passkey:…)`).
    public func finishSignUp(_ context: ProviderContext, token: String, credential json: String) async throws -> SignUp {
        let party = try Self.relyingPartyOrRefuse(context)
        let (payload, challenge, expiresAt) = try openPayload(token, .signUp, rpID: party.id, context)
        guard let userID = payload["u"]?.stringValue, let email = payload["e"]?.stringValue, let name = payload["n"]?.stringValue else {
            throw Self.expiredRequest
        }
        let now = clock.now()
        let (passkey, amr) = try Self.verify(try Self.registrationResponse(json), party, challenge: challenge, userID: userID, name: "", now: now)
        let challengeHash = OpaqueSecret.hash(Base64URL.encode(challenge))
        try await store.write { tx in
            guard try tx.useWebAuthnChallenge(hash: challengeHash, expiresAt: expiresAt, now: now) else {
                throw DomainError.refused("this passkey request was used already: try again")
            }
        }
        return SignUp(user: LambaUser(id: userID, email: email, name: name, passwordHash: nil, createdAt: now), passkey: passkey, amr: amr)
    }

    // MARK: Authentication (WebAuthn L3 §7.2)

    /// Request options for a passkey sign-in: no user is named, the authenticator offers the
    /// discoverable credentials it holds for this RP ID.
    public func beginAuthentication(_ context: ProviderContext) throws -> Ceremony? {
        guard let party = Self.relyingParty(context) else { return nil }
        let challenge = try WebAuthnChallenge.generate()
        return Ceremony(options: party.requestOptions(challenge: challenge, timeoutMilliseconds: Int64(Self.ceremonySeconds) * 1000),
                        token: try seal(.authentication, challenge: challenge, rpID: party.id, userID: nil, context))
    }

    /// Verifies an assertion and writes the new counter; the caller starts the session. Every
    /// failure has the same words: which check failed is for the log, not for the browser.
    public func finishAuthentication(_ context: ProviderContext, token: String, credential json: String) async throws -> SignIn {
        let party = try Self.relyingPartyOrRefuse(context)
        let (challenge, expiresAt) = try open(token, .authentication, rpID: party.id, userID: nil, context)
        let response = try Self.field(json) { credential in
            let fields = try Self.responseFields(credential)
            let userHandle: [UInt8]? = switch fields["userHandle"] {
            case nil, .null?: nil
            default: try Self.bytes(fields, "userHandle")
            }
            return AssertionResponse(credentialID: try Self.bytes(credential, "rawId"), clientDataJSON: try Self.bytes(fields, "clientDataJSON"),
                                     authenticatorData: try Self.bytes(fields, "authenticatorData"), signature: try Self.bytes(fields, "signature"),
                                     userHandle: userHandle)
        }
        let refused = DomainError.refused("that passkey could not sign you in")
        let found = try await store.read { tx -> (Passkey, LambaUser)? in
            guard let passkey = try tx.passkey(rpID: party.id, credentialID: response.credentialID),
                  let user = try tx.user(id: passkey.userID) else { return nil }
            return (passkey, user)
        }
        guard case let (passkey, user)? = found, user.status == .active, let algorithm = COSEAlgorithm(rawValue: passkey.algorithm), passkey.signCount >= 0, passkey.signCount <= Int64(UInt32.max)
        else { throw refused }
        let stored = StoredCredential(id: passkey.credentialID, userHandle: Array(passkey.userID.utf8), publicKey: passkey.publicKey, algorithm: algorithm,
                                      signCount: UInt32(passkey.signCount), backupEligible: passkey.backupEligible)
        let result: AuthenticationResult
        do {
            result = try party.verifyAuthentication(response, challenge: challenge, credential: stored)
        } catch {
            throw refused
        }
        let now = clock.now()
        let challengeHash = OpaqueSecret.hash(Base64URL.encode(challenge))
        try await store.write { tx in
            guard try tx.useWebAuthnChallenge(hash: challengeHash, expiresAt: expiresAt, now: now),
                  try tx.recordPasskeyUse(id: passkey.id, expectedSignCount: passkey.signCount, signCount: Int64(result.signCount),
                                          backedUp: result.backedUp, at: now)
            else { throw refused }
        }
        return SignIn(user: user, passkey: passkey, amr: Self.amr(backupEligible: passkey.backupEligible, userVerified: result.userVerified))
    }

    // MARK: Self-service

    public func passkeys(userID: String) async throws -> [Passkey] {
        try await store.read { tx in try tx.passkeys(userID: userID) }
    }

    /// Removes one of the user's passkeys, unless it is their last way to sign in
    /// (docs/access-model.md#auth-method-guard, applied to the user's own change).
    public func remove(userID: String, passkeyID: String, _ context: Context) async throws {
        let now = clock.now()
        try await store.write { tx in
            guard let user = try tx.user(id: userID), try tx.passkeys(userID: userID).contains(where: { $0.id == passkeyID }) else {
                throw DomainError.notFound("passkey")
            }
            var paths = try AuthMethodGuard.signInPaths(tx, of: user, projectID: context.projectID, environment: context.environment)
            if try tx.passkeyCount(userID: userID) == 1 { paths.remove(.passkey) }
            guard !paths.isEmpty else {
                throw DomainError.refused("this passkey is your only way to sign in: set a password or add another passkey first")
            }
            guard try tx.deletePasskey(id: passkeyID, userID: userID) else { throw DomainError.notFound("passkey") }
            try Self.append(tx, .userPasskeyRemoved, userID: userID, context, now, ["passkey_id": .string(passkeyID)])
        }
    }

    static func append(_ tx: any EventLog, _ type: EventType, userID: String, _ context: Context, _ now: Date, _ data: JSONObject) throws {
        var data = data
        data["user_id"] = .string(userID)
        try tx.append(DomainEvent(type: type, actor: userID, workspaceID: context.workspaceID, projectID: context.projectID,
                                  environment: context.environment, occurredAt: now, data: data))
    }

    func factorContext(_ context: ProviderContext) -> Context {
        Context(workspaceID: context.workspace.id, projectID: context.project.id, environment: context.environment)
    }

    // MARK: The browser's JSON (PublicKeyCredential, WebAuthn L3 §5.1)

    static func field<T>(_ json: String, _ body: (JSONObject) throws -> T) throws -> T {
        guard let credential = try? JSON.decodeObject(Array(json.utf8), limits: credentialLimits), credential["type"]?.stringValue == "public-key" else {
            throw DomainError.invalid(field: "credential", reason: "is not a public-key credential")
        }
        return try body(credential)
    }

    static func responseFields(_ credential: JSONObject) throws -> JSONObject {
        guard case .object(let response)? = credential["response"] else {
            throw DomainError.invalid(field: "credential", reason: "has no response")
        }
        return response
    }

    static func bytes(_ object: JSONObject, _ name: String) throws -> [UInt8] {
        guard let text = object[name]?.stringValue, let bytes = try? Base64URL.decode(text), !bytes.isEmpty else {
            throw DomainError.invalid(field: "credential", reason: "has no \(name)")
        }
        return bytes
    }
}
