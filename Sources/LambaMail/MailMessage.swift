public import Foundation

/// One email, as Lamba composes it: a plain-text part and an HTML part (multipart/alternative).
public struct MailMessage: Sendable, Hashable, Codable {
    public var from: MailAddress
    public var to: MailAddress
    public var subject: String
    public var text: String
    public var html: String?
    /// Stable across retries, so a receiver can drop a duplicate (RFC 5322 §3.6.4).
    public var messageID: String
    public var date: Date

    public init(from: MailAddress, to: MailAddress, subject: String, text: String, html: String? = nil,
                messageID: String, date: Date = Date()) {
        self.from = from
        self.to = to
        self.subject = subject
        self.text = text
        self.html = html
        self.messageID = messageID
        self.date = date
    }
}

/// An address with an optional display name. `address` is checked to be a plain `local@domain`
/// without spaces, angle brackets or line breaks, so it cannot inject SMTP commands or headers.
public struct MailAddress: Sendable, Hashable, Codable, CustomStringConvertible {
    public let address: String
    public let name: String?

    public init(_ address: String, name: String? = nil) throws(MailError) {
        let forbidden: Set<Character> = [" ", "<", ">", "\r", "\n", "\t", ",", ";", "\"", "(", ")", "\\"]
        let parts = address.split(separator: "@", omittingEmptySubsequences: false)
        guard address.utf8.count <= 254, parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty, parts[1].contains("."),
              !address.contains(where: { forbidden.contains($0) || $0.asciiValue.map { $0 < 0x20 || $0 == 0x7F } == true })
        else { throw .invalidAddress(address) }
        self.address = address
        self.name = name.map(MIMEMessage.withoutLineBreaks)
    }

    public var description: String { address }
}

public enum MailError: Error, Sendable, Equatable, CustomStringConvertible {
    case invalidAddress(String)
    /// The settings do not describe a mail transport (`LAMBA_SMTP_URL`).
    case invalidConfiguration(String)
    /// The receiving server could not be reached or the connection broke: worth retrying.
    case unavailable(String)
    /// The server answered with a temporary (4xx) reply: worth retrying.
    case temporaryFailure(code: Int, message: String)
    /// The server refused for good (5xx): retrying will not help.
    case permanentFailure(code: Int, message: String)

    public var description: String {
        switch self {
        case .invalidAddress(let address): "not a usable email address: \(address)"
        case .invalidConfiguration(let reason): "mail settings: \(reason)"
        case .unavailable(let reason): "mail server unavailable: \(reason)"
        case .temporaryFailure(let code, let message): "mail server answered \(code) (temporary): \(message)"
        case .permanentFailure(let code, let message): "mail server answered \(code): \(message)"
        }
    }

    /// Whether a later attempt may succeed.
    public var isTemporary: Bool {
        switch self {
        case .unavailable, .temporaryFailure: true
        case .invalidAddress, .invalidConfiguration, .permanentFailure: false
        }
    }
}

/// Hands a message to whoever delivers it next. Throws `MailError`.
public protocol MailTransport: Sendable {
    func send(_ message: MailMessage) async throws(MailError)
}
