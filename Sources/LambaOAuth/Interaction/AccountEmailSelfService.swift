import Foundation
import LambaJOSE
import LambaModel

/// `POST /me/email`: the user asks to change their email (docs/account-recovery.md#email-change).
/// Like a password change it needs the current password, so a stolen token alone cannot move the
/// account to another inbox; a user without a password needs a recent sign-in instead (RFC 9470).
/// Nothing changes yet: the answer is 202 with the `pending_email` that the mailed link confirms.
extension AccountSelfService {
    public func changeEmail(_ request: EndpointRequest, _ context: ProviderContext) async -> EndpointResponse {
        do {
            let caller = try await authenticate(request, context, changing: true)
            try request.parameters.rejectDuplicates()
            guard let email = try request.parameters.single("email") else { throw OAuthError.invalidRequest("email is required") }
            let proof: EmailChange.Proof
            if caller.user.passwordHash == nil {
                try await requireRecentAuthentication(caller)
                proof = .recentSignIn
            } else {
                guard let password = try request.parameters.single("current_password") else {
                    throw OAuthError.invalidRequest("current_password is required")
                }
                try await refuseWhileThrottled(context, caller)
                proof = .currentPassword(password)
            }
            let now = clock.now()
            let pending = try await emailChange.request(userID: caller.user.id, newEmail: email, proof: proof, factorContext(context)) { user, newEmail, token in
                AccountMail.emailChange(user, newEmail: newEmail, link: context.endpoint("/email/change?token=") + token, context, at: now)
            } notice: { user, newEmail in
                AccountMail.emailChangeNotice(user, newEmail: newEmail, context, at: now)
            }
            guard let pending else {
                let key = SignInThrottle.Key(workspaceID: context.workspace.id, email: caller.user.email)
                let lockout = try await SignInThrottle.recordFailure(records.narrowed { $0 }, context, key, userID: caller.user.id, at: now)
                throw OAuthError.invalidRequest(lockout ?? "the current password is wrong")
            }
            return .json(["pending_email": .string(pending.newEmail), "expires_at": .string(pending.expiresAt.formatted(.iso8601))], status: 202)
        } catch {
            return Self.failure(error)
        }
    }
}
