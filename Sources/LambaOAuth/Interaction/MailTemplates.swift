import Mustache

/// The kinds of mail Lamba sends, each rendered from a template (docs/account-recovery.md#mail-templates).
public enum MailKind: String, Sendable, Hashable, CaseIterable {
    case passwordReset = "password_reset"
    case emailVerification = "email_verification"
    case passwordChanged = "password_changed"
    case invite
    case emailChange = "email_change"
    case emailChangeNotice = "email_change_notice"

    /// The values its template may use, besides the ones every mail has (`MailTemplate.commonValues`).
    public var values: [String] {
        switch self {
        case .passwordReset, .emailVerification: ["link"]
        case .passwordChanged: []
        case .invite: ["link", "place"]
        case .emailChange: ["link", "new_email"]
        case .emailChangeNotice: ["new_email"]
        }
    }
}

/// A mail's subject, plain-text and HTML parts as mustache templates, compiled once. The HTML part
/// escapes every `{{value}}` (the library's HTML content type); the subject and the text part are
/// compiled as TEXT, so a value appears there exactly as it is, never as `&amp;`.
public struct MailTemplate: Sendable {
    /// What every mail's template may use: `name` (the person, empty for an invite), `email`
    /// (their address), `project` (the Project's name, or the Workspace's for a team invite) and
    /// `signature` (who the mail is from).
    public static let commonValues = ["name", "email", "project", "signature"]

    /// A part that does not compile, with the library's position of the mistake.
    public struct Invalid: Error, Sendable, CustomStringConvertible {
        public let part: String
        public let line: Int
        public let column: Int
        public let reason: String
        public var description: String { "the \(part) template does not compile: \(reason) at line \(line), column \(column)" }
    }

    let subject: MustacheTemplate
    let text: MustacheTemplate
    let html: MustacheTemplate

    public init(subject: String, text: String, html: String) throws(Invalid) {
        // The pragma makes `{{value}}` verbatim (the library's TEXT content type) in the parts that are not HTML.
        self.subject = try Self.compile("subject", "{{% CONTENT_TYPE: TEXT}}" + subject)
        self.text = try Self.compile("text", "{{% CONTENT_TYPE: TEXT}}" + text)
        self.html = try Self.compile("html", html)
    }

    static func compile(_ part: String, _ source: String) throws(Invalid) -> MustacheTemplate {
        do {
            return try MustacheTemplate(string: source)
        } catch let error as MustacheTemplate.ParserError {
            throw Invalid(part: part, line: error.context.lineNumber, column: error.context.columnNumber, reason: Self.reason(error.error))
        } catch {
            throw Invalid(part: part, line: 0, column: 0, reason: Self.reason(error))
        }
    }

    static func reason(_ error: any Error) -> String {
        switch error as? MustacheTemplate.Error {
        case .sectionCloseNameIncorrect?: "a section is closed with another name"
        case .unfinishedName?: "a tag is not closed"
        case .expectedSectionEnd?: "a section is not closed"
        case .invalidSetDelimiter?: "a delimiter change is malformed"
        case .invalidConfigVariableSyntax?, .unrecognisedConfigVariable?: "a pragma is malformed"
        case .transformAppliedToInheritanceSection?, .illegalTokenInsideInheritSection?, .textInsideInheritSection?: "an inheritance section is malformed"
        // The only other error the library throws: its parser ran out of text inside a tag.
        default: "a tag is not closed"
        }
    }

    /// The three parts with `values` filled in; the subject on one line.
    public func render(_ values: [String: String]) -> (subject: String, text: String, html: String) {
        let subject = subject.render(values).split(whereSeparator: \.isNewline).joined(separator: " ")
        return (subject, text.render(values), html.render(values))
    }
}

/// The templates Lamba ships, one per `MailKind`, compiled on first use.
extension MailTemplate {
    public static func standard(_ kind: MailKind) -> MailTemplate {
        switch kind {
        case .passwordReset: standardPasswordReset
        case .emailVerification: standardEmailVerification
        case .passwordChanged: standardPasswordChanged
        case .invite: standardInvite
        case .emailChange: standardEmailChange
        case .emailChangeNotice: standardEmailChangeNotice
        }
    }

    /// The sources of `standard(kind)`: the starting point of a Project's own template.
    public static func standardSource(_ kind: MailKind) -> (subject: String, text: String, html: String) {
        switch kind {
        case .passwordReset:
            source("Reset your {{project}} password", "Hello {{name}},", [
                "Someone asked to reset the password of your {{project}} account ({{email}}).",
                "To choose a new password, open this link within 30 minutes:",
            ], link: true, closing: "If it was not you, ignore this mail: your password stays as it is.")
        case .emailVerification:
            source("Confirm your email for {{project}}", "Hello {{name}},", [
                "Confirm that {{email}} is your address for {{project}}:",
            ], link: true, closing: "The link works once, for 24 hours. If you did not create this account, ignore this mail.")
        case .passwordChanged:
            source("Your {{project}} password was changed", "Hello {{name}},", [
                "The password of your {{project}} account ({{email}}) was just changed.",
                "Every device signed in with the old password was signed out.",
            ], link: false, closing: "If it was not you, reset your password at once and tell the team that runs {{project}}.")
        case .invite:
            source("You are invited to {{place}}", "Hello,", [
                "You are invited to join {{place}} on Lamba.", "To accept, open this link within 7 days:",
            ], link: true, closing: "If you did not expect this invite, ignore this mail: nothing happens without you.")
        case .emailChange:
            source("Confirm your new email for {{project}}", "Hello {{name}},", [
                "Someone asked to make {{new_email}} the email of your {{project}} account.",
                "To confirm, open this link within 24 hours:",
            ], link: true, closing: "Until you confirm, nothing changes. If you did not ask for this, ignore this mail.")
        case .emailChangeNotice:
            source("Your {{project}} email is about to change", "Hello {{name}},", [
                "Someone asked to change the email of your {{project}} account from {{email}} to {{new_email}}.",
                "It changes only once the link sent to the new address is confirmed.",
            ], link: false, closing: "If it was not you, change your password at once and tell the team that runs {{project}}.")
        }
    }

    /// One message in both parts: a greeting, its lines, the link when it has one, a closing and the signature.
    static func source(_ subject: String, _ greeting: String, _ lines: [String], link: Bool, closing: String) -> (subject: String, text: String, html: String) {
        (subject, text(greeting, lines, link: link, closing: closing), html(greeting, lines, link: link, closing: closing))
    }

    /// The link stands alone on its line in the text part, so a mail client can open it.
    static func text(_ greeting: String, _ lines: [String], link: Bool, closing: String) -> String {
        greeting + "\n\n" + lines.joined(separator: "\n") + "\n\n" + (link ? "{{link}}\n\n" : "") + closing + "\n\n— {{signature}}\n"
    }

    static func html(_ greeting: String, _ lines: [String], link: Bool, closing: String) -> String {
        var html = "<!DOCTYPE html><html><body style=\"font-family:system-ui,sans-serif;color:#1d1d1f;max-width:34rem\">"
            + "<p>\(greeting)</p>" + lines.map { "<p>\($0)</p>" }.joined()
        if link {
            html += "<p><a href=\"{{link}}\" style=\"display:inline-block;padding:.6rem 1.1rem;background:#1d4ed8;color:#fff;"
                + "border-radius:.4rem;text-decoration:none\">Open the link</a></p><p style=\"color:#555;font-size:.9em\">{{link}}</p>"
        }
        return html + "<p>\(closing)</p><p>— {{signature}}</p></body></html>"
    }

    static func compiled(_ kind: MailKind) -> MailTemplate {
        let source = standardSource(kind)
        do {
            return try MailTemplate(subject: source.subject, text: source.text, html: source.html)
        } catch {
            // The sources above are constants, and a test compiles every one.
            preconditionFailure("the standard \(kind.rawValue) template does not compile: \(error)")
        }
    }

    static let standardPasswordReset = compiled(.passwordReset)
    static let standardEmailVerification = compiled(.emailVerification)
    static let standardPasswordChanged = compiled(.passwordChanged)
    static let standardInvite = compiled(.invite)
    static let standardEmailChange = compiled(.emailChange)
    static let standardEmailChangeNotice = compiled(.emailChangeNotice)
}
