import LambaJOSE

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
