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

    /// One Workspace's mail, newest first: the delivery log.
    public func mailLog(workspaceID: String, limit: Int) throws -> [QueuedMail] {
        try query("SELECT * FROM mail_outbox WHERE workspace_id = $1 ORDER BY created_at DESC, id LIMIT $2",
                  [.text(workspaceID), SQLValue(limit)]).map(Self.queuedMail)
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
