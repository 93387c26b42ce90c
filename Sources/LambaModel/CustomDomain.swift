public import Foundation
import LambaJOSE

/// A Workspace's claim on a custom domain (docs/custom-domains.md). A domain is claimed by at most
/// one Workspace in the installation; it can be bound only once the Workspace proved it controls
/// the domain by serving the claim's token at `https://<domain>/.well-known/lamba-domain-verification`.
public struct CustomDomain: Sendable, Codable, Hashable {
    public enum Status: String, Sendable, Codable, Hashable, CaseIterable {
        case pending
        case verified
    }

    public var id: String
    public var workspaceID: String
    /// Lowercased; unique across the installation.
    public var domain: String
    public var status: Status
    /// What the operator publishes at the well-known URL. Stored as is, since the operator must be
    /// able to read it again: it proves control of the domain, it grants nothing, so it is no secret.
    public var verificationToken: String
    public var createdAt: Date
    /// A pending claim lapses then, so that a domain nobody proves is free for others again.
    public var expiresAt: Date
    public var verifiedAt: Date?

    public init(id: String = EntityID.generate(.customDomain), workspaceID: String, domain: String, status: Status = .pending,
                verificationToken: String, createdAt: Date, expiresAt: Date, verifiedAt: Date? = nil) {
        self.id = id
        self.workspaceID = workspaceID
        self.domain = domain
        self.status = status
        self.verificationToken = verificationToken
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.verifiedAt = verifiedAt
    }

    /// Whether the claim keeps the domain from other Workspaces: verified, or pending and not lapsed.
    public func holds(at date: Date = Date()) -> Bool {
        status == .verified || expiresAt > date
    }

    /// The path the proof is served at, under the domain itself.
    public static let proofPath = "/.well-known/lamba-domain-verification"
}

/// Fetches the body a domain serves at `CustomDomain.proofPath`. The server's fetcher goes over
/// HTTPS to public addresses only; tests may give one that reaches a loopback server.
public protocol DomainProofFetcher: Sendable {
    /// - Throws: any error when the proof cannot be fetched (refused target, no answer, not 200).
    func fetchProof(domain: String) async throws -> String
}

/// Adding, verifying and removing a Workspace's custom domains.
public struct CustomDomainAdministration: Sendable {
    public let store: any IdentityStore
    public let fetcher: any DomainProofFetcher
    /// How long a pending claim holds its domain before others may claim it.
    public var pendingLifetime: TimeInterval = 7 * 24 * 3600
    public static let maximumPerWorkspace = 20

    public let clock: WallClock

    public init(store: any IdentityStore, fetcher: any DomainProofFetcher, clock: WallClock = .system) {
        self.clock = clock
        self.store = store
        self.fetcher = fetcher
    }

    public func domains(_ caller: ConsoleCaller) async throws -> [CustomDomain] {
        try caller.require(.workspaceRead)
        return try await store.read { tx in try tx.customDomains(workspaceID: caller.workspaceID) }
    }

    /// Claims a domain for the caller's Workspace, pending until verified. A domain another
    /// Workspace holds (verified, or pending and not lapsed) is a conflict that does not say which
    /// Workspace holds it; a lapsed pending claim of another Workspace is released and replaced.
    public func addDomain(_ caller: ConsoleCaller, domain: String) async throws -> CustomDomain {
        try caller.require(.workspaceManage)
        let domain = try Self.normalize(domain)
        let token = "lamba-domain-verification=" + (try SecureRandom.token(byteCount: 32))
        let lifetime = pendingLifetime
        return try await store.write { tx in
            try tx.lockWorkspace(id: caller.workspaceID)
            let now = clock.now()
            if let existing = try tx.customDomain(domain: domain) {
                if existing.workspaceID == caller.workspaceID {
                    throw DomainError.conflict("\(domain) is already a domain of this workspace")
                }
                guard !existing.holds(at: now) else { throw DomainError.conflict("\(domain) is claimed by another workspace") }
                try tx.deleteCustomDomain(id: existing.id)
                try tx.append(DomainEvent(type: .customDomainRemoved, actor: "system", workspaceID: existing.workspaceID, data: [
                    "custom_domain_id": .string(existing.id), "domain": .string(existing.domain), "reason": .string("pending_claim_lapsed"),
                ]))
            }
            guard try tx.customDomains(workspaceID: caller.workspaceID).count < Self.maximumPerWorkspace else {
                throw DomainError.limitExceeded(limit: "custom domains", maximum: Self.maximumPerWorkspace)
            }
            let claim = CustomDomain(workspaceID: caller.workspaceID, domain: domain, verificationToken: token, createdAt: now,
                                     expiresAt: now.addingTimeInterval(lifetime))
            try tx.insert(claim)
            try tx.append(DomainEvent(type: .customDomainAdded, by: caller, workspaceID: caller.workspaceID, data: [
                "custom_domain_id": .string(claim.id), "domain": .string(domain),
            ]))
            return claim
        }
    }

    /// Fetches the proof and, when the domain serves exactly the claim's token, marks it verified.
    /// The fetch runs outside the transaction; the write checks again that the claim is unchanged.
    public func verifyDomain(_ caller: ConsoleCaller, domainID: String) async throws -> CustomDomain {
        try caller.require(.workspaceManage)
        let claim = try await store.read { tx in try tx.customDomain(id: domainID, workspaceID: caller.workspaceID) }
        guard let claim else { throw DomainError.notFound("custom domain \(domainID)") }
        if claim.status == .verified { return claim }
        guard claim.holds() else { throw DomainError.refused("the claim on \(claim.domain) lapsed unverified: remove it and add the domain again") }
        let served: String
        do {
            served = try await fetcher.fetchProof(domain: claim.domain)
        } catch {
            throw DomainError.refused("\(claim.domain) did not serve its proof at https://\(claim.domain)\(CustomDomain.proofPath): \(error)")
        }
        guard served.trimmingCharacters(in: .whitespacesAndNewlines) == claim.verificationToken else {
            throw DomainError.refused("https://\(claim.domain)\(CustomDomain.proofPath) does not serve this claim's verification token")
        }
        return try await store.write { tx in
            try tx.lockWorkspace(id: caller.workspaceID)
            guard var current = try tx.customDomain(id: claim.id, workspaceID: caller.workspaceID),
                current.verificationToken == claim.verificationToken
            else { throw DomainError.notFound("custom domain \(domainID)") }
            if current.status == .verified { return current }
            let now = clock.now()
            current.status = .verified
            current.verifiedAt = now
            try tx.update(current)
            try Self.recordVerified(tx, workspaceID: caller.workspaceID)
            try tx.append(DomainEvent(type: .customDomainVerified, by: caller, workspaceID: caller.workspaceID, data: [
                "custom_domain_id": .string(current.id), "domain": .string(current.domain),
            ]))
            return current
        }
    }

    public func removeDomain(_ caller: ConsoleCaller, domainID: String) async throws {
        try caller.require(.workspaceManage)
        try await store.write { tx in
            try tx.lockWorkspace(id: caller.workspaceID)
            guard let claim = try tx.customDomain(id: domainID, workspaceID: caller.workspaceID) else {
                throw DomainError.notFound("custom domain \(domainID)")
            }
            try tx.deleteCustomDomain(id: claim.id)
            if claim.status == .verified { try Self.recordVerified(tx, workspaceID: caller.workspaceID) }
            try tx.append(DomainEvent(type: .customDomainRemoved, by: caller, workspaceID: caller.workspaceID, data: [
                "custom_domain_id": .string(claim.id), "domain": .string(claim.domain), "reason": .string("removed"),
            ]))
        }
    }

    /// `Workspace.customDomains` is the list of verified domains, derived here from the claims in
    /// the same transaction that changes them; nothing else writes it.
    static func recordVerified(_ tx: any IdentityWriter, workspaceID: String) throws {
        guard var workspace = try tx.workspace(id: workspaceID) else { throw DomainError.notFound("workspace") }
        workspace.customDomains = try tx.customDomains(workspaceID: workspaceID).filter { $0.status == .verified }.map(\.domain).sorted()
        try tx.update(workspace)
    }

    /// A host name of at least two labels (letters, digits, inner hyphens), lowercased.
    public static func normalize(_ domain: String) throws(DomainError) -> String {
        let lowered = domain.lowercased()
        let labels = lowered.split(separator: ".", omittingEmptySubsequences: false)
        guard lowered.utf8.count <= 253, labels.count >= 2,
            labels.allSatisfy({ !$0.isEmpty && $0.utf8.count <= 63 && !$0.hasPrefix("-") && !$0.hasSuffix("-")
                && $0.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D } })
        else { throw .invalid(field: "domain", reason: "\(domain) is not a domain name") }
        return lowered
    }
}
