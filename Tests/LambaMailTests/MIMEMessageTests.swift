import LambaStoreTestSupport
import Foundation
import Testing
@testable import LambaMail

@Suite struct MIMEMessageTests {
    /// RFC 2045 §6.7 decoding, to check what the encoder wrote.
    func decodeQuotedPrintable(_ encoded: String) -> String {
        var bytes: [UInt8] = []
        let lines = encoded.components(separatedBy: "\r\n")
        for (index, line) in lines.enumerated() {
            var utf8 = Array(line.utf8)
            let soft = utf8.last == UInt8(ascii: "=")
            if soft { utf8.removeLast() }
            var i = 0
            while i < utf8.count {
                if utf8[i] == UInt8(ascii: "="), i + 2 < utf8.count + 0, let value = UInt8(String(decoding: utf8[(i + 1)...(i + 2)], as: UTF8.self), radix: 16) {
                    bytes.append(value)
                    i += 3
                } else {
                    bytes.append(utf8[i])
                    i += 1
                }
            }
            if !soft && index < lines.count - 1 { bytes.append(0x0A) }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    @Test func quotedPrintableLinesStayWithin76AndRoundTrip() {
        let samples = [
            String(repeating: "a", count: 300),
            String(repeating: "é", count: 100) + " end",
            String(repeating: "x ", count: 80) + "\n\ttabbed   \n" + String(repeating: "=", count: 50),
            "trailing space \nand tab\t\n.dot first\n" + String(repeating: "✓", count: 40),
            String(repeating: "b", count: 74) + "é" + String(repeating: "c", count: 10),
        ]
        for sample in samples {
            let encoded = MIMEMessage.quotedPrintable(sample)
            for line in encoded.components(separatedBy: "\r\n") {
                #expect(line.utf8.count <= 76, "line of \(line.utf8.count): \(line)")
                #expect(line.utf8.allSatisfy { $0 >= 0x20 && $0 < 0x7F || $0 == 0x09 })
                // RFC 2045 §6.7 (3): no line ends in a bare space or tab.
                #expect(line.last != " " && line.last != "\t")
                #expect(!line.hasPrefix("."))
            }
            #expect(decodeQuotedPrintable(encoded) == sample)
        }
    }

    @Test func longLinesGetSoftBreaks() {
        let encoded = MIMEMessage.quotedPrintable(String(repeating: "a", count: 200))
        let lines = encoded.components(separatedBy: "\r\n")
        #expect(lines.count == 3)
        #expect(lines.dropLast().allSatisfy { $0.hasSuffix("=") && $0.utf8.count == 76 })
        #expect(!lines.last!.hasSuffix("="))
    }

    @Test func escapesAreNeverSplitAcrossASoftBreak() {
        let encoded = MIMEMessage.quotedPrintable(String(repeating: "é", count: 60))
        for line in encoded.components(separatedBy: "\r\n") {
            let body = line.hasSuffix("=") ? String(line.dropLast()) : line
            #expect(body.utf8.count % 3 == 0)
        }
    }

    @Test func headersAreEncodedAndFolded() throws {
        let long = String(repeating: "Grüße ", count: 40)
        let message = MailMessage(from: try MailAddress("noreply@lamba.example", name: "Lamba: \"Team\" <x@y.z>"),
                                  to: try MailAddress("a@example.com"), subject: long, text: "hi", messageID: "1@lamba.example",
                                  date: Date(timeIntervalSince1970: 1_796_119_200))
        let rendered = MIMEMessage.render(message)
        let headers = rendered.components(separatedBy: "\r\n\r\n")[0].components(separatedBy: "\r\n")
        for line in headers where !line.hasPrefix("From: ") { #expect(line.utf8.count <= 78, "\(line)") }
        #expect(headers.allSatisfy { $0.utf8.count <= 998 })
        #expect(rendered.utf8.allSatisfy { $0 < 0x80 })
        #expect(headers.contains("Date: Tue, 01 Dec 2026 10:00:00 +0000"))
        #expect(headers.contains("To: a@example.com"))
        // A display name with specials is encoded, not written where `:` or `<` would parse.
        let from = try #require(headers.first { $0.hasPrefix("From: ") })
        #expect(from.hasPrefix("From: =?utf-8?B?"))
        #expect(from.hasSuffix(" <noreply@lamba.example>"))
        #expect(MIMEMessage.mailbox(try MailAddress("a@example.com", name: "Plain Name")) == "Plain Name <a@example.com>")
        // Folded words decode back to the subject.
        let words = headers.drop { !$0.hasPrefix("Subject: ") }.prefix { $0.hasPrefix("Subject: ") || $0.hasPrefix(" ") }
        let decoded = words.map { $0.replacingOccurrences(of: "Subject: ", with: "").trimmingCharacters(in: .whitespaces) }
            .map { word -> String in
                let base64 = word.dropFirst("=?utf-8?B?".count).dropLast(2)
                return String(decoding: Data(base64Encoded: String(base64))!, as: UTF8.self)
            }.joined()
        #expect(decoded == long)
    }

    @Test func lineBreaksCannotEnterHeaders() throws {
        let message = MailMessage(from: try MailAddress("noreply@lamba.example", name: "Eve\r\nBcc: x@evil.example"),
                                  to: try MailAddress("a@example.com"), subject: "Hi\r\nBcc: x@evil.example\nX: y",
                                  text: "body", messageID: "2@lamba.example")
        let headers = MIMEMessage.render(message).components(separatedBy: "\r\n\r\n")[0].components(separatedBy: "\r\n")
        #expect(!headers.contains { $0.hasPrefix("Bcc:") || $0.hasPrefix("X:") })
        #expect(message.from.name == "EveBcc: x@evil.example")
        #expect(MIMEMessage.encodedWord("Hi\r\nBcc: x") == "HiBcc: x")
    }

    @Test func addressesCannotCarryCommandsOrHeaders() {
        for bad in ["a@example.com\r\nRCPT TO:<x@evil.example>", "a@example.com>", "<a@example.com", "a b@example.com", "a@example.com\n",
                    "no-at-sign", "a@nodot", "a@b@example.com"] {
            #expect(throws: MailError.self) { _ = try MailAddress(bad) }
        }
    }

    @Test func dotStuffing() {
        #expect(SMTPTransport.dataPayload("a\r\n.b\r\n.\r\n..c\r\n") == "a\r\n..b\r\n..\r\n...c\r\n")
        // Bare LF and CR become CRLF (RFC 5321 §2.3.8), and the payload ends with CRLF.
        #expect(SMTPTransport.dataPayload("a\nb\rc") == "a\r\nb\r\nc\r\n")
    }
}

@Suite struct SMTPReplyParserTests {
    @Test func multilineReplies() throws {
        var parser = SMTPReplyParser()
        parser.append(Array("250-mail.example greets you\r\n250-AUTH PLAIN LOGIN\r\n250-STARTTLS\r\n".utf8))
        #expect(try parser.next() == nil)
        parser.append(Array("250 SMTPUTF8\r\n220 ready\r\n".utf8))
        let ehlo = try #require(try parser.next())
        #expect(ehlo.code == 250)
        #expect(ehlo.lines == ["mail.example greets you", "AUTH PLAIN LOGIN", "STARTTLS", "SMTPUTF8"])
        let extensions = SMTPExtensions(ehlo: ehlo)
        #expect(extensions.startTLS && extensions.smtpUTF8)
        #expect(extensions.authMechanisms == ["PLAIN", "LOGIN"])
        #expect(try parser.next() == SMTPReply(code: 220, lines: ["ready"]))
        #expect(!parser.hasBufferedBytes)
    }

    @Test func bareCodeAndLegacyAuthEquals() throws {
        var parser = SMTPReplyParser()
        parser.append(Array("250-x\r\n250-AUTH=LOGIN\r\n250\r\n".utf8))
        let reply = try #require(try parser.next())
        #expect(SMTPExtensions(ehlo: reply).authMechanisms == ["LOGIN"])
    }

    @Test func malformedRepliesAreRefused() {
        for bad in ["hello\r\n", "250-a\r\n354 b\r\n", "999 x\r\n", "25 x\r\n", "250xfoo\r\n"] {
            var parser = SMTPReplyParser()
            parser.append(Array(bad.utf8))
            #expect(throws: MailError.self) { _ = try parser.next() }
        }
        var parser = SMTPReplyParser()
        parser.append(Array(repeating: UInt8(ascii: "a"), count: SMTPReplyParser.maximumLine + 1))
        #expect(throws: MailError.self) { _ = try parser.next() }
    }

    @Test func repliesMapToErrors() {
        #expect(SMTPSession.failure(SMTPReply(code: 421, lines: ["busy"]), "greeting") == .temporaryFailure(code: 421, message: "greeting: busy"))
        #expect(SMTPSession.failure(SMTPReply(code: 554, lines: ["no"]), "DATA") == .permanentFailure(code: 554, message: "DATA: no"))
        guard case .unavailable = SMTPSession.failure(SMTPReply(code: 354, lines: ["go"]), "RCPT TO") else {
            Issue.record("a 3xx where 2xx was due is a broken conversation")
            return
        }
    }
}
