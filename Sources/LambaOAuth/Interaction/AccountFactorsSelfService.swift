public import Foundation
public import LambaJOSE
public import LambaModel

/// `/me/factors`: the user's own authenticator app and recovery codes (docs/account-security.md#self-service).
/// Reading is open to every client of the Project; changes are open to its first-party applications,
/// and only on a token whose sign-in is recent. An older one is answered with RFC 9470's
/// `insufficient_user_authentication` and the `max_age` to ask for again.
extension AccountSelfService {
    /// How recent the token's authentication must be for a change to the account's security.
    public static let recentAuthenticationSeconds = 600

    func requireRecentAuthentication(_ caller: Caller) async throws {
        let now = clock.now()
        let session = try await records.read { tx in try tx.identitySession(id: caller.scope.sessionID) }
        guard let session, now.timeIntervalSince(session.authTime) <= TimeInterval(Self.recentAuthenticationSeconds) else {
            var error = OAuthError(.insufficientUserAuthentication, "sign in again to change the account's security (max_age \(Self.recentAuthenticationSeconds))")
            error.requiredMaxAge = Self.recentAuthenticationSeconds
            throw error
        }
    }

    /// A current password is a sign-in: while the account's sign-in throttle holds, none is checked.
    func refuseWhileThrottled(_ context: ProviderContext, _ caller: Caller) async throws {
        let key = SignInThrottle.Key(workspaceID: context.workspace.id, email: caller.user.email)
        let throttle = try await records.read { tx in try tx.signInThrottle(workspaceID: key.workspaceID, emailHash: key.emailHash) }
        if let remaining = SignInThrottle.lockedFor(throttle, at: clock.now()) {
            var error = OAuthError(.tooManyRequests, SignInThrottle.message(remaining))
            error.retryAfter = Int(remaining.rounded(.up))
            throw error
        }
    }

    func factorContext(_ context: ProviderContext) -> SecondFactors.Context {
        SecondFactors.Context(workspaceID: context.workspace.id, projectID: context.project.id, environment: context.environment)
    }

    // MARK: POST /me/password

    /// A new password for a user who types the current one (a stolen token alone cannot change it).
    /// A credential change: every session of the user ends, this token's too, and a mail tells them.
    /// Wrong current passwords count toward the sign-in throttle of the account's email.
    public func changePassword(_ request: EndpointRequest, _ context: ProviderContext) async -> EndpointResponse {
        do {
            let caller = try await authenticate(request, context, changing: true)
            try request.parameters.rejectDuplicates()
            guard let current = try request.parameters.single("current_password"), let new = try request.parameters.single("new_password") else {
                throw OAuthError.invalidRequest("current_password and new_password are required")
            }
            try await refuseWhileThrottled(context, caller)
            let key = SignInThrottle.Key(workspaceID: context.workspace.id, email: caller.user.email)
            let now = clock.now()
            let changed = try await recovery.changePassword(userID: caller.user.id, currentPassword: current, newPassword: new, factorContext(context)) { user in
                AccountMail.passwordChanged(user, context, at: now)
            }
            guard changed != nil else {
                let lockout = try await SignInThrottle.recordFailure(records.narrowed { $0 }, context, key, userID: caller.user.id, at: now)
                throw OAuthError.invalidRequest(lockout ?? "the current password is wrong")
            }
            return EndpointResponse(status: 204, headers: [("Cache-Control", "no-store")], body: [])
        } catch {
            return Self.failure(error)
        }
    }

    // MARK: GET /me/factors

    public func factors(_ request: EndpointRequest, _ context: ProviderContext) async -> EndpointResponse {
        do {
            let caller = try await authenticate(request, context, changing: false)
            let (credential, left) = try await records.read { tx in
                (try tx.totpCredential(userID: caller.user.id), try tx.unusedRecoveryCodeCount(userID: caller.user.id))
            }
            let state = credential == nil ? "none" : credential?.confirmedAt == nil ? "pending" : "enabled"
            return .json([
                "totp": .object(["status": .string(state), "confirmed_at": credential?.confirmedAt.map { .string($0.formatted(.iso8601)) } ?? .null]),
                "recovery_codes_left": .integer(Int64(left)),
            ])
        } catch {
            return Self.failure(error)
        }
    }

    // MARK: POST /me/factors/totp

    /// Starts enrolment: the secret as text and as the Key URI the app's QR scanner reads. The
    /// application draws the QR code; the secret counts once `/me/factors/totp/confirm` gets a code.
    public func startTOTP(_ request: EndpointRequest, _ context: ProviderContext) async -> EndpointResponse {
        do {
            let caller = try await authenticate(request, context, changing: true)
            try await requireRecentAuthentication(caller)
            let enrolment = try await secondFactors.beginTOTPEnrolment(user: caller.user, issuer: context.project.name)
            return .json(["secret": .string(enrolment.base32Secret), "otpauth_uri": .string(enrolment.keyURI),
                          "algorithm": "SHA1", "digits": .integer(Int64(TOTP.digits)), "period": .integer(TOTP.period)], status: 201)
        } catch {
            return Self.failure(error)
        }
    }

    // MARK: POST /me/factors/totp/confirm

    /// Confirms with a first code; the answer holds the recovery codes, the only time they are shown.
    public func confirmTOTP(_ request: EndpointRequest, _ context: ProviderContext) async -> EndpointResponse {
        do {
            let caller = try await authenticate(request, context, changing: true)
            try request.parameters.rejectDuplicates()
            guard let code = try request.parameters.single("code"), code.utf8.count <= 32 else { throw OAuthError.invalidRequest("code is required") }
            let codes = try await secondFactors.confirmTOTP(userID: caller.user.id, code: code, factorContext(context))
            return .json(["recovery_codes": .array(codes.map(JSONValue.string))])
        } catch {
            return Self.failure(error)
        }
    }

    // MARK: DELETE /me/factors/totp

    public func removeTOTP(_ request: EndpointRequest, _ context: ProviderContext) async -> EndpointResponse {
        do {
            let caller = try await authenticate(request, context, changing: true)
            try await requireRecentAuthentication(caller)
            try await secondFactors.removeTOTP(userID: caller.user.id, factorContext(context))
            return EndpointResponse(status: 204, headers: [("Cache-Control", "no-store")], body: [])
        } catch {
            return Self.failure(error)
        }
    }

    // MARK: POST /me/factors/recovery-codes

    /// Ten new recovery codes; the earlier ones stop working.
    public func regenerateRecoveryCodes(_ request: EndpointRequest, _ context: ProviderContext) async -> EndpointResponse {
        do {
            let caller = try await authenticate(request, context, changing: true)
            try await requireRecentAuthentication(caller)
            let codes = try await secondFactors.regenerateRecoveryCodes(userID: caller.user.id, factorContext(context))
            return .json(["recovery_codes": .array(codes.map(JSONValue.string))])
        } catch {
            return Self.failure(error)
        }
    }
}
