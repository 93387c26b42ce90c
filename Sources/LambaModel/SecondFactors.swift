public import Foundation
public import LambaJOSE

/// A user's authenticator app (docs/account-security.md#authenticator-apps): the TOTP secret,
/// sealed under the master key because the server must read it back to check codes, and the last
/// time step a code was accepted for, so that no code works twice (RFC 6238 §5.2).
public struct TOTPCredential: Sendable, Hashable {
    public var userID: String
    /// `MasterKey.seal` of the 20 secret bytes, bound to the user id.
    public var sealedSecret: [UInt8]
    public var createdAt: Date
    /// Nil until the user typed a first code from the app: an unconfirmed secret signs nobody in.
    public var confirmedAt: Date?
    public var lastUsedStep: Int64?

    public init(userID: String, sealedSecret: [UInt8], createdAt: Date, confirmedAt: Date? = nil, lastUsedStep: Int64? = nil) {
        self.userID = userID
        self.sealedSecret = sealedSecret
        self.createdAt = createdAt
        self.confirmedAt = confirmedAt
        self.lastUsedStep = lastUsedStep
    }
}

public protocol SecondFactorReader {
    func totpCredential(userID: String) throws -> TOTPCredential?
    func unusedRecoveryCodeCount(userID: String) throws -> Int
}

public protocol SecondFactorWriter: SecondFactorReader {
    /// Inserts or replaces the user's (unconfirmed) credential.
    func save(_ credential: TOTPCredential) throws
    func confirmTOTPCredential(userID: String, at date: Date) throws
    /// Records `step` as used; false when it, or a later one, was used already (a replay or a race lost).
    func useTOTPStep(userID: String, step: Int64) throws -> Bool
    func deleteTOTPCredential(userID: String) throws -> Bool
    /// The user's recovery codes become exactly these (hashes); earlier ones stop working.
    func replaceRecoveryCodes(userID: String, hashes: [String], at date: Date) throws
    /// Marks one unused code used; false when there is no such unused code.
    func useRecoveryCode(userID: String, hash: String, at date: Date) throws -> Bool
}

/// Time-based one-time passwords (RFC 6238 over RFC 4226 HOTP) as authenticator apps compute them:
/// HMAC-SHA-1, 30-second steps, 6 digits.
public enum TOTP {
    public static let period: Int64 = 30
    public static let digits = 6
    /// Steps either side of now that are still accepted: a clock a little off, a code typed slowly
    /// (RFC 6238 §5.2 recommends at most one).
    public static let allowedDrift: Int64 = 1
    /// 160 bits, the HMAC-SHA-1 block-friendly length RFC 4226 §4 recommends.
    public static let secretByteCount = 20

    public static func step(at date: Date) -> Int64 { Int64(floor(date.timeIntervalSince1970)) / period }

    /// RFC 4226 §5.3: dynamic truncation of HMAC(secret, counter), as `digits` decimal digits.
    public static func code(secret: [UInt8], step: Int64) -> String {
        var counter = [UInt8](repeating: 0, count: 8)
        for index in 0..<8 { counter[7 - index] = UInt8(truncatingIfNeeded: UInt64(bitPattern: step) >> (8 * UInt64(index))) }
        let mac = Digest.hmac(.sha1, key: secret, data: counter)
        let offset = Int(mac[mac.count - 1] & 0x0f)
        let binary = (UInt32(mac[offset] & 0x7f) << 24) | (UInt32(mac[offset + 1]) << 16) | (UInt32(mac[offset + 2]) << 8) | UInt32(mac[offset + 3])
        let value = binary % 1_000_000
        let text = String(value)
        return String(repeating: "0", count: digits - text.count) + text
    }

    /// The step whose code `code` is, within the allowed drift of `date` and after `lastUsedStep`;
    /// nil when none. Every candidate is computed and compared in constant time.
    public static func matchingStep(_ code: String, secret: [UInt8], at date: Date, after lastUsedStep: Int64?) -> Int64? {
        let typed = Array(code.utf8.filter { $0 != UInt8(ascii: " ") })
        guard typed.count == digits, typed.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) else { return nil }
        let now = step(at: date)
        var found: Int64?
        for candidate in (now - allowedDrift)...(now + allowedDrift) {
            let matches = constantTimeEquals(Array(Self.code(secret: secret, step: candidate).utf8), typed)
            if matches, candidate > (lastUsedStep ?? Int64.min), found == nil { found = candidate }
        }
        return found
    }

    /// The Key URI an authenticator app scans: `otpauth://totp/Issuer:account?secret=…&issuer=…`.
    public static func keyURI(secret: [UInt8], issuer: String, account: String) -> String {
        let label = escape(issuer) + ":" + escape(account)
        return "otpauth://totp/\(label)?secret=\(Base32.encode(secret))&issuer=\(escape(issuer))&algorithm=SHA1&digits=\(digits)&period=\(period)"
    }

    private static func escape(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~@")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? ""
    }
}

/// RFC 4648 §6 base32 without padding, the form authenticator apps take a secret in.
public enum Base32 {
    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567".utf8)

    public static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        var buffer: UInt32 = 0
        var bits = 0
        for byte in bytes {
            buffer = (buffer << 8) | UInt32(byte)
            bits += 8
            while bits >= 5 {
                out.append(alphabet[Int((buffer >> UInt32(bits - 5)) & 31)])
                bits -= 5
            }
        }
        if bits > 0 { out.append(alphabet[Int((buffer << UInt32(5 - bits)) & 31)]) }
        return String(decoding: out, as: UTF8.self)
    }
}

/// Single-use codes for when the authenticator app is lost: shown once, stored as SHA-256 hashes
/// (they are random, so a fast hash suffices, as for every Lamba-made secret).
public enum RecoveryCodes {
    public static let count = 10
    /// Lowercase letters and digits without look-alikes (no 0/o, 1/l/i).
    static let alphabet = Array("abcdefghjkmnpqrstuvwxyz23456789".utf8)

    /// `count` fresh codes of ten characters from a 31-letter alphabet (about 50 bits each), shown as `xxxxx-xxxxx`.
    public static func generate() throws -> [String] {
        try (0..<count).map { _ in
            var code: [UInt8] = []
            // Rejection sampling keeps every letter equally likely.
            while code.count < 10 {
                for byte in try SecureRandom.bytes(16) where byte < 248 && code.count < 10 { code.append(alphabet[Int(byte) % alphabet.count]) }
            }
            return String(decoding: code.prefix(5), as: UTF8.self) + "-" + String(decoding: code.suffix(5), as: UTF8.self)
        }
    }

    /// What the user typed, as stored: lowercase, without the dash or spaces. Nil when it cannot be a code.
    public static func normalize(_ typed: String) -> String? {
        let letters = typed.lowercased().utf8.filter { $0 != UInt8(ascii: "-") && $0 != UInt8(ascii: " ") }
        guard letters.count == 10, letters.allSatisfy(alphabet.contains) else { return nil }
        return String(decoding: letters, as: UTF8.self)
    }

    public static func hash(_ normalized: String) -> String { OpaqueSecret.hash(normalized) }
}

extension EventType {
    public static let userTOTPEnrolled: EventType = "user.totp_enrolled"
    public static let userTOTPRemoved: EventType = "user.totp_removed"
    public static let userRecoveryCodesGenerated: EventType = "user.recovery_codes_generated"
    public static let userRecoveryCodeUsed: EventType = "user.recovery_code_used"
    /// A signed-in session proved a second factor (step-up, OIDC Core §3.1.2.1 `acr_values`).
    public static let sessionSteppedUp: EventType = "session.stepped_up"
}

/// Enrolment and checks of second factors (docs/account-security.md): one authenticator app per
/// user, with ten recovery codes. Every change is an event in the same transaction.
public struct SecondFactors: Sendable {
    public typealias Context = AccountRecovery.Context

    /// How a second factor was proven, and the RFC 8176 `amr` values it adds.
    public enum Proof: String, Sendable {
        case authenticatorApp = "otp"
        case recoveryCode = "recovery_code"
    }

    /// A secret waiting for its first code: what the enrolment page shows.
    public struct Enrolment: Sendable {
        public var secret: [UInt8]
        public var keyURI: String
        public var base32Secret: String { Base32.encode(secret) }
    }

    public struct Status: Sendable, Equatable {
        public var totpConfirmedAt: Date?
        public var recoveryCodesLeft: Int
        public var hasSecondFactor: Bool { totpConfirmedAt != nil }
    }

    let store: any IdentityStore
    let masterKey: MasterKey
    let clock: WallClock

    public init(store: any IdentityStore, masterKey: MasterKey, clock: WallClock = .system) {
        self.store = store
        self.masterKey = masterKey
        self.clock = clock
    }

    static func associatedData(_ userID: String) -> [UInt8] { Array("lamba totp v1:\(userID)".utf8) }

    public func status(userID: String) async throws -> Status {
        try await store.read { tx in try Self.status(tx, userID: userID) }
    }

    public static func status(_ tx: any SecondFactorReader, userID: String) throws -> Status {
        let credential = try tx.totpCredential(userID: userID)
        return Status(totpConfirmedAt: credential?.confirmedAt, recoveryCodesLeft: try tx.unusedRecoveryCodeCount(userID: userID))
    }

    /// A new secret for the user's app, replacing an unconfirmed one; refused while a confirmed app
    /// exists (removing it is its own, re-authenticated step).
    public func beginTOTPEnrolment(user: LambaUser, issuer: String) async throws -> Enrolment {
        let secret = try SecureRandom.bytes(TOTP.secretByteCount)
        let sealed = try masterKey.seal(secret, associatedData: Self.associatedData(user.id))
        let now = clock.now()
        try await store.write { tx in
            if try tx.totpCredential(userID: user.id)?.confirmedAt != nil {
                throw DomainError.conflict("an authenticator app is set up already: remove it before adding another")
            }
            try tx.save(TOTPCredential(userID: user.id, sealedSecret: sealed, createdAt: now))
        }
        return Enrolment(secret: secret, keyURI: TOTP.keyURI(secret: secret, issuer: issuer, account: user.email))
    }

    /// The enrolment in progress, to show again after a mistyped code; nil when there is none.
    public func pendingEnrolment(user: LambaUser, issuer: String) async throws -> Enrolment? {
        guard let credential = try await store.read({ tx in try tx.totpCredential(userID: user.id) }), credential.confirmedAt == nil else { return nil }
        let secret = try masterKey.open(credential.sealedSecret, associatedData: Self.associatedData(user.id))
        return Enrolment(secret: secret, keyURI: TOTP.keyURI(secret: secret, issuer: issuer, account: user.email))
    }

    /// Confirms the pending secret with a code from the app and returns fresh recovery codes, shown
    /// once. The confirming code counts as used.
    public func confirmTOTP(userID: String, code: String, _ context: Context) async throws -> [String] {
        let codes = try RecoveryCodes.generate()
        let now = clock.now()
        let masterKey = self.masterKey
        return try await store.write { tx in
            guard let credential = try tx.totpCredential(userID: userID), credential.confirmedAt == nil else {
                throw DomainError.refused("there is no authenticator app waiting to be confirmed: start again")
            }
            let secret = try masterKey.open(credential.sealedSecret, associatedData: Self.associatedData(userID))
            guard let step = TOTP.matchingStep(code, secret: secret, at: now, after: nil), try tx.useTOTPStep(userID: userID, step: step) else {
                throw DomainError.invalid(field: "code", reason: "is not right: type the 6 digits the app shows now")
            }
            try tx.confirmTOTPCredential(userID: userID, at: now)
            try tx.replaceRecoveryCodes(userID: userID, hashes: codes.compactMap(RecoveryCodes.normalize).map(RecoveryCodes.hash), at: now)
            try Self.append(tx, .userTOTPEnrolled, userID: userID, context, now)
            try Self.append(tx, .userRecoveryCodesGenerated, userID: userID, context, now, ["count": .integer(Int64(codes.count))])
            return codes
        }
    }

    /// Checks a second factor at sign-in: a code of the confirmed app (each step once), or an
    /// unused recovery code. Nil when neither matches; the caller counts the failure.
    public func verify(userID: String, code: String, _ context: Context) async throws -> Proof? {
        let now = clock.now()
        let masterKey = self.masterKey
        return try await store.write { tx in
            guard let credential = try tx.totpCredential(userID: userID), credential.confirmedAt != nil else { return nil }
            if let recovery = RecoveryCodes.normalize(code) {
                guard try tx.useRecoveryCode(userID: userID, hash: RecoveryCodes.hash(recovery), at: now) else { return nil }
                try Self.append(tx, .userRecoveryCodeUsed, userID: userID, context, now,
                                ["recovery_codes_left": .integer(Int64(try tx.unusedRecoveryCodeCount(userID: userID)))])
                return .recoveryCode
            }
            let secret = try masterKey.open(credential.sealedSecret, associatedData: Self.associatedData(userID))
            guard let step = TOTP.matchingStep(code, secret: secret, at: now, after: credential.lastUsedStep),
                  try tx.useTOTPStep(userID: userID, step: step)
            else { return nil }
            return .authenticatorApp
        }
    }

    /// Removes the app and its recovery codes.
    public func removeTOTP(userID: String, _ context: Context) async throws {
        let now = clock.now()
        try await store.write { tx in
            guard try tx.deleteTOTPCredential(userID: userID) else { throw DomainError.notFound("no authenticator app is set up") }
            try tx.replaceRecoveryCodes(userID: userID, hashes: [], at: now)
            try Self.append(tx, .userTOTPRemoved, userID: userID, context, now)
        }
    }

    /// Ten new recovery codes; the earlier ones stop working.
    public func regenerateRecoveryCodes(userID: String, _ context: Context) async throws -> [String] {
        let codes = try RecoveryCodes.generate()
        let now = clock.now()
        return try await store.write { tx in
            guard try tx.totpCredential(userID: userID)?.confirmedAt != nil else {
                throw DomainError.refused("recovery codes come with an authenticator app: set one up first")
            }
            try tx.replaceRecoveryCodes(userID: userID, hashes: codes.compactMap(RecoveryCodes.normalize).map(RecoveryCodes.hash), at: now)
            try Self.append(tx, .userRecoveryCodesGenerated, userID: userID, context, now, ["count": .integer(Int64(codes.count))])
            return codes
        }
    }

    static func append(_ tx: any EventLog, _ type: EventType, userID: String, _ context: Context, _ now: Date,
                       _ extra: JSONObject = [:]) throws {
        var data = extra
        data["user_id"] = .string(userID)
        try tx.append(DomainEvent(type: type, actor: userID, workspaceID: context.workspaceID, projectID: context.projectID,
                                  environment: context.environment, occurredAt: now, data: data))
    }
}
