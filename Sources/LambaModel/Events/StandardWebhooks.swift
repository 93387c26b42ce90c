public import Foundation
public import LambaJOSE

/// Signing per the Standard Webhooks specification: secrets are `whsec_` + base64 of random bytes;
/// the signature is `v1,` + base64 HMAC-SHA256 over `{webhook-id}.{webhook-timestamp}.{body}`; during
/// a secret rotation the header lists one signature per valid secret, separated by spaces
/// (docs/events.md#signing).
public enum StandardWebhooks {
    public static let secretPrefix = "whsec_"
    /// The specification asks for 24 to 64 bytes; 32 matches the HMAC-SHA256 block strength.
    static let secretByteCount = 32

    public static func generateSecret() throws -> String {
        secretPrefix + Data(try SecureRandom.bytes(secretByteCount)).base64EncodedString()
    }

    /// The HMAC key inside a `whsec_` secret.
    public static func key(of secret: String) throws(WebhookSecretError) -> [UInt8] {
        guard secret.hasPrefix(secretPrefix), let key = Data(base64Encoded: String(secret.dropFirst(secretPrefix.count))), !key.isEmpty else {
            throw WebhookSecretError.malformed
        }
        return Array(key)
    }

    /// One `v1,<base64>` signature of a message.
    public static func signature(secret: String, id: String, timestamp: Int, body: [UInt8]) throws(WebhookSecretError) -> String {
        let key = try key(of: secret)
        var content = Array("\(id).\(timestamp).".utf8)
        content.append(contentsOf: body)
        return "v1," + Data(Digest.hmac(.sha256, key: key, data: content)).base64EncodedString()
    }

    /// The `webhook-signature` header value: one signature per secret, space separated.
    public static func signatureHeader(secrets: [String], id: String, timestamp: Int, body: [UInt8]) throws(WebhookSecretError) -> String {
        var signatures: [String] = []
        for secret in secrets { signatures.append(try signature(secret: secret, id: id, timestamp: timestamp, body: body)) }
        return signatures.joined(separator: " ")
    }

    /// What a receiver does: true when any `v1` signature in `header` matches `secret`.
    public static func verify(secret: String, id: String, timestamp: Int, body: [UInt8], header: String) -> Bool {
        guard let expected = try? signature(secret: secret, id: id, timestamp: timestamp, body: body) else { return false }
        return header.split(separator: " ").contains { constantTimeEquals(Array($0.utf8), Array(expected.utf8)) }
    }
}

public enum WebhookSecretError: Error, Sendable, Equatable {
    case malformed
}

/// The Standard Webhooks body of an event: `{"type", "timestamp", "data"}` where `data` carries the
/// event's context ids and then its own members. Built from the stored event alone, so every attempt
/// and every replay sends the same bytes (docs/events.md#payload).
public enum WebhookPayload {
    /// `occurredAt` is the event's stored timestamp text, `data` its stored JSON text.
    public static func body(type: String, occurredAt: String, eventID: String, actor: String?, workspaceID: String?, projectID: String?,
                            environment: String?, sessionID: String?, data: String) -> [UInt8] {
        var merged: JSONObject = ["event_id": .string(eventID)]
        if let workspaceID { merged["workspace_id"] = .string(workspaceID) }
        if let projectID { merged["project_id"] = .string(projectID) }
        if let environment { merged["environment"] = .string(environment) }
        if let actor { merged["actor"] = .string(actor) }
        if let sessionID { merged["session_id"] = .string(sessionID) }
        // The outbox accepts any JSON text; a non-object is carried whole under `value`.
        switch try? JSON.decode(data, limits: JSONLimits(maxBytes: 1 << 24, maxDepth: 64)) {
        case .object(let object):
            for (name, value) in object where merged[name] == nil { merged[name] = value }
        case .some(let value):
            merged["value"] = value
        case nil:
            merged["value"] = .string(data)
        }
        return JSON.encode(["type": .string(type), "timestamp": .string(occurredAt), "data": .object(merged)] as JSONObject)
    }
}
