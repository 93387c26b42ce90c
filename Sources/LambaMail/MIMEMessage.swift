public import Foundation

/// RFC 5322 / RFC 2045 rendering of a `MailMessage`: headers encoded as RFC 2047 words where they
/// are not ASCII, bodies in quoted-printable UTF-8, CRLF line ends, and the text and HTML parts as
/// multipart/alternative. Lines starting with `.` are left to the SMTP layer to dot-stuff.
public enum MIMEMessage {
    public static func render(_ message: MailMessage) -> String {
        var lines: [String] = [
            "Date: " + rfc5322Date(message.date),
            "From: " + mailbox(message.from),
            "To: " + mailbox(message.to),
            "Subject: " + encodedWord(message.subject),
            "Message-ID: <\(message.messageID)>",
            "MIME-Version: 1.0",
            "Auto-Submitted: auto-generated",
        ]
        if let html = message.html {
            let boundary = "lamba-" + String(message.messageID.hashValue.magnitude, radix: 36) + "-alt"
            lines.append("Content-Type: multipart/alternative; boundary=\"\(boundary)\"")
            lines.append("")
            lines.append("--" + boundary)
            lines += part("text/plain", message.text)
            lines.append("--" + boundary)
            lines += part("text/html", html)
            lines.append("--" + boundary + "--")
        } else {
            lines += part("text/plain", message.text)
        }
        return lines.joined(separator: "\r\n") + "\r\n"
    }

    static func part(_ type: String, _ body: String) -> [String] {
        ["Content-Type: \(type); charset=utf-8", "Content-Transfer-Encoding: quoted-printable", "", quotedPrintable(body)]
    }

    static func mailbox(_ address: MailAddress) -> String {
        guard let name = address.name, !name.isEmpty else { return address.address }
        return encodedWord(name) + " <\(address.address)>"
    }

    /// RFC 2047 `=?utf-8?B?…?=` when the text is not plain printable ASCII; header text never holds line breaks.
    static func encodedWord(_ text: String) -> String {
        let clean = text.filter { $0 != "\r" && $0 != "\n" }
        if clean.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) && !clean.contains("=?") { return clean }
        return "=?utf-8?B?" + Data(clean.utf8).base64EncodedString() + "?="
    }

    /// RFC 2045 §6.7: lines of at most 76 characters, soft breaks with `=`, CRLF line ends.
    static func quotedPrintable(_ text: String) -> String {
        let normalized = text.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\r", with: "\n")
        var out: [String] = []
        for line in normalized.split(separator: "\n", omittingEmptySubsequences: false) {
            var current = ""
            let bytes = Array(line.utf8)
            for (index, byte) in bytes.enumerated() {
                let isLast = index == bytes.count - 1
                var piece: String
                if (byte >= 33 && byte <= 126 && byte != 61) || ((byte == 32 || byte == 9) && !isLast) {
                    piece = String(UnicodeScalar(byte))
                } else {
                    piece = "=" + String(format: "%02X", byte)
                }
                if current.utf8.count + piece.utf8.count > 75 {
                    out.append(current + "=")
                    current = ""
                }
                if current.isEmpty, piece == "." { piece = "=2E" }
                current += piece
            }
            out.append(current)
        }
        return out.joined(separator: "\r\n")
    }

    /// RFC 5322 §3.3, in UTC: `Tue, 01 Dec 2026 10:00:00 +0000`.
    static func rfc5322Date(_ date: Date) -> String {
        var time = time_t(Int(date.timeIntervalSince1970))
        var parts = tm()
        gmtime_r(&time, &parts)
        let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(days[Int(parts.tm_wday)]), \(two(parts.tm_mday)) \(months[Int(parts.tm_mon)]) \(parts.tm_year + 1900) "
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)) +0000"
    }
}
