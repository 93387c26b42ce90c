import Foundation
import LambaJOSE
import LambaModel
import LambaPasswords
import LambaStore
import LambaStoreTestSupport
import Testing

@Suite struct SecondFactorRuleTests {
    /// RFC 6238 Appendix B, SHA-1 rows: the 8-digit codes end in the 6 digits apps show.
    @Test("RFC 6238 Appendix B: the SHA-1 test vectors, truncated to 6 digits", arguments: [
        (59, "94287082"), (1_111_111_109, "07081804"), (1_111_111_111, "14050471"), (1_234_567_890, "89005924"),
        (2_000_000_000, "69279037"), (20_000_000_000, "65353130"),
    ] as [(Int64, String)])
    func rfc6238Vectors(time: Int64, expected: String) {
        let secret = Array("12345678901234567890".utf8)
        let step = TOTP.step(at: Date(timeIntervalSince1970: TimeInterval(time)))
        #expect(TOTP.code(secret: secret, step: step) == String(expected.suffix(6)))
    }

    @Test("RFC 6238 §5.2: one step of drift either way is accepted, two are not, and a used step never again")
    func driftAndReplay() {
        let secret = Array("12345678901234567890".utf8)
        let now = Date(timeIntervalSince1970: 1_111_111_111)
        let step = TOTP.step(at: now)
        #expect(TOTP.matchingStep(TOTP.code(secret: secret, step: step - 1), secret: secret, at: now, after: nil) == step - 1)
        #expect(TOTP.matchingStep(TOTP.code(secret: secret, step: step + 1), secret: secret, at: now, after: nil) == step + 1)
        #expect(TOTP.matchingStep(TOTP.code(secret: secret, step: step + 2), secret: secret, at: now, after: nil) == nil)
        #expect(TOTP.matchingStep(TOTP.code(secret: secret, step: step), secret: secret, at: now, after: step) == nil)
        #expect(TOTP.matchingStep("12345", secret: secret, at: now, after: nil) == nil)
        #expect(TOTP.matchingStep("12345a", secret: secret, at: now, after: nil) == nil)
    }

    @Test("RFC 4648 §10: base32 test vectors without padding")
    func base32Vectors() {
        for (input, output) in [("", ""), ("f", "MY"), ("fo", "MZXQ"), ("foo", "MZXW6"), ("foob", "MZXW6YQ"), ("fooba", "MZXW6YTB"), ("foobar", "MZXW6YTBOI")] {
            #expect(Base32.encode(Array(input.utf8)) == output)
        }
    }

    @Test("the Key URI names the issuer twice and escapes the label (Key Uri Format)")
    func keyURI() {
        let uri = TOTP.keyURI(secret: Array("12345678901234567890".utf8), issuer: "Acme Shop", account: "ada@example.com")
        #expect(uri == "otpauth://totp/Acme%20Shop:ada@example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Acme%20Shop&algorithm=SHA1&digits=6&period=30")
    }

    @Test("recovery codes: ten distinct codes, typed with or without dash and in any case")
    func recoveryCodes() throws {
        let codes = try RecoveryCodes.generate()
        #expect(codes.count == 10 && Set(codes).count == 10)
        let code = try #require(codes.first)
        #expect(RecoveryCodes.normalize(code.uppercased()) == RecoveryCodes.normalize(code.replacingOccurrences(of: "-", with: " ")))
        #expect(RecoveryCodes.normalize("0000000000") == nil, "0 is not in the alphabet")
        #expect(RecoveryCodes.normalize("abc") == nil)
    }

    @Test("enrol, confirm, verify: a code works once, a recovery code once, removal ends both; the secret is sealed", arguments: Backend.underTest)
    func serviceOnBothStores(backend: Backend) async throws {
        try await World.with(backend) { world in
            let user = LambaUser(email: "ada@example.com", emailVerified: true, name: "Ada", passwordHash: nil)
            try await world.identity.write { tx in try tx.insert(user) }
            let factors = SecondFactors(store: world.identity, masterKey: try MasterKey.generate())
            let project = try await world.projects.createProject(world.owner, slug: "shop", name: "Shop", visibility: .private)
            let context = SecondFactors.Context(workspaceID: world.boot.workspace.id, projectID: project.id, environment: .sandbox)
            let enrolment = try await factors.beginTOTPEnrolment(user: user, issuer: "Shop")
            #expect(try await factors.status(userID: user.id).hasSecondFactor == false, "unconfirmed signs nobody in")
            #expect(try await factors.verify(userID: user.id, code: TOTP.code(secret: enrolment.secret, step: TOTP.step(at: Date())), context) == nil)
            let codes = try await factors.confirmTOTP(userID: user.id, code: TOTP.code(secret: enrolment.secret, step: TOTP.step(at: Date())), context)
            await #expect(throws: DomainError.self) { _ = try await factors.beginTOTPEnrolment(user: user, issuer: "Shop") }
            let next = TOTP.code(secret: enrolment.secret, step: TOTP.step(at: Date()) + 1)
            #expect(try await factors.verify(userID: user.id, code: next, context) == .authenticatorApp)
            #expect(try await factors.verify(userID: user.id, code: next, context) == nil, "replay refused")
            #expect(try await factors.verify(userID: user.id, code: codes[3], context) == .recoveryCode)
            #expect(try await factors.verify(userID: user.id, code: codes[3], context) == nil)
            #expect(try await factors.status(userID: user.id).recoveryCodesLeft == 9)
            let fresh = try await factors.regenerateRecoveryCodes(userID: user.id, context)
            #expect(try await factors.verify(userID: user.id, code: codes[4], context) == nil, "earlier codes stop working")
            #expect(try await factors.status(userID: user.id).recoveryCodesLeft == fresh.count)
            try await factors.removeTOTP(userID: user.id, context)
            let removed = try await factors.status(userID: user.id)
            #expect(!removed.hasSecondFactor && removed.recoveryCodesLeft == 0)
            // Another master key cannot open a sealed secret.
            _ = try await factors.beginTOTPEnrolment(user: user, issuer: "Shop")
            let other = SecondFactors(store: world.identity, masterKey: try MasterKey.generate())
            await #expect(throws: (any Error).self) { _ = try await other.pendingEnrolment(user: user, issuer: "Shop") }
        }
    }
}
