public import LambaModel

/// Transactions over the slice of the store a handler may touch. `Records` names that slice as a
/// composition of the small storage protocols (`any RefreshTokenStorage & SessionWriter & EventLog`),
/// so a handler's fields say which records it reads and writes. Anything the store throws leaves
/// here as an `OAuthError` (`OAuthError.wrap`): the one place store errors meet the protocol.
struct Transactions<Records>: Sendable {
    private let store: any OAuthStore
    private let narrow: @Sendable (any OAuthRecords) -> Records

    init(_ store: any OAuthStore, as narrow: @escaping @Sendable (any OAuthRecords) -> Records) {
        self.store = store
        self.narrow = narrow
    }

    func write<T: Sendable>(_ body: @escaping @Sendable (Records) throws -> T) async throws(OAuthError) -> T {
        let narrow = narrow
        do { return try await store.write { tx in try body(narrow(tx)) } } catch { throw OAuthError.wrap(error) }
    }

    /// A read-only snapshot; writes inside it throw.
    func read<T: Sendable>(_ body: @escaping @Sendable (Records) throws -> T) async throws(OAuthError) -> T {
        let narrow = narrow
        do { return try await store.read { tx in try body(narrow(tx)) } } catch { throw OAuthError.wrap(error) }
    }
}

extension Transactions {
    /// The same transactions over a narrower slice, for a step that touches less than its handler.
    func narrowed<Narrower>(_ narrower: @escaping @Sendable (Records) -> Narrower) -> Transactions<Narrower> {
        let narrow = narrow
        return Transactions<Narrower>(store) { narrower(narrow($0)) }
    }

    /// A write whose body may refuse with a domain rule's `DomainError`, which leaves unchanged for
    /// the caller to show; anything else the store throws becomes an `OAuthError`.
    func writeRefusable<T: Sendable>(_ body: @escaping @Sendable (Records) throws -> T) async throws -> T {
        let narrow = narrow
        do {
            return try await store.write { tx in try body(narrow(tx)) }
        } catch let refusal as DomainError {
            throw refusal
        } catch {
            throw OAuthError.wrap(error)
        }
    }
}
