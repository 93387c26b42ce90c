import Foundation
import HTTPTypes
import LambaJOSE
import LambaModel
import LambaStore

/// The console's mail delivery log of a Project environment (docs/account-recovery.md#delivery-log):
/// what was queued, its status and every attempt with the mail server's answer. Message bodies are
/// never shown: they carry one-time links, which are secrets.
enum MailLogRoutes {
    static let path = "/console/v1/projects/{project_id}/environments/{environment}/mail"

    static let routes: [ConsoleRoute] = [
        ConsoleRoute(.get, path, "listMail", "The environment's outgoing mail, newest first, with every delivery attempt (never the message bodies)",
                     access: .project(.auditRead),
                     query: [("limit", EventsRoutes.pageSize), ("cursor", .string(description: "next_cursor of the previous page", maxLength: 64))],
                     response: .ref("MailPage")) { call in
            let (caller, projectID, environment) = try EventsRoutes.scope(call)
            try await EventsRoutes.requireVisibleProject(call, caller, projectID)
            let limit = try EventsRoutes.limit(call.query["limit"])
            let before = call.query["cursor"]
            let workspaceID = caller.workspaceID
            let (mails, attempts) = try await call.services.store.read { reader in
                let mails = try reader.mailLog(workspaceID: workspaceID, projectID: projectID, environment: environment, before: before, limit: limit)
                return (mails, try reader.mailAttempts(mailIDs: mails.map(\.mail.id)))
            }
            let next: JSONValue = mails.count == limit ? mails.last.map { .string($0.mail.id) } ?? .null : .null
            return .object(["mail": .array(mails.map { json($0, attempts[$0.mail.id] ?? []) }), "next_cursor": next])
        },
    ]

    static func json(_ queued: QueuedMail, _ attempts: [MailAttempt]) -> JSONValue {
        .object([
            "id": .string(queued.mail.id), "kind": .string(queued.mail.kind), "recipient": .string(queued.mail.recipient),
            "subject": .string(queued.mail.subject), "status": .string(queued.status), "attempt_count": .integer(Int64(queued.attempts)),
            "next_attempt_at": queued.status == "queued" ? ConsoleJSON.time(queued.nextAttemptAt) : .null,
            "last_error": queued.lastError.map(JSONValue.string) ?? .null, "created_at": ConsoleJSON.time(queued.mail.createdAt),
            "sent_at": ConsoleJSON.time(queued.sentAt),
            "attempts": .array(attempts.map { attempt in
                .object(["attempt": .integer(Int64(attempt.attempt)), "attempted_at": ConsoleJSON.time(attempt.attemptedAt),
                         "outcome": .string(attempt.outcome), "detail": attempt.detail.map(JSONValue.string) ?? .null])
            }),
        ])
    }

    static let components: [(String, ConsoleSchema)] = [
        ("Mail", .object([
            ("id", ConsoleSchemas.id), ("kind", .string(description: "password_reset, email_verification, password_changed, invite, …")),
            ("recipient", .string()), ("subject", .string()), ("status", .string(values: ["queued", "sent", "failed"])),
            ("attempt_count", .integer(minimum: 0)), ("next_attempt_at", .nullable(ConsoleSchemas.time)), ("last_error", .nullable(.string())),
            ("created_at", ConsoleSchemas.time), ("sent_at", .nullable(ConsoleSchemas.time)),
            ("attempts", .array(.object([
                ("attempt", .integer(minimum: 1)), ("attempted_at", ConsoleSchemas.time), ("outcome", .string(values: ["sent", "retry", "failed"])),
                ("detail", .nullable(.string())),
            ]))),
        ])),
        ("MailPage", .object([("mail", .array(.ref("Mail"))), ("next_cursor", .nullable(.string(description: "cursor of the next page")))],
                             required: ["mail", "next_cursor"])),
    ]
}
