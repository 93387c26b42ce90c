import ArgumentParser
import Foundation
import LambaJOSE
import LambaStore

struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "Generate signing keys and publish their JWKS.",
        subcommands: [Generate.self, JWKS.self, RotateKeysCommand.self]
    )

    struct Generate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Generate a signing key, seal its private half under the master key, print the public JWK."
        )

        @Option(help: "RS256, PS256, ES256 or EdDSA.")
        var alg: String = "ES256"

        @Option(help: "Where to write the sealed key (default: Keys/dev/<kid>.json).")
        var out: String?

        func run() throws {
            guard let algorithm = JWSAlgorithm(rawValue: alg) else {
                throw ValidationError("unknown algorithm \(alg); use one of \(JWSAlgorithm.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            let masterKey = try MasterKeyLocation.resolve()
            let key = try SealedSigningKey.generate(algorithm, masterKey: masterKey)
            let path = out ?? "\(MasterKeyLocation.devDirectory)/\(key.kid).json"
            try FileManager.default.createDirectory(
                atPath: (path as NSString).deletingLastPathComponent.isEmpty ? "." : (path as NSString).deletingLastPathComponent,
                withIntermediateDirectories: true)
            try Data(JSON.encode(key.json)).write(to: URL(fileURLWithPath: path), options: .atomic)
            try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
            print(JSON.encodeString(.object(key.publicJWK.json)))
            FileHandle.standardError.write(Data("sealed private key written to \(path)\n".utf8))
        }
    }

    struct JWKS: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the JWKS (public keys only) of sealed key files.")

        @Argument(help: "Sealed key files written by `lamba keys generate`.")
        var files: [String]

        func run() throws {
            let keys = try files.map { try SealedKeyFile.read($0).publicJWK }
            print(JSON.encodeString(.object(JWKSet(keys: keys).publicJSON)))
        }
    }
}

enum SealedKeyFile {
    static func read(_ path: String) throws -> SealedSigningKey {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        return try SealedSigningKey(json: JSON.decodeObject(Array(data)))
    }
}

/// Where the master key comes from: `LAMBA_MASTER_KEY`, or a dev key generated on first use under
/// `Keys/dev/` (git-ignored, mode 0600).
enum MasterKeyLocation {
    static var devDirectory: String {
        ProcessInfo.processInfo.environment["LAMBA_KEYS_DIR"] ?? "Keys/dev"
    }

    static var devKeyPath: String { "\(devDirectory)/master.key" }

    /// `LAMBA_MASTER_KEY`, nil when unset; read before anything starts, so a malformed key stops a
    /// command before it binds or writes anything.
    static func configured() throws -> MasterKey? {
        guard let configured = ProcessInfo.processInfo.environment["LAMBA_MASTER_KEY"] else { return nil }
        do {
            return try MasterKey(encoded: configured)
        } catch {
            throw ValidationError("invalid configuration: LAMBA_MASTER_KEY: must be 32 bytes as base64url or hex (\(error))")
        }
    }

    /// The configured key, else the dev key file, else a new dev key written to it.
    static func resolve() throws -> MasterKey {
        if let key = try configured() { return key }
        if let key = try devKey() { return key }
        return try generateDevKey()
    }

    /// The master key of the database behind `store`, verified against it (docs/startup.md#master-key):
    /// the configured key, else the dev key file, else a new dev key, but only for a database that
    /// seals nothing yet; a new key could not open what an earlier one sealed.
    /// - Throws: `StartupRefusal` when the key is not the one the database's secrets are sealed under.
    static func verified(_ configured: MasterKey?, for store: any Store, at url: DatabaseURL) async throws -> (MasterKey, MasterKeyCheck.Outcome) {
        let key: MasterKey, source: String
        if let configured {
            (key, source) = (configured, "LAMBA_MASTER_KEY")
        } else if let existing = try devKey() {
            (key, source) = (existing, "the development master key \(devKeyPath) (LAMBA_MASTER_KEY is not set)")
        } else if try await MasterKeyCheck.holdsSealedSecrets(store) {
            throw StartupRefusal("""
                LAMBA_MASTER_KEY is not set and \(devKeyPath) does not exist, but \(url) holds secrets sealed under a master \
                key: set LAMBA_MASTER_KEY to that key
                """)
        } else {
            (key, source) = (try generateDevKey(), "the development master key \(devKeyPath)")
        }
        do {
            return (key, try await MasterKeyCheck.verify(key, in: store))
        } catch let mismatch as MasterKeyCheck.Mismatch {
            throw StartupRefusal("""
                \(source) does not open the keys of \(url) (its \(mismatch.sealed) does not open under it): start with \
                the master key this database was first started with
                """)
        }
    }

    private static func devKey() throws -> MasterKey? {
        guard let existing = try? String(contentsOfFile: devKeyPath, encoding: .utf8) else { return nil }
        do {
            return try MasterKey(encoded: existing)
        } catch {
            throw ValidationError("invalid configuration: \(devKeyPath) (LAMBA_KEYS_DIR) does not hold a master key: \(error)")
        }
    }

    private static func generateDevKey() throws -> MasterKey {
        let key = try MasterKey.generate()
        let path = devKeyPath
        try FileManager.default.createDirectory(atPath: devDirectory, withIntermediateDirectories: true)
        // Create the file with 0600 before the key is written into it.
        guard FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600]) else {
            throw ValidationError("cannot create \(path) (LAMBA_KEYS_DIR)")
        }
        try Data((key.encoded + "\n").utf8).write(to: URL(fileURLWithPath: path))
        FileHandle.standardError.write(Data("generated a development master key at \(path); set LAMBA_MASTER_KEY in production\n".utf8))
        return key
    }
}

/// A start that `lamba` refuses, with what to do about it; printed as the command's error.
struct StartupRefusal: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
