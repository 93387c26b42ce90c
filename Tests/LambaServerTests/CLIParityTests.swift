import Foundation
import HTTPTypes
import LambaJOSE
import LambaServer
import LambaStore
import LambaStoreTestSupport
import Testing

/// The `lamba` CLI covers what the console API covers: its operations, read from the built binary,
/// against the server's route table; and the binary driving a real server with a key it minted offline.
@Suite("lamba CLI parity with the console API")
struct CLIParityTests {
    typealias LambaProcess = StartupRefusalTests.LambaProcess
    typealias Scratch = StartupRefusalTests.Scratch

    /// Console routes no command calls, each with why.
    static let notCalled: [String: String] = [
        "GET /console/v1/openapi.json": "the API's own description, read by tools rather than run as an operation",
    ]

    @Test("every console route has a command, every command calls a console route, and the exclusions are real routes")
    func everyConsoleRoute_hasACommand() async throws {
        let directory = try Scratch.directory()
        defer { Scratch.remove(directory) }
        let listed = try await LambaProcess.run(["help-operations"], in: directory)
        #expect(listed.status == 0, "\(listed.stderr)")
        let lines = listed.stdout.split(separator: "\n").map(String.init)
        let called = Set(lines)
        let table = Set(ConsoleRoutes.table.map { "\($0.method.rawValue) \($0.path)" })
        #expect(table.subtracting(called).subtracting(Self.notCalled.keys).sorted() == [])
        #expect(called.subtracting(table).sorted() == [])
        #expect(lines.count == called.count, "two commands call one operation: \(lines)")
        #expect(Set(Self.notCalled.keys).isSubset(of: table))
        #expect(called.isDisjoint(with: Self.notCalled.keys))
    }

    @Test("lamba --version prints LambaVersion.current")
    func version_isLambaVersionCurrent() async throws {
        let directory = try Scratch.directory()
        defer { Scratch.remove(directory) }
        let result = try await LambaProcess.run(["--version"], in: directory)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == LambaVersion.current)
    }

    /// The `--database` text for a new database on `backend`.
    static func database(_ backend: Backend, _ directory: URL) throws -> String {
        guard backend == .postgres, case .postgres(let uri) = try TestDatabases.makeURL(.postgres, prefix: "cli") else {
            return "sqlite://" + directory.appendingPathComponent("lamba.sqlite").path
        }
        return uri
    }

    @Test("an API key minted offline on the database drives projects and roles through a server on that database", arguments: Backend.underTest)
    func offlineAPIKey_drivesTheConsoleAPI(backend: Backend) async throws {
        let directory = try Scratch.directory()
        defer { Scratch.remove(directory) }
        let database = try Self.database(backend, directory)
        let boot = try await LambaProcess.run(["bootstrap", "--database", database, "--email", "owner@cli.example", "--name", "Owner",
                                               "--workspace-slug", "cli-parity", "--workspace-name", "CLI parity", "--json"], in: directory)
        try #require(boot.status == 0, "\(boot.stderr)")

        // No server runs yet: the key is made on the database.
        let minted = try await LambaProcess.run(["api-keys", "create", "--database", database, "--workspace", "cli-parity",
                                                 "--name", "automation", "--json"], in: directory)
        try #require(minted.status == 0, "\(minted.stderr)")
        let key = try Self.object(minted.stdout)
        let secret = try #require(key["secret"]?.stringValue)
        #expect(secret.hasPrefix("lmb_sk_"))
        #expect(key["role"] == "admin")
        let refused = try await LambaProcess.run(["api-keys", "create", "--database", database, "--workspace", "no-such-workspace",
                                                  "--name", "automation"], in: directory)
        #expect(refused.status == StartupRefusalTests.usageStatus && refused.stderr.contains("no-such-workspace"), "\(refused.stderr)")

        let server = try await StartupRefusalTests.ServingLamba.start(["serve", "--port", "0", "--database", database], in: directory,
                                                                      environment: ["LAMBA_MASTER_KEY": StartupRefusalTests.Keys.first])
        do {
            let console = ["--url", "http://127.0.0.1:\(server.port)", "--api-key", secret]
            func lamba(_ arguments: [String]) async throws -> JSONObject {
                let result = try await LambaProcess.run(arguments + console + ["--json"], in: directory)
                try #require(result.status == 0, "lamba \(arguments): \(result.stderr)")
                return try Self.object(result.stdout)
            }

            #expect(try await lamba(["projects", "list"])["data"] == .array([]))
            let project = try await lamba(["projects", "create", "--slug", "cli-parity-app", "--name", "CLI parity app"])
            let projectID = try #require(project["id"]?.stringValue)
            let projects = try await lamba(["projects", "list"])["data"]?.arrayValue ?? []
            #expect(projects.compactMap { $0.objectValue?["id"]?.stringValue } == [projectID])

            let role = try await lamba(["roles", "create", "--project", projectID, "--name", "auditor", "--permission", "reports:read",
                                        "--description", "reads reports"])
            #expect(role["name"] == "auditor")
            #expect(role["permissions"] == .array(["reports:read"]))
            let roles = try await lamba(["roles", "list", "--project", projectID])["data"]?.arrayValue ?? []
            let listed = roles.first { $0.objectValue?["name"] == "auditor" }?.objectValue
            #expect(listed?["permissions"] == .array(["reports:read"]))
            #expect(listed?["description"] == "reads reports")

            // The offline key is the Workspace's like any other, and never shows its secret again.
            let keys = try await lamba(["api-keys", "list"])["data"]?.arrayValue ?? []
            let listedKey = keys.first { $0.objectValue?["id"] == key["id"] }?.objectValue
            #expect(listedKey?["name"] == "automation")
            #expect(listedKey?["secret"] == nil)

            // Without --json: a table with a header row.
            let table = try await LambaProcess.run(["roles", "list", "--project", projectID] + console, in: directory)
            #expect(table.status == 0, "\(table.stderr)")
            let rows = table.stdout.split(separator: "\n")
            #expect(rows.first?.hasPrefix("NAME") == true, "\(table.stdout)")
            #expect(rows.contains { $0.hasPrefix("auditor ") && $0.contains("reports:read") }, "\(table.stdout)")
        } catch {
            _ = try? await server.stop()
            throw error
        }
        #expect(try await server.stop() == 0, "\(server.stderr)")
    }

    @Test("lamba demo finds its data again on a rerun and keeps the client secret unless --rotate-secret", arguments: Backend.underTest)
    func demoRerun_keepsTheSecret(backend: Backend) async throws {
        let directory = try Scratch.directory()
        defer { Scratch.remove(directory) }
        let database = try Self.database(backend, directory)
        func demo(_ arguments: [String] = []) async throws -> JSONObject {
            let result = try await LambaProcess.run(["demo", "--json", "--database", database] + arguments, in: directory)
            try #require(result.status == 0, "\(result.stderr)")
            return try #require(try Self.object(result.stdout)["confidential_client"]?.objectValue)
        }
        let first = try await demo()
        let created = try #require(first["client_secret"]?.stringValue)
        let rerun = try await demo()
        #expect(rerun["client_id"] == first["client_id"])
        #expect(rerun["client_secret"] == .null)
        let rotated = try await demo(["--rotate-secret"])
        #expect(rotated["client_id"] == first["client_id"])
        let secret = try #require(rotated["client_secret"]?.stringValue)
        #expect(secret != created)

        let text = try await LambaProcess.run(["demo", "--database", database], in: directory)
        #expect(text.stdout.contains("unchanged (lamba demo --rotate-secret prints a new one)"), "\(text.stdout)")
    }

    static func object(_ text: String) throws -> JSONObject {
        try #require(try JSON.decode(Array(text.utf8), limits: JSONLimits(maxBytes: 1 << 20, maxDepth: 16)).objectValue, "not a JSON object: \(text)")
    }
}
