import ArgumentParser
import Foundation
import LambaJOSE

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

    static func resolve() throws -> MasterKey {
        if let configured = ProcessInfo.processInfo.environment["LAMBA_MASTER_KEY"] {
            do {
                return try MasterKey(encoded: configured)
            } catch {
                throw ValidationError("LAMBA_MASTER_KEY must be 32 bytes as base64url or hex: \(error)")
            }
        }
        let path = "\(devDirectory)/master.key"
        if let existing = try? String(contentsOfFile: path, encoding: .utf8) {
            return try MasterKey(encoded: existing)
        }
        let key = try MasterKey.generate()
        try FileManager.default.createDirectory(atPath: devDirectory, withIntermediateDirectories: true)
        // Create the file with 0600 before the key is written into it.
        guard FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600]) else {
            throw ValidationError("cannot create \(path)")
        }
        try Data((key.encoded + "\n").utf8).write(to: URL(fileURLWithPath: path))
        FileHandle.standardError.write(Data("generated a development master key at \(path); set LAMBA_MASTER_KEY in production\n".utf8))
        return key
    }
}
