internal import CArgon2
import LambaJOSE

/// Argon2id password hashing (RFC 9106) with OWASP's parameters, as PHC strings
/// (`$argon2id$v=19$m=19456,t=2,p=1$salt$hash`). Only for low-entropy, user-chosen passwords: random
/// secrets are hashed with SHA-256 instead, off this slow path.
///
/// Hashing takes tens of milliseconds of CPU by design; callers run it off event loops.
public enum PasswordHasher {
    public struct Parameters: Sendable, Equatable {
        public var iterations: UInt32
        public var memoryKiB: UInt32
        public var parallelism: UInt32

        /// OWASP Password Storage Cheat Sheet: Argon2id, 19 MiB, 2 iterations, 1 lane.
        public static let owasp = Parameters(iterations: 2, memoryKiB: 19 * 1024, parallelism: 1)
    }

    public enum Failure: Error, Sendable, Equatable, CustomStringConvertible {
        case tooLong
        case library(String)

        public var description: String {
            switch self {
            case .tooLong: "password longer than \(PasswordHasher.maximumLength) bytes"
            case .library(let message): "argon2: \(message)"
            }
        }
    }

    /// Longer inputs are refused so a request cannot make hashing arbitrarily expensive.
    public static let maximumLength = 1024
    static let saltLength = 16
    static let hashLength = 32

    public static func hash(_ password: String, parameters: Parameters = .owasp) throws -> String {
        let bytes = Array(password.utf8)
        guard bytes.count <= maximumLength else { throw Failure.tooLong }
        let salt = try SecureRandom.bytes(saltLength)
        let length = argon2_encodedlen(parameters.iterations, parameters.memoryKiB, parameters.parallelism,
                                       UInt32(saltLength), UInt32(hashLength), Argon2_id)
        var encoded = [CChar](repeating: 0, count: length)
        let result = argon2id_hash_encoded(parameters.iterations, parameters.memoryKiB, parameters.parallelism,
                                           bytes, bytes.count, salt, salt.count, hashLength, &encoded, length)
        guard result == ARGON2_OK.rawValue else { throw Failure.library(String(cString: argon2_error_message(result))) }
        return String(decoding: encoded.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Checks a password against a PHC string in constant time (argon2's own comparison). A
    /// malformed stored hash verifies as false.
    public static func verify(_ password: String, against encoded: String) -> Bool {
        let bytes = Array(password.utf8)
        guard bytes.count <= maximumLength, encoded.hasPrefix("$argon2id$") else { return false }
        return argon2id_verify(encoded, bytes, bytes.count) == ARGON2_OK.rawValue
    }

    /// A precomputed hash to verify against when the user does not exist, so that a login for an
    /// unknown email costs the same time as one for a known email.
    public static let decoyHash: String = (try? hash(String(decoding: (try? SecureRandom.bytes(24)) ?? [], as: UTF8.self))) ?? ""
}

import Foundation

extension PasswordHasher {
    /// `hash`, run on Lamba's password-hashing threads so that tens of milliseconds of Argon2 never
    /// occupy Swift's cooperative pool or an event loop. At most one hash per core runs at a time;
    /// more requests wait their turn there, not on the pool.
    public static func hashOffPool(_ password: String, parameters: Parameters = .owasp) async throws -> String {
        try await HashingThreads.run { try hash(password, parameters: parameters) }
    }

    /// `verify`, run on the password-hashing threads.
    public static func verifyOffPool(_ password: String, against encoded: String) async -> Bool {
        (try? await HashingThreads.run { verify(password, against: encoded) }) ?? false
    }
}

enum HashingThreads {
    private static let queue = DispatchQueue(label: "lamba.password-hashing", attributes: .concurrent)
    private static let slots = DispatchSemaphore(value: max(1, ProcessInfo.processInfo.activeProcessorCount))

    static func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async {
                slots.wait()
                defer { slots.signal() }
                continuation.resume(with: Result { try work() })
            }
        }
    }
}
