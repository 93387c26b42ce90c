public import Foundation
public import LambaModel

/// A mail in the outbox, as the dispatcher reads it.
public struct QueuedMail: Sendable, Hashable {
    public let mail: OutgoingMail
    public let status: String
    public let attempts: Int
    public let nextAttemptAt: Date
    public let lastError: String?
    public let sentAt: Date?
}

/// The mail outbox's queue (docs/account-recovery.md#mail-outbox): due mail is claimed by a lease,
/// so several `lamba serve` processes on one database never send the same mail at once, and mail
/// claimed by a process that died is due again when its lease runs out.
extension StoreTransaction {
    /// Claims a due mail for `lease`; false when another process claimed it first.
    public func claimMail(id: String, attempts: Int, now: Date, lease: TimeInterval) throws -> Bool {
        try execute(
            "UPDATE mail_outbox SET next_attempt_at = $4 WHERE id = $1 AND status = 'queued' AND attempts = $2 AND next_attempt_at <= $3",
            [.text(id), SQLValue(attempts), SQLValue(now), SQLValue(now.addingTimeInterval(lease))]) == 1
    }

    /// Records one attempt: sent, to be retried at `retryAt`, or failed for good.
    public func recordMailAttempt(id: String, attempt: Int, at date: Date, outcome: MailAttemptOutcome, detail: String?) throws {
        let (status, next): (String, Date) = switch outcome {
        case .sent: ("sent", date)
        case .retry(let at): ("queued", at)
        case .failed: ("failed", date)
        }
        try execute(
            """
            UPDATE mail_outbox SET status = $2, attempts = $3, next_attempt_at = $4, last_error = $5,
                   sent_at = CASE WHEN $2 = 'sent' THEN $6 ELSE sent_at END
            WHERE id = $1
            """,
            [.text(id), .text(status), SQLValue(attempt), SQLValue(next), SQLValue(detail), SQLValue(date)])
        try execute("INSERT INTO mail_attempts (mail_id, attempt, attempted_at, outcome, detail) VALUES ($1, $2, $3, $4, $5)",
                    [.text(id), SQLValue(attempt), SQLValue(date), .text(outcome.name), SQLValue(detail)])
    }
}

/// One try at delivering a mail, as the delivery log shows it.
public struct MailAttempt: Sendable, Hashable {
    public let attempt: Int
    public let attemptedAt: Date
    /// `sent`, `retry` or `failed`.
    public let outcome: String
    /// The mail server's answer or the connection error; never the message.
    public let detail: String?
}

public enum MailAttemptOutcome: Sendable, Hashable {
    case sent
    case retry(at: Date)
    case failed

    var name: String {
        switch self {
        case .sent: "sent"
        case .retry: "retry"
        case .failed: "failed"
        }
    }
}

extension StoreReader {
    /// Queued mail whose time has come, oldest first.
    public func dueMail(now: Date, limit: Int) throws -> [QueuedMail] {
        try query("SELECT * FROM mail_outbox WHERE status = 'queued' AND next_attempt_at <= $1 ORDER BY next_attempt_at, id LIMIT $2",
                  [SQLValue(now), SQLValue(limit)]).map(Self.queuedMail)
    }

    /// One Project environment's mail, newest first, before `before` (a mail id of the previous
    /// page) when given: the delivery log. Scoped by Workspace too, so a foreign Project id reads nothing.
    public func mailLog(workspaceID: String, projectID: String, environment: LambaModel.Environment, before: String?, limit: Int) throws -> [QueuedMail] {
        let scope: [SQLValue] = [.text(workspaceID), .text(projectID), .text(environment.rawValue)]
        guard let before else {
            return try query("SELECT * FROM mail_outbox WHERE workspace_id = $1 AND project_id = $2 AND environment = $3 ORDER BY created_at DESC, id DESC LIMIT $4",
                             scope + [SQLValue(limit)]).map(Self.queuedMail)
        }
        guard let cursor = try query("SELECT created_at FROM mail_outbox WHERE id = $1 AND workspace_id = $2", [.text(before), .text(workspaceID)]).first
        else { return [] }
        return try query(
            """
            SELECT * FROM mail_outbox WHERE workspace_id = $1 AND project_id = $2 AND environment = $3
              AND (created_at < $4 OR (created_at = $4 AND id < $5))
            ORDER BY created_at DESC, id DESC LIMIT $6
            """,
            scope + [SQLValue(try cursor.date("created_at")), .text(before), SQLValue(limit)]).map(Self.queuedMail)
    }

    /// Every attempt at the given mails, in order.
    public func mailAttempts(mailIDs: [String]) throws -> [String: [MailAttempt]] {
        var attempts: [String: [MailAttempt]] = [:]
        for id in mailIDs {
            attempts[id] = try query("SELECT * FROM mail_attempts WHERE mail_id = $1 ORDER BY attempt", [.text(id)]).map { row in
                MailAttempt(attempt: try row.int("attempt"), attemptedAt: try row.date("attempted_at"), outcome: try row.string("outcome"),
                            detail: try row.optionalString("detail"))
            }
        }
        return attempts
    }

    static func queuedMail(_ row: Row) throws -> QueuedMail {
        let mail = OutgoingMail(id: try row.string("id"), workspaceID: try row.string("workspace_id"), projectID: try row.optionalString("project_id"),
                                environment: try row.optionalString("environment").flatMap(LambaModel.Environment.init(rawValue:)),
                                kind: try row.string("kind"), recipient: try row.string("recipient"), subject: try row.string("subject"),
                                text: try row.string("body_text"), html: try row.string("body_html"), createdAt: try row.date("created_at"))
        return QueuedMail(mail: mail, status: try row.string("status"), attempts: try row.int("attempts"), nextAttemptAt: try row.date("next_attempt_at"),
                          lastError: try row.optionalString("last_error"), sentAt: try row.optionalDate("sent_at"))
    }
}
