public import Foundation
public import LambaJOSE

/// Signing per the Standard Webhooks specification: secrets are `whsec_` + base64 of random bytes;
/// the signature is `v1,` + base64 HMAC-SHA256 over `{webhook-id}.{webhook-timestamp}.{body}`; during
/// a secret rotation the header lists one signature per valid secret, separated by spaces.
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

/// Webhook secrets at rest: sealed under the master key, bound to their endpoint id so that a sealed
/// secret copied to another endpoint row does not open.
struct WebhookSecretBox: Sendable {
    let masterKey: MasterKey

    func seal(_ secret: String, endpointID: String) throws -> String {
        Base64URL.encode(try masterKey.seal(Array(secret.utf8), associatedData: Array(endpointID.utf8)))
    }

    func open(_ sealed: String, endpointID: String) throws -> String {
        String(decoding: try masterKey.open(try Base64URL.decode(sealed), associatedData: Array(endpointID.utf8)), as: UTF8.self)
    }
}
