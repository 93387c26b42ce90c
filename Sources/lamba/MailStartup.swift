import ArgumentParser
import Foundation
import LambaMail
import LambaServer
import LambaStore

/// Where `lamba serve` sends mail (docs/account-recovery.md#mail-outbox): the SMTP server of
/// `LAMBA_SMTP_URL`, or, with none, a maildir next to the database that a developer can read, so
/// the README's command needs no mail server. Checked before the port is bound.
struct MailStartup {
    let transport: any MailTransport
    let configuration: MailDispatchConfiguration
    /// What the start prints: where mail goes.
    let summary: String

    enum Variable {
        static let smtpURL = "LAMBA_SMTP_URL"
        static let from = "LAMBA_MAIL_FROM"
        static let maildir = "LAMBA_MAILDIR"
    }

    static func load(databaseURL: DatabaseURL, publicBaseURL: String,
                     environment: [String: String] = ProcessInfo.processInfo.environment) throws -> MailStartup {
        let from = environment[Variable.from].flatMap { $0.isEmpty ? nil : $0 } ?? defaultSender(publicBaseURL)
        do {
            _ = try MailAddress(from)
        } catch {
            throw ValidationError("invalid configuration: \(Variable.from): \(error)")
        }
        let configuration = MailDispatchConfiguration(from: from)
        if let url = environment[Variable.smtpURL], !url.isEmpty {
            do {
                let settings = try MailSettings(url: url)
                return MailStartup(transport: try settings.transport(), configuration: configuration, summary: "mail: sent through \(settings)")
            } catch {
                throw ValidationError("invalid configuration: \(Variable.smtpURL): \(error)")
            }
        }
        let directory: URL
        if let configured = environment[Variable.maildir], !configured.isEmpty {
            directory = URL(fileURLWithPath: configured)
        } else if case .sqlite(let path) = databaseURL {
            directory = URL(fileURLWithPath: path).deletingLastPathComponent().appendingPathComponent("mail")
        } else {
            directory = URL(fileURLWithPath: "data/mail")
        }
        return MailStartup(transport: MaildirTransport(directory: directory), configuration: configuration,
                           summary: "mail: no \(Variable.smtpURL) set, so mail is written to the maildir \(directory.standardizedFileURL.path)/new")
    }

    /// `no-reply@` the public URL's host, when it is a name with a dot; else a name that is.
    static func defaultSender(_ publicBaseURL: String) -> String {
        let host = URLComponents(string: publicBaseURL)?.host ?? ""
        let isName = host.contains(".") && !host.allSatisfy { $0.isNumber || $0 == "." }
        return "no-reply@" + (isName ? host : "lamba.local")
    }
}
