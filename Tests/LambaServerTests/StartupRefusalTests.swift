import Foundation
import LambaJOSE
import LambaPostgres
import LambaStore
import LambaStoreTestSupport
import Synchronization
import Testing
#if canImport(Glibc)
import Glibc
#endif
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `lamba serve` refuses to run wrong (docs/startup.md): each test runs the built `lamba` in a fresh
/// directory, with only the settings it names, and asserts its exit status, its message and what it
/// left on disk.
@Suite("lamba serve refuses to run wrong")
struct StartupRefusalTests {
    /// ArgumentParser's status for a `ValidationError` (EX_USAGE), and for any other error.
    static let usageStatus: Int32 = 64
    static let failureStatus: Int32 = 1

    // MARK: The port

    @Test("a busy port is refused naming its address, before any data, directory or dev key is made")
    func busyPort_isRefusedNamingTheAddress_andCreatesNothing() async throws {
        let directory = try Scratch.directory()
        defer { Scratch.remove(directory) }
        let listener = try HeldPort()
        defer { listener.close() }

        // Default database and no LAMBA_MASTER_KEY: a start that got past the bind would make ./data and Keys/dev.
        let byFlag = try await LambaProcess.run(["serve", "--port", "\(listener.port)"], in: directory)
        #expect(byFlag.status == Self.failureStatus, "\(byFlag.stderr)")
        #expect(byFlag.stderr.contains("127.0.0.1:\(listener.port) is already in use (--host/LAMBA_HOST, --port/LAMBA_PORT)"), "\(byFlag.stderr)")
        #expect(try Scratch.contents(directory) == [])

        let byVariable = try await LambaProcess.run(["serve"], in: directory, environment: ["LAMBA_PORT": "\(listener.port)"])
        #expect(byVariable.status == Self.failureStatus, "\(byVariable.stderr)")
        #expect(byVariable.stderr.contains("127.0.0.1:\(listener.port) is already in use"), "\(byVariable.stderr)")
        #expect(try Scratch.contents(directory) == [])
    }

    @Test("an address that is not this machine's is refused naming it, and nothing is made")
    func foreignAddress_isRefusedNamingIt() async throws {
        let directory = try Scratch.directory()
        defer { Scratch.remove(directory) }
        // TEST-NET-3 (RFC 5737): never an address of this machine.
        let result = try await LambaProcess.run(["serve", "--host", "203.0.113.7", "--port", "0"], in: directory)
        #expect(result.status == Self.failureStatus, "\(result.stderr)")
        #expect(result.stderr.contains("203.0.113.7:0 is not an address of this machine (--host/LAMBA_HOST, --port/LAMBA_PORT)"), "\(result.stderr)")
        #expect(try Scratch.contents(directory) == [])
    }

    @Test("SIGTERM while clients keep connecting stops the server cleanly, never with NIO's unfinished-writer trap (signal 4)")
    func sigtermWhileClientsConnect_exitsZero() async throws {
        let directory = try Scratch.directory()
        defer { Scratch.remove(directory) }
        for _ in 0..<5 {
            let server = try await ServingLamba.start(["serve", "--port", "0"], in: directory, environment: ["LAMBA_MASTER_KEY": Keys.first])
            let port = server.port
            let connecting = Task.detached { () -> [Int32] in
                var descriptors: [Int32] = []
                while !Task.isCancelled, descriptors.count < 400 { descriptors += HeldPort.connect(to: port, count: 8) }
                return descriptors
            }
            try await Task.sleep(for: .milliseconds(20))
            let status = try await server.stop()
            connecting.cancel()
            for descriptor in await connecting.value { Glibc.close(descriptor) }
            #expect(status == 0, "\(server.stderr)")
        }
    }

    // MARK: Settings

    @Test("every refused setting is named by its flag and its variable (or its variable, when it has no flag), before anything is made")
    func invalidSettings_nameFlagAndVariable() async throws {
        let directory = try Scratch.directory()
        defer { Scratch.remove(directory) }
        let cases: [(arguments: [String], environment: [String: String], message: String)] = [
            (["--port", "70000"], [:], "--port/LAMBA_PORT: must be between 0 and 65535, got 70000"),
            (["--port", "eighty"], [:], "--port/LAMBA_PORT: must be an integer, got \"eighty\""),
            ([], ["LAMBA_PORT": "eighty"], "--port/LAMBA_PORT: must be an integer, got \"eighty\""),
            (["--host", ""], [:], "--host/LAMBA_HOST: must not be empty"),
            (["--public-url", "ftp://id.example"], [:], "--public-url/LAMBA_PUBLIC_URL: must use http or https, got ftp"),
            ([], ["LAMBA_PUBLIC_URL": "https://id.example/?x=1"], "--public-url/LAMBA_PUBLIC_URL: must not have a query or fragment"),
            (["--database", "mysql://x"], [:], "--database/LAMBA_DATABASE_URL: expected sqlite:///path or postgres://…"),
            ([], ["LAMBA_DATABASE_URL": "mysql://x"], "--database/LAMBA_DATABASE_URL: expected sqlite:///path or postgres://…"),
            ([], ["LAMBA_LOG_LEVEL": "loud"], "invalid configuration: LAMBA_LOG_LEVEL: must be one of"),
            ([], ["LAMBA_IDLE_TIMEOUT_SECONDS": "0"], "invalid configuration: LAMBA_IDLE_TIMEOUT_SECONDS: must be between 1 and 3600 seconds, got 0"),
            ([], ["LAMBA_WEBHOOK_POLL_MS": "soon"], "invalid configuration: LAMBA_WEBHOOK_POLL_MS: must be a positive integer"),
            ([], ["LAMBA_SMTP_URL": "smtp://mail.example?tls_verify=false"], "invalid configuration: LAMBA_SMTP_URL: "),
            ([], ["LAMBA_MAIL_FROM": "not an address"], "invalid configuration: LAMBA_MAIL_FROM: "),
            ([], ["LAMBA_MASTER_KEY": "too-short"], "invalid configuration: LAMBA_MASTER_KEY: must be 32 bytes as base64url or hex"),
        ]
        for (arguments, environment, message) in cases {
            // A free port, unless the case is about the port (a flag would hide its variable).
            let port = arguments.contains("--port") || environment["LAMBA_PORT"] != nil ? [] : ["--port", "0"]
            let result = try await LambaProcess.run(["serve"] + port + arguments, in: directory, environment: environment)
            #expect(result.status == Self.usageStatus, "\(arguments) \(environment): \(result.stderr)")
            #expect(result.stderr.contains("Error: " + (message.hasPrefix("invalid configuration") ? message : "invalid configuration: " + message)),
                    "\(arguments) \(environment): \(result.stderr)")
            #expect(try Scratch.contents(directory) == [], "\(arguments) \(environment)")
        }
    }

    // MARK: The SQLite file

    @Test("a named SQLite file in a missing directory is refused, by flag and by variable, and nothing is made")
    func namedSQLiteFileInMissingDirectory_isRefused() async throws {
        let directory = try Scratch.directory()
        defer { Scratch.remove(directory) }
        let missing = directory.appendingPathComponent("no-such-dir").path
        let url = "sqlite://\(missing)/lamba.sqlite"
        let expected = "--database/LAMBA_DATABASE_URL: the directory \(missing) of \(url) does not exist; create it first"

        let byFlag = try await LambaProcess.run(["serve", "--port", "0", "--database", url], in: directory)
        #expect(byFlag.status == Self.usageStatus, "\(byFlag.stderr)")
        #expect(byFlag.stderr.contains(expected), "\(byFlag.stderr)")

        let byVariable = try await LambaProcess.run(["serve", "--port", "0"], in: directory, environment: ["LAMBA_DATABASE_URL": url])
        #expect(byVariable.status == Self.usageStatus, "\(byVariable.stderr)")
        #expect(byVariable.stderr.contains(expected), "\(byVariable.stderr)")

        // The other commands that open a store refuse it alike.
        let migrate = try await LambaProcess.run(["migrate", "--database", url], in: directory)
        #expect(migrate.status == Self.usageStatus, "\(migrate.stderr)")
        #expect(migrate.stderr.contains(expected), "\(migrate.stderr)")

        #expect(!FileManager.default.fileExists(atPath: missing))
        #expect(try Scratch.contents(directory) == [])
    }

    @Test("the embedded default still gets its directory: ./data/lamba.sqlite is made and served")
    func defaultDatabase_getsItsDirectory() async throws {
        let directory = try Scratch.directory()
        defer { Scratch.remove(directory) }
        let server = try await ServingLamba.start(["serve", "--port", "0"], in: directory, environment: ["LAMBA_MASTER_KEY": Keys.first])
        let health = try await server.get("/healthz")
        #expect(health == 200)
        #expect(FileManager.default.fileExists(atPath: directory.appendingPathComponent("data/lamba.sqlite").path))
        // Bound before the data is made, so the demo's issuer has the real port, not 0.
        #expect(server.stderr.contains("issuer=http://127.0.0.1:\(server.port)/p/demo/sandbox"), "\(server.stderr)")
        #expect(try await server.stop() == 0)
    }

    // MARK: The master key

    @Test("another master key is refused on a database that holds the check value; the right one still starts",
          arguments: StartupRefusalTests.StoreUnderTest.all)
    func otherMasterKey_isRefused(store: StoreUnderTest) async throws {
        try await store.withDatabase { directory, url in
            let first = try await ServingLamba.start(["serve", "--port", "0", "--database", url], in: directory,
                                                     environment: ["LAMBA_MASTER_KEY": Keys.first])
            #expect(try await first.get("/healthz") == 200)
            #expect(try await first.stop() == 0)
            #expect(try await Database.checkValueOpens(url, under: Keys.first))

            let other = try await LambaProcess.run(["serve", "--port", "0", "--database", url], in: directory,
                                                   environment: ["LAMBA_MASTER_KEY": Keys.second])
            #expect(other.status == Self.failureStatus, "\(other.stderr)")
            #expect(other.stderr.contains("Error: LAMBA_MASTER_KEY does not open the keys of \(Database.printed(url)) (its check value does not open under it)"),
                    "\(other.stderr)")
            #expect(!other.stderr.contains("address=http"), "the refused server never served")

            // Unset, with no dev key file: no new dev key is made up for a database that seals secrets.
            let unset = try await LambaProcess.run(["serve", "--port", "0", "--database", url], in: directory)
            #expect(unset.status == Self.failureStatus, "\(unset.stderr)")
            #expect(unset.stderr.contains("LAMBA_MASTER_KEY is not set and Keys/dev/master.key does not exist, but \(Database.printed(url)) holds secrets sealed under a master key"),
                    "\(unset.stderr)")
            #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("Keys").path))

            let again = try await ServingLamba.start(["serve", "--port", "0", "--database", url], in: directory,
                                                     environment: ["LAMBA_MASTER_KEY": Keys.first])
            #expect(try await again.stop() == 0)
            #expect(try await Database.checkValueOpens(url, under: Keys.first))
        }
    }

    @Test("a database from before the check value is verified by opening a signing key, then gets the check value",
          arguments: StartupRefusalTests.StoreUnderTest.all)
    func databaseWithoutCheckValue_isVerifiedBySigningKey(store: StoreUnderTest) async throws {
        try await store.withDatabase { directory, url in
            // Signing keys sealed under the first key, and then the database as it was before version 60 wrote a check value.
            let demo = try await LambaProcess.run(["demo", "--json", "--database", url], in: directory)
            #expect(demo.status == 0, "\(demo.stderr)")
            let rotate = try await LambaProcess.run(["keys", "rotate", "--project", "demo", "--environment", "sandbox", "--database", url],
                                                    in: directory, environment: ["LAMBA_MASTER_KEY": Keys.first])
            #expect(rotate.status == 0, "\(rotate.stderr)")
            let kids = try await Database.withStore(url) { store in
                try await store.withTransaction { tx in try tx.execute("DELETE FROM master_key_check") }
                return try await store.read { try $0.query("SELECT kid FROM signing_keys").map { try $0.string("kid") } }
            }
            #expect(!kids.isEmpty)

            let other = try await LambaProcess.run(["serve", "--port", "0", "--database", url], in: directory,
                                                   environment: ["LAMBA_MASTER_KEY": Keys.second])
            #expect(other.status == Self.failureStatus, "\(other.stderr)")
            #expect(other.stderr.contains("Error: LAMBA_MASTER_KEY does not open the keys of \(Database.printed(url)) (its signing key "),
                    "\(other.stderr)")
            #expect(kids.contains { other.stderr.contains("signing key \($0) does not open under it") }, "\(other.stderr)")
            #expect(try await Database.withStore(url) { store in try await store.read { try $0.query("SELECT id FROM master_key_check") }.isEmpty },
                    "a refused start writes no check value")

            let right = try await ServingLamba.start(["serve", "--port", "0", "--database", url], in: directory,
                                                     environment: ["LAMBA_MASTER_KEY": Keys.first])
            #expect(right.stderr.contains("check=verifiedBySigningKey"), "\(right.stderr)")
            #expect(try await right.stop() == 0)
            #expect(try await Database.checkValueOpens(url, under: Keys.first))
        }
    }
}

// MARK: - Support

extension StartupRefusalTests {

    /// Two valid master keys, as `LAMBA_MASTER_KEY` holds them (hex).
    enum Keys {
        static let first = String(repeating: "11", count: 32)
        static let second = String(repeating: "22", count: 32)
    }

    /// The stores a master-key test runs on: a SQLite file always, PostgreSQL where its binaries are
    /// installed (and must be, under LAMBA_TEST_REQUIRE_POSTGRES=1).
    enum StoreUnderTest: String, CaseIterable, Sendable, CustomTestStringConvertible {
        case sqlite
        case postgres

        static var all: [StoreUnderTest] { PostgresCluster.binDir != nil || PostgresCluster.isRequired ? [.sqlite, .postgres] : [.sqlite] }
        var testDescription: String { rawValue }

        /// A scratch directory to run `lamba` in and a fresh, empty database URL.
        func withDatabase(_ body: (URL, String) async throws -> Void) async throws {
            let directory = try Scratch.directory()
            defer { Scratch.remove(directory) }
            switch self {
            case .sqlite:
                try await body(directory, "sqlite://" + directory.appendingPathComponent("lamba.sqlite").path)
            case .postgres:
                let cluster = try PostgresCluster()
                defer { cluster.destroy() }
                try await body(directory, try cluster.createDatabase("startup"))
            }
        }
    }

    enum Database {
        static func withStore<T: Sendable>(_ url: String, _ body: (any Store) async throws -> T) async throws -> T {
            let store = try await StoreFactory.open(DatabaseURL(parsing: url), poolSize: 1)
            do {
                let value = try await body(store)
                await store.close()
                return value
            } catch {
                await store.close()
                throw error
            }
        }

        /// Whether the database holds a check value, and it opens under `key` (verifying writes nothing then).
        static func checkValueOpens(_ url: String, under key: String) async throws -> Bool {
            try await withStore(url) { store in
                guard try await !store.read({ try $0.query("SELECT id FROM master_key_check") }).isEmpty else { return false }
                return try await MasterKeyCheck.verify(MasterKey(encoded: key), in: store) == .verified
            }
        }

        static func printed(_ url: String) -> String {
            (try? DatabaseURL(parsing: url).description) ?? url
        }
    }

    enum Scratch {
        static func directory() throws -> URL {
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("lamba-startup-\(UUID().uuidString.prefix(8))")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            return directory
        }

        static func contents(_ directory: URL) throws -> [String] {
            try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
        }

        static func remove(_ directory: URL) {
            try? FileManager.default.removeItem(at: directory)
        }
    }

    /// A port of 127.0.0.1 held by a listening socket of this process.
    final class HeldPort: Sendable {
        let port: Int
        private let descriptor: Int32

        init() throws {
            let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard descriptor >= 0 else { throw TestSetupFailure("socket: errno \(errno)") }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            address.sin_port = 0
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let bound = withUnsafeMutablePointer(to: &address) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address in
                    bind(descriptor, address, length) == 0 && listen(descriptor, 8) == 0 && getsockname(descriptor, address, &length) == 0
                }
            }
            guard bound else {
                Glibc.close(descriptor)
                throw TestSetupFailure("bind/listen: errno \(errno)")
            }
            self.descriptor = descriptor
            self.port = Int(UInt16(bigEndian: address.sin_port))
        }

        func close() { Glibc.close(descriptor) }

        /// Up to `count` connections to 127.0.0.1:`port`, each completed by the kernel whether or not it is served.
        static func connect(to port: Int, count: Int) -> [Int32] {
            (0..<count).compactMap { _ in
                let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
                guard descriptor >= 0 else { return nil }
                var address = sockaddr_in()
                address.sin_family = sa_family_t(AF_INET)
                address.sin_port = in_port_t(UInt16(port).bigEndian)
                address.sin_addr.s_addr = inet_addr("127.0.0.1")
                let connected = withUnsafePointer(to: &address) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
                }
                if !connected { Glibc.close(descriptor) }
                return connected ? descriptor : nil
            }
        }
    }

    struct TestSetupFailure: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    /// One run of the built `lamba` binary, with its output collected as it arrives.
    /// Unchecked: `Process` is not marked Sendable; after `run()` this only reads its pid-bound state and signals it.
    final class LambaProcess: @unchecked Sendable {
        struct Result: Sendable {
            let status: Int32
            let stdout: String
            let stderr: String
        }

        /// What the pipes and the termination handler deliver, from Foundation's threads.
        final class Collected: Sendable {
            let output = Mutex((stdout: Data(), stderr: Data()))
            let exit = Mutex<Int32?>(nil)
        }

        private let process: Process
        private let collected = Collected()

        /// Only PATH and HOME of the test's environment pass on, so no LAMBA_ setting of the machine leaks in.
        init(_ arguments: [String], in directory: URL, environment: [String: String]) throws {
            let process = Process()
            process.executableURL = try Self.binary()
            process.arguments = arguments
            process.currentDirectoryURL = directory
            var base = ProcessInfo.processInfo.environment.filter { ["PATH", "HOME"].contains($0.key) }
            base["LAMBA_LOG_LEVEL"] = "info"
            process.environment = base.merging(environment) { $1 }
            let stdout = Pipe(), stderr = Pipe()
            process.standardOutput = stdout
            process.standardError = stderr
            self.process = process
            let collected = collected
            stdout.fileHandleForReading.readabilityHandler = { handle in
                let data = handle.availableData
                if data.isEmpty { handle.readabilityHandler = nil }  // end of file
                collected.output.withLock { $0.stdout.append(data) }
            }
            stderr.fileHandleForReading.readabilityHandler = { handle in
                let data = handle.availableData
                if data.isEmpty { handle.readabilityHandler = nil }
                collected.output.withLock { $0.stderr.append(data) }
            }
            process.terminationHandler = { process in
                let status = process.terminationStatus
                collected.exit.withLock { $0 = status }
            }
            try process.run()
        }

        /// Runs `lamba` to its end.
        static func run(_ arguments: [String], in directory: URL, environment: [String: String] = [:],
                        timeout: Duration = .seconds(120)) async throws -> Result {
            let process = try LambaProcess(arguments, in: directory, environment: environment)
            return try await process.waitForExit(timeout: timeout)
        }

        var stderr: String { collected.output.withLock { String(decoding: $0.stderr, as: UTF8.self) } }
        var status: Int32? { collected.exit.withLock { $0 } }

        func terminate() { process.terminate() }

        func waitForExit(timeout: Duration) async throws -> Result {
            let deadline = ContinuousClock.now + timeout
            while status == nil {
                guard ContinuousClock.now < deadline else {
                    process.terminate()
                    throw TestSetupFailure("lamba did not exit within \(timeout); stderr: \(stderr)")
                }
                try await Task.sleep(for: .milliseconds(20))
            }
            // The pipes may still hold the last lines; the process is gone, so they reach end of file.
            try await Task.sleep(for: .milliseconds(100))
            let status = status ?? -1
            return collected.output.withLock {
                Result(status: status, stdout: String(decoding: $0.stdout, as: UTF8.self), stderr: String(decoding: $0.stderr, as: UTF8.self))
            }
        }

        static func binary() throws -> URL { try BuiltExecutables.url("lamba") }
    }

    /// A `lamba serve` that got as far as serving: its "listening" line names the bound port.
    struct ServingLamba: Sendable {
        let process: LambaProcess
        let port: Int

        static func start(_ arguments: [String], in directory: URL, environment: [String: String],
                          timeout: Duration = .seconds(120)) async throws -> ServingLamba {
            let process = try LambaProcess(arguments, in: directory, environment: environment)
            let deadline = ContinuousClock.now + timeout
            while true {
                if let port = Self.servingPort(process.stderr) { return ServingLamba(process: process, port: port) }
                if let status = process.status { throw TestSetupFailure("lamba exited with \(status) before serving: \(process.stderr)") }
                guard ContinuousClock.now < deadline else {
                    process.terminate()
                    throw TestSetupFailure("lamba did not serve within \(timeout): \(process.stderr)")
                }
                try await Task.sleep(for: .milliseconds(20))
            }
        }

        /// The port in `address=http://127.0.0.1:PORT` of the "listening" line, written once start-up is done.
        static func servingPort(_ log: String) -> Int? {
            guard let line = log.split(separator: "\n").first(where: { $0.hasSuffix("listening") && $0.contains("address=http://") }),
                let range = line.range(of: "address=http://127.0.0.1:")
            else { return nil }
            return Int(line[range.upperBound...].prefix { $0.isNumber })
        }

        var stderr: String { process.stderr }

        /// The status of a GET to this server.
        func get(_ path: String) async throws -> Int {
            let (_, response) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)\(path)")!)
            return (response as? HTTPURLResponse)?.statusCode ?? -1
        }

        /// SIGTERM, then its exit status.
        func stop() async throws -> Int32 {
            process.terminate()
            return try await process.waitForExit(timeout: .seconds(60)).status
        }
    }
}
