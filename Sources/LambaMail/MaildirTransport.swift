public import Foundation

/// Writes each message, as RFC 5322 text, into a maildir (`new/`, `cur/`, `tmp/`): what `lamba serve`
/// does when no SMTP server is configured, so a developer can read the mail it would have sent.
/// Files are written to `tmp/` and renamed into `new/`, so a reader never sees half a message.
public struct MaildirTransport: MailTransport {
    public let directory: URL

    /// The maildir is made at the first mail, so naming one creates nothing yet (a refused start leaves nothing behind).
    public init(directory: URL) {
        self.directory = directory
    }

    public func send(_ message: MailMessage) async throws(MailError) {
        // Time first, in milliseconds and fixed width, so names sort in the order the mail was written.
        let milliseconds = String(Int64(message.date.timeIntervalSince1970 * 1000))
        let name = String(repeating: "0", count: max(0, 14 - milliseconds.count)) + milliseconds + ".\(Self.safe(message.messageID)).lamba"
        let temporary = directory.appendingPathComponent("tmp").appendingPathComponent(name)
        let final = directory.appendingPathComponent("new").appendingPathComponent(name)
        do {
            for sub in ["tmp", "new", "cur"] {
                try FileManager.default.createDirectory(at: directory.appendingPathComponent(sub), withIntermediateDirectories: true)
            }
            try Data(MIMEMessage.render(message).utf8).write(to: temporary)
            if FileManager.default.fileExists(atPath: final.path) { try FileManager.default.removeItem(at: final) }
            try FileManager.default.moveItem(at: temporary, to: final)
        } catch {
            throw .unavailable("cannot write to the maildir \(directory.path): \(error)")
        }
    }

    /// Maildir names may not hold `/` or `:`.
    static func safe(_ text: String) -> String {
        String(text.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "." ? $0 : "_" })
    }
}
