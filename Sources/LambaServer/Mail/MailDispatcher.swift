public import Foundation
internal import LambaJOSE
public import LambaMail
public import LambaModel
public import LambaStore
public import Logging

/// Tuning of mail delivery; tests shorten it.
public struct MailDispatchConfiguration: Sendable {
    /// Who the mail is from; the Project's name is its display name.
    public var from: String
    public var pollInterval: Duration = .seconds(1)
    /// The wait after the n-th failed attempt: `backoffBase · 4ⁿ⁻¹`, at most `backoffCap`.
    public var backoffBase: TimeInterval = 30
    public var backoffCap: TimeInterval = 3600
    /// Attempts before a mail that keeps failing temporarily is given up (about 13 hours with the defaults).
    public var maxAttempts = 16
    /// How long a claim holds a mail; a process that dies lets it go when this runs out.
    public var lease: TimeInterval = 120
    public var batchSize = 20

    public init(from: String) { self.from = from }

    /// When the attempt after `attempts` failed ones is due.
    public func retryDelay(after attempts: Int) -> TimeInterval {
        min(backoffCap, backoffBase * pow(4, Double(max(0, attempts - 1))))
    }
}

/// Delivers the mail outbox (docs/account-recovery.md#mail-outbox): claims due mail, hands each
/// to the transport, and records every attempt. A temporary failure is retried with backoff; a
/// permanent one, or too many temporary ones, fails the mail with a `mail.failed` event. Mail is
/// never lost on restart: it stays queued until an attempt is recorded.
public struct MailDispatcher: Sendable {
    let store: any Store
    let transport: any MailTransport
    let configuration: MailDispatchConfiguration
    let logger: Logger

    public init(store: any Store, transport: any MailTransport, configuration: MailDispatchConfiguration, logger: Logger) {
        self.store = store
        self.transport = transport
        self.configuration = configuration
        self.logger = logger
    }

    /// Until cancelled.
    public func run() async {
        while !Task.isCancelled {
            do {
                if try await deliverDue() == 0 { try await Task.sleep(for: configuration.pollInterval) }
            } catch is CancellationError {
                return
            } catch {
                logger.warning("mail delivery pass failed", metadata: ["error": .string("\(error)")])
                try? await Task.sleep(for: configuration.pollInterval)
            }
        }
    }

    /// One pass over the due mail; the number of attempts made.
    @discardableResult
    public func deliverDue(now: Date = Date()) async throws -> Int {
        let due = try await store.read { r in try r.dueMail(now: now, limit: configuration.batchSize) }
        var attempted = 0
        for queued in due {
            let lease = configuration.lease
            guard try await store.withTransaction({ tx in try tx.claimMail(id: queued.mail.id, attempts: queued.attempts, now: now, lease: lease) }) else { continue }
            attempted += 1
            await attempt(queued)
        }
        return attempted
    }

    private func attempt(_ queued: QueuedMail) async {
        let mail = queued.mail
        let number = queued.attempts + 1
        let outcome: MailAttemptOutcome
        let detail: String?
        do {
            let (projectName, sender) = try await store.read { r in
                let records = SQLIdentityRecords(reader: r, transaction: nil)
                return (try mail.projectID.flatMap { try records.project(id: $0, workspaceID: mail.workspaceID)?.name },
                        try records.workspace(id: mail.workspaceID)?.mailFrom)
            }
            // The Workspace's own sender when it has one (docs/account-recovery.md#mail-outbox).
            let message = MailMessage(from: try MailAddress(sender ?? configuration.from, name: projectName), to: try MailAddress(mail.recipient),
                                      subject: mail.subject, text: mail.text, html: mail.html, messageID: mail.id + "@lamba", date: mail.createdAt)
            try await transport.send(message)
            outcome = .sent
            detail = nil
        } catch {
            // A store error (reading the Project's name) is as temporary as a mail server that is down.
            let temporary = (error as? MailError)?.isTemporary ?? true
            detail = "\(error)"
            outcome = temporary && number < configuration.maxAttempts
                ? .retry(at: Date().addingTimeInterval(configuration.retryDelay(after: number))) : .failed
        }
        let recorded = detail
        do {
            try await store.withTransaction { tx in
                try tx.recordMailAttempt(id: mail.id, attempt: number, at: Date(), outcome: outcome, detail: recorded)
                if outcome == .failed {
                    try SQLIdentityRecords(reader: tx, transaction: tx).append(DomainEvent(
                        type: .mailFailed, actor: "system", workspaceID: mail.workspaceID, projectID: mail.projectID, environment: mail.environment,
                        data: ["mail_id": .string(mail.id), "kind": .string(mail.kind), "attempts": .integer(Int64(number)),
                               "error": .string(recorded ?? "")]))
                }
            }
        } catch {
            // The claim's lease runs out and the mail is due again: sent twice at worst, never lost.
            logger.warning("mail attempt not recorded", metadata: ["mail_id": .string(mail.id), "error": .string("\(error)")])
        }
        if outcome != .sent {
            logger.notice("mail not delivered", metadata: ["mail_id": .string(mail.id), "kind": .string(mail.kind), "attempt": .stringConvertible(number),
                                                          "error": .string(detail ?? "")])
        }
    }
}
