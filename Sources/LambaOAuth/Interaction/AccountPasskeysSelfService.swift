public import Foundation
public import LambaJOSE
public import LambaModel

/// `/me/passkeys`: the user's passkeys (docs/account-security.md#self-service). A passkey is made
/// by the browser on a page of the issuer's origin, so adding one happens on the hosted account
/// page (`add_url`); an application lists them and removes them here. Removal is open to the
/// Project's first-party applications, on a recent sign-in, as for the other factors.
extension AccountSelfService {
    // MARK: GET /me/passkeys

    public func listPasskeys(_ request: EndpointRequest, _ context: ProviderContext) async -> EndpointResponse {
        do {
            let caller = try await authenticate(request, context, changing: false)
            let list = try await passkeys.passkeys(userID: caller.user.id)
            return .json([
                "passkeys": .array(list.map(Self.representation)),
                "enabled": .bool(context.settings.authMethods.contains(.passkey) && PasskeyCeremonies.available(context)),
                "add_url": .string(context.endpoint("/account/passkeys")),
            ])
        } catch {
            return Self.failure(error)
        }
    }

    // MARK: DELETE /me/passkeys/{id}

    public func removePasskey(_ request: EndpointRequest, _ context: ProviderContext, id: String) async -> EndpointResponse {
        do {
            let caller = try await authenticate(request, context, changing: true)
            try await requireRecentAuthentication(caller)
            guard id.utf8.count <= 64 else { throw DomainError.notFound("passkey") }
            try await passkeys.remove(userID: caller.user.id, passkeyID: id, factorContext(context))
            return EndpointResponse(status: 204, headers: [("Cache-Control", "no-store")], body: [])
        } catch {
            return Self.failure(error)
        }
    }

    static func representation(_ passkey: Passkey) -> JSONValue {
        .object([
            "id": .string(passkey.id), "name": .string(passkey.name), "created_at": .string(passkey.createdAt.formatted(.iso8601)),
            "last_used_at": passkey.lastUsedAt.map { .string($0.formatted(.iso8601)) } ?? .null,
            // Synced passkeys (backup eligible) live on every device of the user's account.
            "synced": .bool(passkey.backupEligible), "backed_up": .bool(passkey.backedUp),
        ])
    }
}
