public import LambaModel

/// `{issuer}/email/change`: the hosted page that applies an email change
/// (docs/account-recovery.md#email-change). Opening it shows the change and uses nothing up;
/// only its form, with the CSRF token, applies it, and only in the environment it was asked for.
extension AccountRecoveryInteraction {
    /// The change the link would make, or nil for a link that cannot be used here.
    public func pendingEmailChange(_ context: ProviderContext, token: String) async throws -> EmailChange.Pending? {
        try await emailChange.pending(token: token, Self.recoveryContext(context))
    }

    /// - Throws: `OAuthError` for a bad CSRF token; `DomainError.refused` for a dead link,
    ///   `.conflict` when the new address has another account by now.
    public func confirmEmailChange(_ context: ProviderContext, form: OAuthParameters, csrfCookie: String?) async throws -> LambaUser {
        try csrf.verify(cookie: csrfCookie, form: form)
        return try await emailChange.confirm(token: try form.single("token") ?? "", Self.recoveryContext(context))
    }
}
