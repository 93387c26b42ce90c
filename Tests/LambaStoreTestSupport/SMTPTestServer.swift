public import Foundation

/// The failure a test reports when its SMTP server cannot be started: never a skip.
public struct TestSetupError: Error, CustomStringConvertible {
    public var description: String
    public init(description: String) { self.description = description }
}

/// The repository root, from this file's place in it.
public let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// The interpreter with aiosmtpd: $LAMBA_TEST_PYTHON, else Conformance/.venv (scripts/test makes it), else python3.
public let testPython: String = {
    if let python = ProcessInfo.processInfo.environment["LAMBA_TEST_PYTHON"], !python.isEmpty { return python }
    let venv = repositoryRoot.appendingPathComponent("Conformance/.venv/bin/python").path
    return FileManager.default.isExecutableFile(atPath: venv) ? venv : "python3"
}()

/// Runs a command to its end; throws with its output when it fails.
@discardableResult
public func run(_ executable: String, _ arguments: [String], in directory: URL? = nil) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = [executable] + arguments
    if let directory { process.currentDirectoryURL = directory }
    let output = Pipe()
    process.standardOutput = output
    process.standardError = output
    process.standardInput = FileHandle.nullDevice
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    let text = String(decoding: data, as: UTF8.self)
    guard process.terminationStatus == 0 else {
        throw TestSetupError(description: "\(executable) \(arguments.joined(separator: " ")) failed (\(process.terminationStatus)): \(text)")
    }
    return text
}

/// Whether aiosmtpd imports, checked once: a missing one fails every SMTP test with this message.
public let aiosmtpdCheck: Result<Void, TestSetupError> = {
    do {
        try run(testPython, ["-c", "import aiosmtpd"])
        return .success(())
    } catch {
        return .failure(TestSetupError(description: """
            aiosmtpd cannot be imported by \(testPython) (\(error)). Create the venv with \
            `python3 -m venv Conformance/.venv && Conformance/.venv/bin/pip install -r Conformance/requirements.txt` \
            or set LAMBA_TEST_PYTHON to a Python that has aiosmtpd (scripts/test does this).
            """))
    }
}()

/// A throwaway CA, a server certificate it signed for localhost and 127.0.0.1, and a second CA that
/// signed nothing the server shows; made once per test run with the openssl CLI.
public struct TestCertificates: Sendable {
    public let directory: URL
    public var caFile: String { directory.appendingPathComponent("ca.pem").path }
    public var otherCAFile: String { directory.appendingPathComponent("other-ca.pem").path }
    public var certificateFile: String { directory.appendingPathComponent("server.pem").path }
    public var keyFile: String { directory.appendingPathComponent("server.key").path }

    public static let shared: Result<TestCertificates, TestSetupError> = {
        do {
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("lamba-mail-certs-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            for ca in ["ca", "other-ca"] {
                try run("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "\(ca).key", "-out", "\(ca).pem",
                                    "-days", "2", "-subj", "/CN=Lamba test \(ca)",
                                    "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
                        in: directory)
            }
            try run("openssl", ["req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr",
                                "-subj", "/CN=localhost"], in: directory)
            try "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n"
                .write(to: directory.appendingPathComponent("server.ext"), atomically: true, encoding: .utf8)
            try run("openssl", ["x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                                "-out", "server.pem", "-days", "2", "-extfile", "server.ext"], in: directory)
            return .success(TestCertificates(directory: directory))
        } catch let error as TestSetupError {
            return .failure(error)
        } catch {
            return .failure(TestSetupError(description: "cannot make test certificates: \(error)"))
        }
    }()
}

/// What the server recorded of one message (smtp_server.py writes it).
public struct ReceivedMail: Decodable, Sendable {
    public var mail_from: String
    public var rcpt_tos: [String]
    public var auth_mechanism: String?
    public var auth_login: String?
    public var helo: String?
    public var extended: Bool
    public var tls: Bool
    public var header_names: [String]
    public var subject: String
    public var from: String
    public var to: String
    public var text: String?
    public var html: String?
    public var defects: [String]
    /// The DATA bytes as received, dot-stuffing undone.
    public var raw = ""

    enum CodingKeys: String, CodingKey {
        case mail_from, rcpt_tos, auth_mechanism, auth_login, helo, extended, tls, header_names, subject, from, to, text, html, defects
    }
}

/// smtp_server.py running on 127.0.0.1 on a port it picked; stopped by `stop()`.
public final class SMTPTestServer: @unchecked Sendable {
    public enum Mode: String { case accept, rcpt451, rcpt550, silent, noehlo, inject }
    public enum Security: Sendable { case plain, startTLS, implicitTLS }

    public let port: Int
    public let directory: URL
    private let process: Process
    private let stdin: Pipe

    public init(mode: Mode = .accept, security: Security = .plain, auth: (user: String, password: String)? = nil,
         authOnly: String? = nil) throws {
        try aiosmtpdCheck.get()
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("lamba-smtp-\(UUID().uuidString)")
        let out = directory.appendingPathComponent("mail")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        let script = repositoryRoot.appendingPathComponent("Tests/LambaMailTests/smtp_server.py").path
        var arguments = [script, "--port", "0", "--out", out.path, "--mode", mode.rawValue]
        if security != .plain {
            let certificates = try TestCertificates.shared.get()
            arguments += ["--cert", certificates.certificateFile, "--key", certificates.keyFile,
                          security == .startTLS ? "--starttls" : "--implicit-tls"]
        }
        if let auth { arguments += ["--auth", "\(auth.user):\(auth.password)"] }
        if let authOnly { arguments += ["--auth-only", authOnly] }

        let stdoutFile = directory.appendingPathComponent("stdout")
        let stderrFile = directory.appendingPathComponent("stderr")
        _ = FileManager.default.createFile(atPath: stdoutFile.path, contents: nil)
        _ = FileManager.default.createFile(atPath: stderrFile.path, contents: nil)
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [testPython] + arguments
        process.standardOutput = try FileHandle(forWritingTo: stdoutFile)
        process.standardError = try FileHandle(forWritingTo: stderrFile)
        stdin = Pipe()
        process.standardInput = stdin
        try process.run()

        // Wait for "ready PORT"; a loaded two-core machine can take seconds to start Python.
        let deadline = Date().addingTimeInterval(60)
        var found: Int?
        while found == nil, Date() < deadline, process.isRunning {
            let text = (try? String(contentsOf: stdoutFile, encoding: .utf8)) ?? ""
            if let line = text.split(separator: "\n").first(where: { $0.hasPrefix("ready ") }) { found = Int(line.dropFirst(6)) }
            if found == nil { Thread.sleep(forTimeInterval: 0.05) }
        }
        guard let found else {
            let errors = (try? String(contentsOf: stderrFile, encoding: .utf8)) ?? ""
            if process.isRunning { process.terminate() }
            throw TestSetupError(description: "smtp_server.py did not become ready: \(errors)")
        }
        port = found
    }

    public func stop() {
        try? stdin.fileHandleForWriting.close()
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
    }

    deinit {
        if process.isRunning { process.terminate() }
        try? FileManager.default.removeItem(at: directory)
    }

    /// The messages received so far, in order.
    public func received() throws -> [ReceivedMail] {
        let out = directory.appendingPathComponent("mail")
        var mails: [ReceivedMail] = []
        var index = 1
        while FileManager.default.fileExists(atPath: out.appendingPathComponent("\(index).eml").path) {
            var mail = try JSONDecoder().decode(ReceivedMail.self, from: Data(contentsOf: out.appendingPathComponent("\(index).json")))
            mail.raw = String(decoding: try Data(contentsOf: out.appendingPathComponent("\(index).eml")), as: UTF8.self)
            mails.append(mail)
            index += 1
        }
        return mails
    }
}
