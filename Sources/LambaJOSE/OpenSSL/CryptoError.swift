internal import COpenSSL

/// A failure inside OpenSSL, carrying the library's own text from its error queue.
public struct CryptoError: Error, CustomStringConvertible, Sendable, Equatable {
    /// What Lamba was doing (`"EVP_DigestSign"`, `"import RSA key"`).
    public let operation: String
    /// OpenSSL's error queue at the time of the failure, oldest first.
    public let libraryMessages: [String]

    public init(operation: String, libraryMessages: [String] = []) {
        self.operation = operation
        self.libraryMessages = libraryMessages
    }

    /// Drains the thread's OpenSSL error queue into an error, so that no stale entry leaks into the
    /// next call made on this thread.
    static func drained(_ operation: String) -> CryptoError {
        CryptoError(operation: operation, libraryMessages: OpenSSL.drainErrorQueue())
    }

    public var description: String {
        libraryMessages.isEmpty ? "\(operation) failed" : "\(operation) failed: \(libraryMessages.joined(separator: "; "))"
    }
}

enum OpenSSL {
    static func drainErrorQueue() -> [String] {
        var messages: [String] = []
        while true {
            let code = ERR_get_error()
            if code == 0 { break }
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buffer, buffer.count)
            messages.append(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return messages
    }

    /// Discards queued errors after a failure that is an expected answer (a bad signature), not a fault.
    static func clearErrorQueue() { ERR_clear_error() }

    /// Throws unless an OpenSSL call returned 1, its success value.
    @inline(__always)
    static func check(_ result: Int32, _ operation: @autoclosure () -> String) throws {
        guard result == 1 else { throw CryptoError.drained(operation()) }
    }

    /// Throws when an OpenSSL allocation or lookup returned NULL.
    @inline(__always)
    static func nonNull<T>(_ pointer: T?, _ operation: @autoclosure () -> String) throws -> T {
        guard let pointer else { throw CryptoError.drained(operation()) }
        return pointer
    }
}
