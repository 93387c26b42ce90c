public import Foundation

/// A throwaway PostgreSQL cluster in a temporary directory, for tests and benchmarks: `initdb` with
/// trust auth for user `lamba`, `pg_ctl start` on a free port of 127.0.0.1, removed on `destroy()`.
///
/// initdb refuses to run as root, so under euid 0 the server commands run as the `postgres` user.
public final class PostgresCluster: Sendable {
    public let port: Int
    public let root: URL
    private let binDir: String
    private let serverOptions: [String]

    /// The directory of initdb and pg_ctl: `pg_config --bindir`, else Debian's path.
    public static let binDir: String? = {
        var candidates: [String] = []
        if let configured = try? run("/usr/bin/env", ["pg_config", "--bindir"]).trimmingCharacters(in: .whitespacesAndNewlines),
            !configured.isEmpty
        {
            candidates.append(configured)
        }
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []
        candidates += versions.sorted(by: >).map { "/usr/lib/postgresql/\($0)/bin" }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0 + "/initdb") }
    }()

    /// True when the PostgreSQL tests must run and fail rather than be skipped.
    public static var isRequired: Bool {
        ProcessInfo.processInfo.environment["LAMBA_TEST_REQUIRE_POSTGRES"] == "1"
    }

    /// - Parameters:
    ///   - durable: false turns fsync off, for tests that do not measure durability.
    ///   - maxConnections: the server's `max_connections`.
    public init(durable: Bool = false, maxConnections: Int = 200) throws {
        guard let binDir = Self.binDir else {
            throw ClusterError("PostgreSQL server binaries (initdb, pg_ctl) not found: install the postgresql package")
        }
        self.binDir = binDir
        self.port = try Self.freePort()
        self.root = FileManager.default.temporaryDirectory.appendingPathComponent("lamba-pg-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: root.appendingPathComponent("sock"), withIntermediateDirectories: true)
        if geteuid() == 0 {
            guard let user = getpwnam("postgres") else { throw ClusterError("running as root and no postgres user exists") }
            for path in [root.path, root.appendingPathComponent("sock").path] { chown(path, user.pointee.pw_uid, user.pointee.pw_gid) }
        }
        serverOptions = ["-p", "\(port)", "-k", root.appendingPathComponent("sock").path, "-c", "listen_addresses=127.0.0.1",
                         "-c", "max_connections=\(maxConnections)"] + (durable ? [] : ["-c", "fsync=off", "-c", "full_page_writes=off"])
        try server("initdb", ["-D", dataDir, "-U", "lamba", "--auth=trust", "-E", "UTF8", "--no-locale", "--no-sync"])
        try start()
    }

    private var dataDir: String { root.appendingPathComponent("data").path }

    /// A libpq URI for `database` on this cluster.
    public func uri(database: String = "postgres") -> String {
        "postgres://lamba@127.0.0.1:\(port)/\(database)"
    }

    /// Creates an empty database and returns its URI.
    public func createDatabase(_ name: String) throws -> String {
        try Self.run(binDir + "/createdb", ["-h", "127.0.0.1", "-p", "\(port)", "-U", "lamba", name])
        return uri(database: name)
    }

    public func start() throws {
        try server("pg_ctl", ["-D", dataDir, "-l", root.appendingPathComponent("server.log").path,
                              "-o", serverOptions.joined(separator: " "), "-w", "start"])
    }

    /// Stops the server (fast mode: clients are disconnected, open transactions roll back).
    public func stop() throws {
        try server("pg_ctl", ["-D", dataDir, "-m", "fast", "-w", "stop"])
    }

    /// Stops the server if running and removes the directory.
    public func destroy() {
        try? stop()
        try? FileManager.default.removeItem(at: root)
    }

    private func server(_ tool: String, _ arguments: [String]) throws {
        if geteuid() == 0 {
            // `env -C /`: the PostgreSQL tools return to the working directory, which the postgres
            // user may not be allowed to enter (a CI checkout under a 0700 temp directory).
            try Self.run("/usr/sbin/runuser", ["-u", "postgres", "--", "/usr/bin/env", "-C", "/", binDir + "/" + tool] + arguments)
        } else {
            try Self.run(binDir + "/" + tool, arguments)
        }
    }

    /// Runs a command to completion and returns its output; throws with that output when it fails.
    ///
    /// posix_spawn and waitpid rather than Foundation's Process: Process detects the exit through a
    /// descriptor the child inherits, and the server that `pg_ctl start` forks keeps it open forever.
    /// Output goes to a file, not a pipe, for the same reason.
    @discardableResult
    static func run(_ executable: String, _ arguments: [String]) throws -> String {
        let outputPath = FileManager.default.temporaryDirectory.appendingPathComponent("lamba-pg-cmd-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: outputPath) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid = pid_t()
        let spawned = posix_spawn(&pid, executable, &actions, nil, argv, environ)
        guard spawned == 0 else { throw ClusterError("cannot run \(executable): errno \(spawned)") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        let text = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        // WIFEXITED && WEXITSTATUS == 0, spelled out: the macros do not import.
        guard status & 0x7F == 0, (status >> 8) & 0xFF == 0 else {
            throw ClusterError("\((executable as NSString).lastPathComponent) \(arguments.first ?? "") failed: \(text)")
        }
        return text
    }

    // Binds port 0 and reads what the kernel picked; the small race with other processes is accepted.
    private static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw ClusterError("socket() failed") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard bound else { throw ClusterError("cannot bind a free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

public struct ClusterError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
