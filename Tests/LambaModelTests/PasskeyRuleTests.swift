import Foundation
import LambaJOSE
import LambaModel
import LambaStore
import LambaStoreTestSupport
import Testing

/// Passkey records and the rules around them (docs/account-security.md#passkeys), on both stores.
/// The ceremonies themselves run in real Chromium (Conformance/passkeys) and against a software
/// authenticator (LambaWebAuthnTests).
@Suite struct PasskeyRuleTests {
    static func passkey(_ user: LambaUser, rpID: String = "login.example.com", credentialID: [UInt8] = [1, 2, 3], signCount: Int64 = 0) -> Passkey {
        Passkey(userID: user.id, rpID: rpID, credentialID: credentialID, publicKey: [0xa5], algorithm: -7, signCount: signCount,
                backupEligible: true, backedUp: false, aaguid: [UInt8](repeating: 0, count: 16), name: "Laptop", createdAt: Date())
    }

    @Test("a credential id is unique per RP ID, found only under its own RP ID, and removable only by its user", arguments: Backend.underTest)
    func credentialScope(backend: Backend) async throws {
        try await World.with(backend) { world in
            let ada = try await world.user("ada@example.com")
            let bob = try await world.user("bob@example.com")
            let key = Self.passkey(ada)
            try await world.identity.write { tx in try tx.insert(key) }
            // The same credential id under another RP ID is another credential (WebAuthn L3 §6.1).
            try await world.identity.write { tx in try tx.insert(Self.passkey(bob, rpID: "other.example.com")) }
            await #expect(throws: StoreError.self) {
                try await world.identity.write { tx in try tx.insert(Self.passkey(bob)) }
            }
            let found = try await world.identity.read { tx in try tx.passkey(rpID: "login.example.com", credentialID: [1, 2, 3]) }
            #expect(found?.userID == ada.id && found?.backupEligible == true && found?.publicKey == [0xa5])
            let underOtherID = try await world.identity.read { tx in try tx.passkey(rpID: "login.example.com", credentialID: [1, 2, 4]) }
            #expect(underOtherID == nil)
            let bobsCount = try await world.identity.read { tx in try tx.passkeyCount(userID: bob.id) }
            #expect(bobsCount == 1)
            let removedByBob = try await world.identity.write { tx in try tx.deletePasskey(id: key.id, userID: bob.id) }
            #expect(removedByBob == false, "another user's passkey")
            let adas = try await world.identity.read { tx in try tx.passkeys(userID: ada.id) }
            #expect(adas.map(\.id) == [key.id])
            let removedByAda = try await world.identity.write { tx in try tx.deletePasskey(id: key.id, userID: ada.id) }
            #expect(removedByAda)
        }
    }

    @Test("WebAuthn L3 §7.2 step 22: the counter is written only over the value the ceremony read", arguments: Backend.underTest)
    func counterRace(backend: Backend) async throws {
        try await World.with(backend) { world in
            let ada = try await world.user("ada@example.com")
            let key = Self.passkey(ada, signCount: 5)
            try await world.identity.write { tx in try tx.insert(key) }
            let now = Date()
            let first = try await world.identity.write { tx in try tx.recordPasskeyUse(id: key.id, expectedSignCount: 5, signCount: 6, backedUp: true, at: now) }
            #expect(first)
            let second = try await world.identity.write { tx in try tx.recordPasskeyUse(id: key.id, expectedSignCount: 5, signCount: 7, backedUp: true, at: now) }
            #expect(second == false, "a second ceremony that read the old counter loses")
            let read = try await world.identity.read { tx in try tx.passkey(rpID: key.rpID, credentialID: key.credentialID) }
            let stored = try #require(read)
            #expect(stored.signCount == 6 && stored.backedUp && stored.lastUsedAt != nil)
        }
    }

    @Test("a ceremony challenge is used once; expired ones are forgotten", arguments: Backend.underTest)
    func challengeOnce(backend: Backend) async throws {
        try await World.with(backend) { world in
            let now = Date()
            let firstUse = try await world.identity.write { tx in try tx.useWebAuthnChallenge(hash: "h1", expiresAt: now.addingTimeInterval(300), now: now) }
            #expect(firstUse)
            let replay = try await world.identity.write { tx in try tx.useWebAuthnChallenge(hash: "h1", expiresAt: now.addingTimeInterval(300), now: now) }
            #expect(replay == false)
            // After its expiry the record is purged; the sealed challenge itself has expired by then too.
            let later = now.addingTimeInterval(301)
            let other = try await world.identity.write { tx in try tx.useWebAuthnChallenge(hash: "h2", expiresAt: later.addingTimeInterval(300), now: later) }
            #expect(other)
            let afterPurge = try await world.identity.write { tx in try tx.useWebAuthnChallenge(hash: "h1", expiresAt: later.addingTimeInterval(300), now: later) }
            #expect(afterPurge)
        }
    }

    @Test("auth-method guard: a member whose only way in is a passkey keeps passkey sign-in on", arguments: Backend.underTest)
    func guardCountsPasskeys(backend: Backend) async throws {
        try await World.with(backend) { world in
            let portal = try await world.project("portal")
            let ada = try await world.user("ada@example.com")
            _ = try await world.members.admitExistingUser(world.owner, projectID: portal.id, email: ada.email, roles: [ProjectRole.member])
            try await world.identity.write { tx in try tx.insert(Self.passkey(ada)) }
            var both = ProjectAdministration.EnvironmentChanges()
            both.authMethods = [.password, .passkey]
            _ = try await world.projects.updateEnvironment(world.owner, projectID: portal.id, environment: .sandbox, both)
            var passwordOnly = ProjectAdministration.EnvironmentChanges()
            passwordOnly.authMethods = [.password]
            await expectDomainError({ if case .refused(let why) = $0 { why.contains("(they use: passkey)") } else { false } }) {
                _ = try await world.projects.updateEnvironment(world.owner, projectID: portal.id, environment: .sandbox, passwordOnly)
            }
            var passkeyOnly = ProjectAdministration.EnvironmentChanges()
            passkeyOnly.authMethods = [.passkey]
            let settings = try await world.projects.updateEnvironment(world.owner, projectID: portal.id, environment: .sandbox, passkeyOnly)
            #expect(settings.authMethods == [.passkey])
            #expect(AuthMethod("passkey") == .passkey && AuthMethod.passkey.description == "passkey")
        }
    }

    @Test("passkey sign-up: the user, the passkey and the membership are written together, and a refused one writes none of them",
          arguments: Backend.underTest)
    func signUpWritesAllOrNothing(backend: Backend) async throws {
        try await World.with(backend) { world in
            let workspaceID = world.owner.workspaceID
            let community = try await world.project("community", .public)
            var open = ProjectAdministration.EnvironmentChanges()
            open.allowRegister = true
            _ = try await world.projects.updateEnvironment(world.owner, projectID: community.id, environment: .sandbox, open)
            let pat = LambaUser(email: "Pat@Example.com", name: "Pat")
            // Registration is open, but passkeys are not a way in yet.
            await expectDomainError({ $0.isRefused }) {
                _ = try await world.members.checkPasskeyRegistration(email: pat.email, name: pat.name, projectID: community.id,
                                                                     workspaceID: workspaceID, environment: .sandbox)
            }
            await expectDomainError({ $0.isRefused }) {
                _ = try await world.members.register(pat, passkey: Self.passkey(pat), projectID: community.id, workspaceID: workspaceID, environment: .sandbox)
            }
            open.authMethods = [.passkey]
            _ = try await world.projects.updateEnvironment(world.owner, projectID: community.id, environment: .sandbox, open)
            let checked = try await world.members.checkPasskeyRegistration(email: pat.email, name: " Pat ", projectID: community.id,
                                                                           workspaceID: workspaceID, environment: .sandbox)
            #expect(checked.email == "pat@example.com")

            let (user, member) = try await world.members.register(pat, passkey: Self.passkey(pat), projectID: community.id, workspaceID: workspaceID,
                                                                  environment: .sandbox)
            #expect(user.id == pat.id && user.email == "pat@example.com" && user.passwordHash == nil)
            #expect(member.joinedVia == .register && member.userID == pat.id)
            let stored = try await world.identity.read { tx in try tx.passkeys(userID: pat.id) }
            #expect(stored.count == 1)

            // The same address again, or the same credential for someone else: nothing is written.
            let again = LambaUser(email: "pat@example.com", name: "Pat again")
            await expectDomainError({ if case .conflict = $0 { true } else { false } }) {
                _ = try await world.members.register(again, passkey: Self.passkey(again, credentialID: [9]), projectID: community.id,
                                                     workspaceID: workspaceID, environment: .sandbox)
            }
            let sam = LambaUser(email: "sam@example.com", name: "Sam")
            await expectDomainError({ if case .conflict = $0 { true } else { false } }) {
                _ = try await world.members.register(sam, passkey: Self.passkey(sam), projectID: community.id, workspaceID: workspaceID, environment: .sandbox)
            }
            let (samAfter, againAfter) = try await world.identity.read { tx in (try tx.user(email: "sam@example.com"), try tx.user(id: again.id)) }
            #expect(samAfter == nil && againAfter == nil, "a refused sign-up leaves no account behind")
        }
    }
}
