import Foundation
import LambaOAuth
import LambaStore
import LambaStoreTestSupport
import Testing

extension StoreTests {
    /// The sign-in throttle's records on both databases: keyed by Workspace and email hash, replaced
    /// in place, deleted on success, and expired rows cleaned up a bounded batch at a time.
    @Suite("sign-in throttle records")
    struct SignInThrottleRecords {
        static let t0 = Date(timeIntervalSince1970: 1_900_000_000)

        func record(_ workspace: String, _ hash: String, failures: Int = 1, expiresAt: Date = t0.addingTimeInterval(900)) -> SignInThrottleRecord {
            SignInThrottleRecord(workspaceID: workspace, emailHash: hash, failures: failures, windowStartedAt: Self.t0, lockouts: 0, lockedUntil: nil,
                                 expiresAt: expiresAt)
        }

        @Test("a record is per Workspace and email hash, replaced by a save and gone after delete", arguments: Backend.underTest)
        func record_perWorkspaceAndEmail(backend: Backend) async throws {
            try await withStore(backend) { store in
                let oauth = SQLOAuthStore(store: store)
                var locked = record("ws_1", "h1", failures: 0)
                locked.lockouts = 1
                locked.lockedUntil = Self.t0.addingTimeInterval(60)
                try await oauth.write { tx in
                    try tx.save(record("ws_1", "h1", failures: 4), now: Self.t0)
                    try tx.save(record("ws_2", "h1", failures: 2), now: Self.t0)
                }
                try await oauth.write { [locked] tx in try tx.save(locked, now: Self.t0) }
                #expect(try await oauth.read { try $0.signInThrottle(workspaceID: "ws_1", emailHash: "h1") } == locked)
                #expect(try await oauth.read { try $0.signInThrottle(workspaceID: "ws_2", emailHash: "h1") }?.failures == 2)
                #expect(try await oauth.read { try $0.signInThrottle(workspaceID: "ws_1", emailHash: "h2") } == nil)
                try await oauth.write { tx in try tx.deleteSignInThrottle(workspaceID: "ws_1", emailHash: "h1") }
                #expect(try await oauth.read { try $0.signInThrottle(workspaceID: "ws_1", emailHash: "h1") } == nil)
                #expect(try await oauth.read { try $0.signInThrottle(workspaceID: "ws_2", emailHash: "h1") } != nil)
            }
        }

        @Test("a save deletes at most one bounded batch of expired records", arguments: Backend.underTest)
        func save_cleansUpExpiredInBatches(backend: Backend) async throws {
            try await withStore(backend) { store in
                let oauth = SQLOAuthStore(store: store)
                let expired = (0..<40).map { record("ws_1", "old-\($0)", expiresAt: Self.t0.addingTimeInterval(-1)) }
                try await oauth.write { tx in for row in expired { try tx.save(row, now: Self.t0.addingTimeInterval(-100)) } }
                #expect(try await count(store, "SELECT COUNT(*) AS count FROM sign_in_throttles") == 40)
                try await oauth.write { tx in try tx.save(record("ws_1", "new"), now: Self.t0) }
                #expect(try await count(store, "SELECT COUNT(*) AS count FROM sign_in_throttles") == 40 - 32 + 1)
                try await oauth.write { tx in try tx.save(record("ws_1", "new", failures: 2), now: Self.t0) }
                #expect(try await count(store, "SELECT COUNT(*) AS count FROM sign_in_throttles") == 1)
            }
        }
    }
}
