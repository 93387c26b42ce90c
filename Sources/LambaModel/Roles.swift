public import Foundation

/// A role of a Project's runtime role catalog: what Project Members may do in the product.
///
/// Every catalog holds the starter built-ins `admin`, `member` and `viewer`; they cannot be deleted
/// or emptied, so a valid Project never has an empty catalog
/// (docs/access-model.md#built-in-roles).
public struct ProjectRole: Sendable, Codable, Hashable {
    public static let admin = "admin"
    public static let member = "member"
    public static let viewer = "viewer"
    public static let builtInNames: [String] = [admin, member, viewer]

    public var projectID: String
    /// Unique in the catalog; lowercase letters, digits, `-` and `_`.
    public var name: String
    public var description: String
    /// Permission strings, `resource:action`; `*` and `resource:*` are wildcards.
    public var permissions: [String]
    public var builtIn: Bool
    public var createdAt: Date

    public init(projectID: String, name: String, description: String, permissions: [String], builtIn: Bool = false, createdAt: Date = Date()) {
        self.projectID = projectID
        self.name = name
        self.description = description
        self.permissions = permissions
        self.builtIn = builtIn
        self.createdAt = createdAt
    }

    /// The catalog every new Project starts with.
    public static func starterCatalog(projectID: String, at date: Date = Date()) -> [ProjectRole] {
        [
            ProjectRole(projectID: projectID, name: admin, description: "Full access to the product", permissions: ["*"], builtIn: true, createdAt: date),
            ProjectRole(projectID: projectID, name: member, description: "Use the product", permissions: ["project:read", "project:write"], builtIn: true, createdAt: date),
            ProjectRole(projectID: projectID, name: viewer, description: "Read-only access", permissions: ["project:read"], builtIn: true, createdAt: date),
        ]
    }

    /// Whether this role grants `permission`, directly or through a wildcard.
    public func grants(_ permission: String) -> Bool {
        Self.grants(permissions, permission)
    }

    static func grants(_ permissions: [String], _ permission: String) -> Bool {
        for granted in permissions {
            if granted == "*" || granted == permission { return true }
            if granted.hasSuffix(":*"), permission.hasPrefix(granted.dropLast()) { return true }
        }
        return false
    }

    public static func validateName(_ name: String) throws(DomainError) {
        let bytes = Array(name.utf8)
        guard (2...40).contains(bytes.count),
            bytes.allSatisfy({ ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D || $0 == 0x5F }),
            let first = bytes.first, first >= 0x61, first <= 0x7A
        else { throw .invalid(field: "name", reason: "must be 2 to 40 lowercase letters, digits, - or _, starting with a letter") }
    }

    /// A permission is `*`, or `resource:action` with each side made of `a-z 0-9 . _ -`, and the
    /// action possibly `*`.
    public static func validatePermissions(_ permissions: [String]) throws(DomainError) {
        guard !permissions.isEmpty else { throw .invalid(field: "permissions", reason: "must not be empty") }
        guard permissions.count <= 200 else { throw .invalid(field: "permissions", reason: "must hold at most 200 entries") }
        for permission in permissions where permission != "*" {
            let parts = permission.split(separator: ":", omittingEmptySubsequences: false)
            let allowed: (UInt8) -> Bool = { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2E || $0 == 0x5F || $0 == 0x2D }
            guard permission.utf8.count <= 100, parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty,
                parts[0].utf8.allSatisfy(allowed), parts[1] == "*" || parts[1].utf8.allSatisfy(allowed)
            else { throw .invalid(field: "permissions", reason: "\(permission) is not resource:action") }
        }
    }
}
