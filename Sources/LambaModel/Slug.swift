import Foundation

/// Slugs name Workspaces and Projects in URLs (`/p/{project-slug}/{environment}`): 3 to 40 characters
/// of lowercase letters, digits and single hyphens, starting with a letter, not ending with a hyphen.
public enum Slug {
    public static let reserved: Set<String> = ["console", "admin", "api", "www", "lamba", "well-known", "healthz", "metrics"]

    public static func validate(_ slug: String, field: String = "slug") throws(DomainError) {
        let bytes = Array(slug.utf8)
        guard (3...40).contains(bytes.count) else {
            throw .invalid(field: field, reason: "must be 3 to 40 characters")
        }
        guard let first = bytes.first, first >= 0x61, first <= 0x7A else {
            throw .invalid(field: field, reason: "must start with a lowercase letter")
        }
        var previousHyphen = false
        for c in bytes {
            let isLower = c >= 0x61 && c <= 0x7A
            let isDigit = c >= 0x30 && c <= 0x39
            if c == 0x2D {
                if previousHyphen { throw .invalid(field: field, reason: "must not contain consecutive hyphens") }
                previousHyphen = true
            } else if isLower || isDigit {
                previousHyphen = false
            } else {
                throw .invalid(field: field, reason: "may contain only lowercase letters, digits and hyphens")
            }
        }
        guard !previousHyphen else { throw .invalid(field: field, reason: "must not end with a hyphen") }
        guard !reserved.contains(slug) else { throw .invalid(field: field, reason: "is reserved") }
    }
}

/// Email addresses: trimmed, lowercased, checked for a plausible shape (one @, a dotted domain, no
/// whitespace or control characters). Deliverability is proven by verification, not by syntax.
public enum EmailAddress {
    public static func normalize(_ email: String, field: String = "email") throws(DomainError) -> String {
        let trimmed = email.trimmingCharacters(in: .whitespaces)
        let parts = trimmed.split(separator: "@", omittingEmptySubsequences: false)
        guard trimmed.utf8.count <= 254, parts.count == 2, !parts[0].isEmpty, parts[0].utf8.count <= 64,
            parts[1].contains("."), !parts[1].hasPrefix("."), !parts[1].hasSuffix("."), !parts[1].contains(".."),
            !trimmed.unicodeScalars.contains(where: { $0.properties.isWhitespace || $0.value < 0x20 || $0.value == 0x7F })
        else { throw .invalid(field: field, reason: "is not an email address") }
        return trimmed.lowercased()
    }
}
