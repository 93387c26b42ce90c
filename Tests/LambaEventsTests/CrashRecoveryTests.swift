import Foundation
import LambaJOSE
import LambaModel
import LambaServer
import LambaStore
import LambaStoreTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The real `lamba serve` binary, killed with SIGKILL while deliveries are being retried, on each store.
@Suite struct CrashRecoveryTests {
    @Test(arguments: Backend.underTest) func killDashNine_midRetry_restart_nothingLost_payloadsByteIdentical(backend: Backend) async throws {
        let fixture = try await EventsFixture.make(backend)
        let receiver = try await Receiver.start()
        try await fixture.endpoint(receiver, "crash")
        // Every event fails its first three tries, so the process is mid-retry for all of them.
        receiver.configure("crash") { $0.failFirst = 3 }
        let ids = try await fixture.writeEvents(30)
        let database = fixture.database, masterKey = fixture.masterKey
        await fixture.store.close()
        // The working directory of the processes: where a development key would go, never used here.
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("lamba-crash-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer {
            try? FileManager.default.removeItem(at: directory)
            TestDatabases.remove(database)
        }

        let first = try launchLamba(directory: directory, database: database, masterKey: masterKey)
        try await eventually(timeout: .seconds(60), "retries under way") {
            receiver.deliveries("crash").count >= 45 && !receiver.acceptedIDs("crash").isSuperset(of: ids)
        }
        kill(first.processIdentifier, SIGKILL)
        first.waitUntilExit()
        #expect(first.terminationReason == .uncaughtSignal)
        #expect(!receiver.acceptedIDs("crash").isSuperset(of: ids), "the kill happened before everything was delivered")

        let second = try launchLamba(directory: directory, database: database, masterKey: masterKey)
        defer {
            second.terminate()
            second.waitUntilExit()
        }
        try await eventually(timeout: .seconds(90), "every event after the restart") { receiver.acceptedIDs("crash").isSuperset(of: ids) }

        let received = receiver.deliveries("crash")
        #expect(received.allSatisfy { $0.verified })
        for id in ids {
            let bodies = Set(received.filter { $0.id == id }.map(\.body))
            #expect(bodies.count == 1, "all attempts of \(id), before and after the kill, carry the same bytes")
        }
        await receiver.stop()
    }

    private func launchLamba(directory: URL, database: DatabaseURL, masterKey: MasterKey) throws -> Process {
        let process = Process()
        process.executableURL = try BuiltExecutables.url("lamba")
        // Test clusters trust their user: the URL has no password for `description` to hide.
        process.arguments = ["serve", "--port", "0", "--database", database.description]
        process.currentDirectoryURL = directory
        var environment = ProcessInfo.processInfo.environment
        environment["LAMBA_MASTER_KEY"] = masterKey.encoded
        environment["LAMBA_LOG_LEVEL"] = "error"
        environment["LAMBA_WEBHOOK_POLL_MS"] = "20"
        environment["LAMBA_WEBHOOK_BACKOFF_BASE_MS"] = "400"
        environment["LAMBA_WEBHOOK_BACKOFF_CAP_MS"] = "800"
        environment["LAMBA_WEBHOOK_TIMEOUT_MS"] = "2000"
        environment["LAMBA_WEBHOOK_LEASE_MS"] = "3000"
        process.environment = environment
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        return process
    }
}
