import Foundation

/// The languages the hosted pages are written in (docs/hosted-pages.md#languages), and the choice
/// of one for a request: the first supported tag of `ui_locales` (OIDC Core §3.1.2.1), else the
/// browser's `Accept-Language` by quality (RFC 9110 §12.5.4), else English. Discovery advertises
/// exactly these as `ui_locales_supported` (OIDC Discovery 1.0 §3).
public enum HostedPageLanguage: String, CaseIterable, Sendable {
    case english = "en"
    case german = "de"

    /// The tag written into `<html lang>` and advertised in discovery.
    public var tag: String { rawValue }

    /// At most this many tags are looked at: the header and the parameter come from outside.
    static let maximumTags = 32

    /// `ui_locales` first, then `Accept-Language`, then English.
    public static func negotiate(uiLocales: String?, acceptLanguage: String?) -> HostedPageLanguage {
        if let uiLocales, let chosen = firstSupported(uiLocales.split(separator: " ").prefix(maximumTags).map(String.init)) {
            return chosen
        }
        if let acceptLanguage, let chosen = firstSupported(ranked(acceptLanguage)) { return chosen }
        return .english
    }

    /// A BCP 47 tag matched by its primary subtag (RFC 4647 §3.4 lookup, truncated to the
    /// language): `de-CH` is German, `en-GB` English.
    static func supported(_ tag: String) -> HostedPageLanguage? {
        let primary = tag.split(separator: "-", maxSplits: 1).first.map { $0.lowercased() } ?? ""
        return allCases.first { $0.rawValue == primary }
    }

    static func firstSupported(_ tags: [String]) -> HostedPageLanguage? {
        for tag in tags { if let language = supported(tag) { return language } }
        return nil
    }

    /// The ranges of an `Accept-Language` value, best first; `q=0` means "not this one" and a
    /// malformed weight counts as 0 (RFC 9110 §12.4.2). Equal weights keep the header's order.
    static func ranked(_ header: String) -> [String] {
        var ranges: [(tag: String, weight: Double, position: Int)] = []
        for (position, part) in header.split(separator: ",").prefix(maximumTags).enumerated() {
            let pieces = part.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
            guard let tag = pieces.first, !tag.isEmpty, tag != "*" else { continue }
            var weight = 1.0
            for parameter in pieces.dropFirst() where parameter.lowercased().hasPrefix("q=") {
                weight = Double(parameter.dropFirst(2)).flatMap { (0...1).contains($0) ? $0 : nil } ?? 0
            }
            if weight > 0 { ranges.append((tag, weight, position)) }
        }
        return ranges.sorted { $0.weight != $1.weight ? $0.weight > $1.weight : $0.position < $1.position }.map(\.tag)
    }
}
