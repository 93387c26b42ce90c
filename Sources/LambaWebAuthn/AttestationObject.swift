/// An attestation object (WebAuthn L3 §6.5.4): the CBOR map {fmt, attStmt, authData}.
struct AttestationObject {
    let format: String
    let statement: CBORValue
    let authData: [UInt8]

    init(bytes: [UInt8]) throws(WebAuthnError) {
        let value = try CBOR.decode(bytes)
        guard let entries = value.mapValue else { throw .malformedAttestationObject("not a map") }
        guard entries.count == 3 else { throw .malformedAttestationObject("expected exactly fmt, attStmt and authData") }
        guard let format = value[.text("fmt")]?.textValue else { throw .malformedAttestationObject("fmt is missing") }
        guard let statement = value[.text("attStmt")], statement.mapValue != nil else {
            throw .malformedAttestationObject("attStmt is missing or not a map")
        }
        guard let authData = value[.text("authData")]?.bytesValue else { throw .malformedAttestationObject("authData is missing") }
        self.format = format
        self.statement = statement
        self.authData = authData
    }

    /// WebAuthn L3 §7.1 step 21: verifies the statement for its format.
    func verify(authData: AuthenticatorData, clientDataHash: [UInt8], credentialKey: COSEKey) throws(WebAuthnError) {
        let entries = statement.mapValue ?? []
        switch format {
        case "none":
            // §8.7: the statement is an empty map.
            guard entries.isEmpty else { throw .malformedAttestationObject("a none statement must be empty") }
        case "packed":
            try verifyPackedSelf(entries: entries, authData: authData, clientDataHash: clientDataHash, credentialKey: credentialKey)
        default:
            throw .unsupportedAttestationFormat(format)
        }
    }

    /// §8.2.1 "if x5c is not present": self attestation, signed by the credential key itself.
    private func verifyPackedSelf(
        entries: [CBORMapEntry], authData: AuthenticatorData, clientDataHash: [UInt8], credentialKey: COSEKey
    ) throws(WebAuthnError) {
        // A chain means full attestation, which needs trust anchors Lamba does not keep.
        if statement[.text("x5c")] != nil { throw .fullAttestationRefused }
        guard let alg = statement[.text("alg")]?.integerValue, let signature = statement[.text("sig")]?.bytesValue,
            entries.count == 2
        else { throw .malformedAttestationObject("a packed self statement is exactly {alg, sig}") }
        // §8.2.1: alg must be the credential public key's.
        guard alg == credentialKey.algorithm.rawValue else { throw .attestationAlgorithmMismatch }
        // §8.2.1: sig is over authenticatorData || clientDataHash.
        guard credentialKey.verify(signature, for: authData.bytes + clientDataHash) else { throw .invalidSignature }
    }
}
