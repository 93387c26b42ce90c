import Foundation

/// RFC 5322 / RFC 2045 rendering of a `MailMessage`: headers encoded as RFC 2047 words where they
/// are not ASCII, bodies in quoted-printable UTF-8, CRLF line ends, and the text and HTML parts as
/// multipart/alternative. Quoted-printable writes a leading `.` as `=2E` (RFC 2049 §3 (8)); the SMTP
/// layer still dot-stuffs every line it sends.
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
        guard let name = address.name.map(withoutLineBreaks), !name.isEmpty else { return address.address }
        // RFC 5322 §3.2.5: a display name of atoms and spaces goes as is; one with specials such as
        // `:` or `<` would change how the header parses, so it goes as encoded words (RFC 2047 §5 (3)).
        let atext = Set("!#$%&'*+-/=?^_`{|}~ ".utf8)
        let isPhrase = name.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0) || atext.contains($0) }
        let phrase = isPhrase && !name.contains("=?") && name.first != " " && name.last != " " ? name : encodedWords(name)
        return phrase + " <\(address.address)>"
    }

    /// The text as is when it is printable ASCII, else as RFC 2047 `=?utf-8?B?…?=` words; header text
    /// never holds line breaks.
    static func encodedWord(_ text: String) -> String {
        let clean = withoutLineBreaks(text)
        // RFC 5322 §2.1.1: a long line is folded as encoded words rather than sent past 998 octets.
        if clean.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) && !clean.contains("=?") && clean.utf8.count <= 900 { return clean }
        return encodedWords(clean)
    }

    /// By scalar: `"\r\n"` is one Character, which a Character filter for `"\r"` or `"\n"` lets through.
    static func withoutLineBreaks(_ text: String) -> String {
        var scalars = String.UnicodeScalarView()
        scalars.append(contentsOf: text.unicodeScalars.filter { $0 != "\r" && $0 != "\n" })
        return String(scalars)
    }

    /// RFC 2047 §2: each word at most 75 characters, split between characters (never inside one, §5),
    /// folded onto continuation lines (RFC 5322 §2.2.3) so no header line nears the 998-octet limit.
    static func encodedWords(_ text: String) -> String {
        var words: [String] = []
        var chunk: [UInt8] = []
        for character in text {
            let bytes = Array(String(character).utf8)
            // 39 bytes are 52 base64 characters; with `=?utf-8?B?` and `?=` a word is 64, and
            // `Subject: ` and a word stay within 78 (RFC 5322 §2.1.1).
            if !chunk.isEmpty && chunk.count + bytes.count > 39 {
                words.append("=?utf-8?B?" + Data(chunk).base64EncodedString() + "?=")
                chunk = []
            }
            chunk += bytes
        }
        if !chunk.isEmpty || words.isEmpty { words.append("=?utf-8?B?" + Data(chunk).base64EncodedString() + "?=") }
        return words.joined(separator: "\r\n ")
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
