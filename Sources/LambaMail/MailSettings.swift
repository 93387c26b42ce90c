import Foundation

/// Where mail goes, read from `LAMBA_SMTP_URL`:
///
///     smtp://user:password@host:587      STARTTLS (RFC 3207), required
///     smtps://user:password@host:465     TLS from the first byte (RFC 8314 §3.3)
///
/// User and password are percent-decoded; both are optional, but come together. Query options:
/// `tls=starttls` (the default for smtp://) or `tls=none` (plaintext, for a local test server only);
/// `ca=/path/ca.pem` trusts that CA file instead of the system roots; `helo=name` is the name sent
/// in EHLO. Anything else is refused: there is deliberately no way to turn certificate checks off.
public struct MailSettings: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public enum Security: Sendable, Hashable {
        /// TLS from the first byte (RFC 8314 §3.3, `smtps://`).
        case implicitTLS
        /// Plaintext, then STARTTLS before anything else is said (RFC 3207).
        case startTLS
        /// Plaintext throughout (`?tls=none`): for a server on this machine, in tests.
        case none
    }

    public var host: String
    public var port: Int
    public var security: Security
    public var username: String?
    public var password: String?
    /// A PEM file of CA certificates to trust instead of the system roots.
    public var caFile: String?
    /// Sent in EHLO/HELO (RFC 5321 §4.1.1.1).
    public var heloName: String
    /// How long to wait for the TCP connection.
    public var connectTimeout: Duration
    /// How long to wait for each reply, the TLS handshake included.
    public var replyTimeout: Duration

    public init(host: String, port: Int, security: Security, username: String? = nil, password: String? = nil,
                caFile: String? = nil, heloName: String = MailSettings.defaultHeloName,
                connectTimeout: Duration = .seconds(10), replyTimeout: Duration = .seconds(30)) {
        self.host = host
        self.port = port
        self.security = security
        self.username = username
        self.password = password
        self.caFile = caFile
        self.heloName = heloName
        self.connectTimeout = connectTimeout
        self.replyTimeout = replyTimeout
    }

    /// Parses `LAMBA_SMTP_URL`; throws `.invalidConfiguration` naming what is wrong (never the password).
    public init(url text: String) throws(MailError) {
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased() else {
            throw .invalidConfiguration("LAMBA_SMTP_URL is not a URL (expected smtp://user:password@host:587 or smtps://…)")
        }
        let security: Security
        switch scheme {
        case "smtp": security = .startTLS
        case "smtps": security = .implicitTLS
        default: throw .invalidConfiguration("LAMBA_SMTP_URL scheme \(scheme) is not smtp or smtps")
        }
        guard let host = components.host, !host.isEmpty else {
            throw .invalidConfiguration("LAMBA_SMTP_URL has no host")
        }
        guard host.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || ".-:".contains($0)) }) else {
            throw .invalidConfiguration("LAMBA_SMTP_URL host \(host) is not a host name or IP address")
        }
        if let port = components.port, !(1...65535).contains(port) {
            throw .invalidConfiguration("LAMBA_SMTP_URL port \(port) is out of range")
        }
        if !components.percentEncodedPath.isEmpty && components.percentEncodedPath != "/" {
            throw .invalidConfiguration("LAMBA_SMTP_URL has a path; only host, port, user, password and query options are read")
        }
        if components.fragment != nil { throw .invalidConfiguration("LAMBA_SMTP_URL has a fragment") }

        var username: String?
        var password: String?
        if let user = components.percentEncodedUser {
            guard let decoded = user.removingPercentEncoding, !decoded.isEmpty else {
                throw .invalidConfiguration("LAMBA_SMTP_URL user is empty or not valid percent-encoding")
            }
            username = decoded
        }
        if let secret = components.percentEncodedPassword {
            guard let decoded = secret.removingPercentEncoding else {
                throw .invalidConfiguration("LAMBA_SMTP_URL password is not valid percent-encoding")
            }
            password = decoded
        }
        if (username == nil) != (password == nil) {
            throw .invalidConfiguration("LAMBA_SMTP_URL names a user without a password or a password without a user")
        }

        var chosen = security
        var caFile: String?
        var heloName = MailSettings.defaultHeloName
        var seen: Set<String> = []
        for item in components.queryItems ?? [] {
            guard seen.insert(item.name).inserted else {
                throw .invalidConfiguration("LAMBA_SMTP_URL repeats the option \(item.name)")
            }
            let value = item.value ?? ""
            switch item.name {
            case "tls":
                switch (value, security) {
                case ("none", .startTLS): chosen = .none
                case ("starttls", .startTLS): chosen = .startTLS
                case ("none", _), ("starttls", _):
                    throw .invalidConfiguration("LAMBA_SMTP_URL tls=\(value) does not go with smtps:// (TLS from the first byte)")
                default:
                    throw .invalidConfiguration("LAMBA_SMTP_URL tls=\(value) is not starttls or none")
                }
            case "ca":
                guard value.hasPrefix("/") else {
                    throw .invalidConfiguration("LAMBA_SMTP_URL ca=\(value) is not an absolute path")
                }
                guard FileManager.default.isReadableFile(atPath: value) else {
                    throw .invalidConfiguration("LAMBA_SMTP_URL ca=\(value) is not a readable file")
                }
                caFile = value
            case "helo":
                // A domain or an address literal (RFC 5321 §4.1.3); nothing that could end the command line.
                guard !value.isEmpty, value.utf8.count <= 255,
                      value.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || ".-[]:".contains($0)) })
                else { throw .invalidConfiguration("LAMBA_SMTP_URL helo=\(value) is not a domain name") }
                heloName = value
            default:
                throw .invalidConfiguration(
                    "LAMBA_SMTP_URL option \(item.name) is not known (known: tls=starttls|none, ca=/path/ca.pem, helo=name)")
            }
        }
        self.init(host: host, port: components.port ?? (security == .implicitTLS ? 465 : 587), security: chosen,
                  username: username, password: password, caFile: caFile, heloName: heloName)
    }

    /// The URL again, without the password.
    public var description: String {
        var text = (security == .implicitTLS ? "smtps://" : "smtp://")
        if let username {
            text += (username.addingPercentEncoding(withAllowedCharacters: .urlUserAllowed) ?? "?") + ":***@"
        }
        text += (host.contains(":") ? "[\(host)]" : host) + ":\(port)"
        var options: [String] = []
        if security == .none { options.append("tls=none") }
        if let caFile { options.append("ca=\(caFile)") }
        if heloName != MailSettings.defaultHeloName { options.append("helo=\(heloName)") }
        return options.isEmpty ? text : text + "?" + options.joined(separator: "&")
    }

    public var debugDescription: String { description }

    /// `dump` and the debugger show the description, not the stored password.
    public var customMirror: Mirror { Mirror(self, children: ["url": description], displayStyle: .struct) }

    /// The transport these settings describe.
    public func transport() throws(MailError) -> any MailTransport {
        try SMTPTransport(settings: self)
    }

    /// This machine's name when it looks like a domain, else `localhost`.
    public static var defaultHeloName: String {
        let name = ProcessInfo.processInfo.hostName
        let usable = !name.isEmpty && name.utf8.count <= 255
            && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "." || $0 == "-") }
        return usable ? name : "localhost"
    }
}
