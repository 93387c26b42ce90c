import Foundation
import LambaJOSE
import LambaModel
import LambaStore
import LambaStoreTestSupport
import Synchronization
import Testing

/// What the domains serve at their well-known proof path, as the tests set it.
final class ServedProofs: DomainProofFetcher {
    struct NotServed: Error, CustomStringConvertible {
        var description: String { "it answered HTTP 404" }
    }

    private let bodies = Mutex<[String: String]>([:])

    func serve(_ body: String, at domain: String) { bodies.withLock { $0[domain] = body } }

    func fetchProof(domain: String) async throws -> String {
        guard let body = bodies.withLock({ $0[domain] }) else { throw NotServed() }
        return body
    }
}

/// Custom domains are unique across the installation and bound only after an ownership proof
/// (docs/custom-domains.md).
@Suite("custom domains")
struct CustomDomainRuleTests {
    struct Tenants {
        let a: ConsoleCaller
        let b: ConsoleCaller
        let proofs: ServedProofs
        let domainsA: CustomDomainAdministration
        let domainsB: CustomDomainAdministration
    }

    static func tenants(_ world: World, lapsingA: Bool = false) async throws -> Tenants {
        let other = try await world.workspaces.createWorkspace(email: "eve@other.example", password: nil, name: "Eve",
                                                               workspaceSlug: "other", workspaceName: "Other")
        let b = try #require(try await world.workspaces.authenticate(apiKey: other.apiKeySecret))
        let proofs = ServedProofs()
        var domainsA = CustomDomainAdministration(store: world.identity, fetcher: proofs)
        // A claim that is already past its lifetime when made: a pending claim seven days on.
        if lapsingA { domainsA.pendingLifetime = -1 }
        return Tenants(a: world.owner, b: b, proofs: proofs, domainsA: domainsA,
                       domainsB: CustomDomainAdministration(store: world.identity, fetcher: proofs))
    }

    @Test("a claim is pending with a token until the domain serves it, then verified and listed on the Workspace", arguments: Backend.underTest)
    func claim_isVerifiedByItsProof(backend: Backend) async throws {
        try await World.with(backend) { world in
            let t = try await Self.tenants(world)
            let mark = try await world.lastSequence()
            let claim = try await t.domainsA.addDomain(t.a, domain: "Login.Acme.Example")
            #expect(claim.domain == "login.acme.example" && claim.status == .pending && claim.verifiedAt == nil)
            #expect(claim.verificationToken.hasPrefix("lamba-domain-verification=") && claim.verificationToken.utf8.count == 69)
            #expect(claim.expiresAt.timeIntervalSince(claim.createdAt) == 7 * 24 * 3600)
            await expectDomainError(.refused("login.acme.example did not serve its proof at https://login.acme.example/.well-known/lamba-domain-verification: it answered HTTP 404")) {
                _ = try await t.domainsA.verifyDomain(t.a, domainID: claim.id)
            }
            t.proofs.serve("someone else's token", at: "login.acme.example")
            await expectDomainError(.refused("https://login.acme.example/.well-known/lamba-domain-verification does not serve this claim's verification token")) {
                _ = try await t.domainsA.verifyDomain(t.a, domainID: claim.id)
            }
            #expect(try await world.workspaces.workspace(t.a).customDomains == [])
            t.proofs.serve(claim.verificationToken + "\n", at: "login.acme.example")
            let verified = try await t.domainsA.verifyDomain(t.a, domainID: claim.id)
            #expect(verified.status == .verified && verified.verifiedAt != nil)
            #expect(try await world.workspaces.workspace(t.a).customDomains == ["login.acme.example"])
            #expect(try await t.domainsA.domains(t.a).map(\.status) == [.verified])
            let events = try await world.events(after: mark)
            #expect(events.map(\.type) == ["custom_domain.added", "custom_domain.verified"])
            #expect(try events[1].object() == ["custom_domain_id": .string(claim.id), "domain": "login.acme.example"])
            #expect(events.allSatisfy { $0.workspaceID == t.a.workspaceID && $0.actor == t.a.actor })
        }
    }

    @Test("a domain another Workspace holds, pending or verified, is a conflict that does not name it", arguments: Backend.underTest)
    func claimedDomain_isRefusedForOthers(backend: Backend) async throws {
        try await World.with(backend) { world in
            let t = try await Self.tenants(world)
            let claim = try await t.domainsA.addDomain(t.a, domain: "login.acme.example")
            await expectDomainError(.conflict("login.acme.example is claimed by another workspace")) {
                _ = try await t.domainsB.addDomain(t.b, domain: "LOGIN.acme.example")
            }
            await expectDomainError(.conflict("login.acme.example is already a domain of this workspace")) {
                _ = try await t.domainsA.addDomain(t.a, domain: "login.acme.example")
            }
            t.proofs.serve(claim.verificationToken, at: "login.acme.example")
            _ = try await t.domainsA.verifyDomain(t.a, domainID: claim.id)
            await expectDomainError(.conflict("login.acme.example is claimed by another workspace")) {
                _ = try await t.domainsB.addDomain(t.b, domain: "login.acme.example")
            }
            // Another Workspace's claim id is not found, for reading, verifying and removing.
            await expectDomainError(.notFound("custom domain \(claim.id)")) { _ = try await t.domainsB.verifyDomain(t.b, domainID: claim.id) }
            await expectDomainError(.notFound("custom domain \(claim.id)")) { try await t.domainsB.removeDomain(t.b, domainID: claim.id) }
            #expect(try await t.domainsB.domains(t.b).isEmpty)
            // Released, the domain is free for the other Workspace.
            try await t.domainsA.removeDomain(t.a, domainID: claim.id)
            #expect(try await world.workspaces.workspace(t.a).customDomains == [])
            let taken = try await t.domainsB.addDomain(t.b, domain: "login.acme.example")
            #expect(taken.workspaceID == t.b.workspaceID && taken.status == .pending)
        }
    }

    @Test("a pending claim lapses after its lifetime: it cannot be verified and another Workspace may take the domain", arguments: Backend.underTest)
    func lapsedPendingClaim_freesTheDomain(backend: Backend) async throws {
        try await World.with(backend) { world in
            let t = try await Self.tenants(world, lapsingA: true)
            let stale = try await t.domainsA.addDomain(t.a, domain: "login.acme.example")
            t.proofs.serve(stale.verificationToken, at: "login.acme.example")
            await expectDomainError(.refused("the claim on login.acme.example lapsed unverified: remove it and add the domain again")) {
                _ = try await t.domainsA.verifyDomain(t.a, domainID: stale.id)
            }
            let mark = try await world.lastSequence()
            let taken = try await t.domainsB.addDomain(t.b, domain: "login.acme.example")
            #expect(taken.workspaceID == t.b.workspaceID)
            #expect(try await t.domainsA.domains(t.a).isEmpty)
            let events = try await world.events(after: mark)
            #expect(events.map(\.type) == ["custom_domain.removed", "custom_domain.added"])
            #expect(events[0].workspaceID == t.a.workspaceID && events[0].actor == "system")
            #expect(try events[0].object() == ["custom_domain_id": .string(stale.id), "domain": "login.acme.example", "reason": "pending_claim_lapsed"])
        }
    }

    @Test("a verified claim holds its domain past the pending lifetime", arguments: Backend.underTest)
    func verifiedClaim_doesNotLapse(backend: Backend) async throws {
        try await World.with(backend) { world in
            let t = try await Self.tenants(world)
            let claim = try await t.domainsA.addDomain(t.a, domain: "login.acme.example")
            t.proofs.serve(claim.verificationToken, at: "login.acme.example")
            _ = try await t.domainsA.verifyDomain(t.a, domainID: claim.id)
            // Seven days and more later (its pending expiry moved into the past).
            try await world.store.withTransaction { tx in
                try tx.execute("UPDATE custom_domains SET expires_at = 0 WHERE id = $1", [.text(claim.id)])
            }
            await expectDomainError(.conflict("login.acme.example is claimed by another workspace")) {
                _ = try await t.domainsB.addDomain(t.b, domain: "login.acme.example")
            }
        }
    }

    @Test("custom_domains cannot be written through the Workspace settings; names are validated", arguments: Backend.underTest)
    func workspaceCustomDomains_areReadOnly(backend: Backend) async throws {
        try await World.with(backend) { world in
            await expectDomainError({ $0.isInvalid(field: "custom_domains") }) {
                _ = try await world.workspaces.updateWorkspace(world.owner, .init(customDomains: ["login.acme.example"]))
            }
            #expect(try await world.workspaces.workspace(world.owner).customDomains == [])
            let domains = CustomDomainAdministration(store: world.identity, fetcher: ServedProofs())
            for bad in ["localhost", "-x.example", "a..example", "exa mple.com", "xn--é.example"] {
                await expectDomainError(.invalid(field: "domain", reason: "\(bad) is not a domain name")) { _ = try await domains.addDomain(world.owner, domain: bad) }
            }
            let viewer = try await world.caller(.viewer)
            await expectDomainError({ $0.isForbidden }) { _ = try await domains.addDomain(viewer, domain: "login.acme.example") }
        }
    }
}
