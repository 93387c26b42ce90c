public import Foundation

/// How a Project presents itself on its hosted pages (docs/hosted-pages.md#branding): the name
/// shown instead of the Project's own, a logo, and the colour of primary buttons. Every field is
/// validated here, before it is stored: the pages write them into HTML, a CSP and a stylesheet.
public struct ProjectBranding: Sendable, Codable, Hashable {
    public var displayName: String?
    /// An `https` URL of an image; its origin is allowed as the pages' `img-src`.
    public var logoURL: String?
    /// `#rrggbb`, lowercase.
    public var primaryColor: String?

    public init(displayName: String? = nil, logoURL: String? = nil, primaryColor: String? = nil) {
        self.displayName = displayName
        self.logoURL = logoURL
        self.primaryColor = primaryColor
    }

    public static let maximumLogoURLLength = 2048

    /// Checks and normalises what an operator sent; an empty string clears a field.
    public static func validated(displayName: String?, logoURL: String?, primaryColor: String?) throws(DomainError) -> ProjectBranding {
        var branding = ProjectBranding()
        if let displayName, !displayName.isEmpty {
            branding.displayName = try MemberLifecycle.validateName(displayName, field: "display_name")
        }
        if let logoURL, !logoURL.isEmpty {
            guard logoOrigin(logoURL) != nil else {
                throw .invalid(field: "logo_url", reason: "must be an https URL without credentials, spaces or quotes, at most \(maximumLogoURLLength) characters")
            }
            branding.logoURL = logoURL
        }
        if let primaryColor, !primaryColor.isEmpty {
            guard isColor(primaryColor) else { throw .invalid(field: "primary_color", reason: "must be a colour as #rrggbb") }
            branding.primaryColor = primaryColor.lowercased()
        }
        return branding
    }

    /// `https://host[:port]` of a logo URL that may be shown, or nil. Only printable ASCII without
    /// quotes, angle brackets, backslashes or spaces passes, so that the URL can stand in an
    /// attribute and its origin in a CSP source list (CSP Level 3 §2.3.1 host-source).
    public static func logoOrigin(_ url: String) -> String? {
        guard url.utf8.count <= maximumLogoURLLength,
              url.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F && !"\"'<>\\`;,".unicodeScalars.contains($0) }),
              let components = URLComponents(string: url), components.scheme?.lowercased() == "https",
              components.user == nil, components.password == nil,
              let host = components.host?.lowercased(), !host.isEmpty,
              host.unicodeScalars.allSatisfy({ CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyz0123456789.-").contains($0) })
        else { return nil }
        return "https://" + host + (components.port.map { ":\($0)" } ?? "")
    }

    public static func isColor(_ text: String) -> Bool {
        let scalars = Array(text.unicodeScalars)
        return scalars.count == 7 && scalars[0] == "#" && scalars.dropFirst().allSatisfy { CharacterSet(charactersIn: "0123456789abcdefABCDEF").contains($0) }
    }

    /// Black or white, whichever has the higher contrast ratio on `color` (WCAG 2.2 relative
    /// luminance and contrast ratio); nil for a value that is not `#rrggbb`.
    public static func textColor(on color: String) -> String? {
        guard isColor(color) else { return nil }
        let hex = Array(color.dropFirst())
        func channel(_ index: Int) -> Double {
            let value = Double(Int(String(hex[index..<index + 2]), radix: 16) ?? 0) / 255
            return value <= 0.04045 ? value / 12.92 : pow((value + 0.055) / 1.055, 2.4)
        }
        let luminance = 0.2126 * channel(0) + 0.7152 * channel(2) + 0.0722 * channel(4)
        // Against white (luminance 1) and black (0): (1.05) / (L + 0.05) versus (L + 0.05) / 0.05.
        return 1.05 / (luminance + 0.05) >= (luminance + 0.05) / 0.05 ? "#ffffff" : "#000000"
    }
}
