import Foundation
public import LambaJOSE
public import LambaModel
public import LambaOAuth
import LambaStore

/// The input as bytes; libFuzzer may pass a null pointer with a count of zero.
public func fuzzInput(_ start: UnsafeRawPointer?, _ count: Int) -> [UInt8] {
    guard let start, count > 0 else { return [] }
    return Array(UnsafeRawBufferPointer(start: start, count: count))
}

/// A property every input must keep. Breaking it traps, which libFuzzer reports as a crash with the input.
public func require(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String, file: StaticString = #fileID, line: UInt = #line) {
    if !condition() {
        FileHandle.standardError.write(Data("fuzz property broken at \(file):\(line): \(message())\n".utf8))
        fatalError("fuzz property broken")
    }
}

/// Runs async code from libFuzzer's synchronous callback and waits for it.
public func blocking<T: Sendable>(_ body: @escaping @Sendable () async -> T) -> T {
    let box = Box<T>()
    let done = DispatchSemaphore(value: 0)
    Task {
        box.value = await body()
        done.signal()
    }
    done.wait()
    return box.value!
}

/// Written by one task before the semaphore is signalled, read by the waiter after.
private final class Box<T>: @unchecked Sendable { var value: T? }

/// An RFC appendix vector from `Keys/vectors/`, used as it is.
public func vector(_ name: String) -> JSONObject {
    let url = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Keys/vectors/\(name).json")
    guard let data = try? Data(contentsOf: url), let json = try? JSON.decodeObject(Array(data)) else {
        fatalError("cannot read \(url.path)")
    }
    return json
}

/// A provider on a real SQLite file in a fresh temporary directory, made once per process: Workspace
/// `acme`, public Project `alpha` (sandbox: dynamic registration for loopback clients only) and
/// Project `beta` (sandbox: open dynamic registration), with a confidential and a public client in
/// alpha's sandbox. It mirrors the LambaOAuth test fixture.
public struct FuzzProvider: Sendable {
    public let provider: OpenIDProvider
    public let alpha: ProviderContext
    public let beta: ProviderContext
    public let confidential: OAuthClient
    public let publicClient: OAuthClient
    public static let redirect = "http://127.0.0.1:9999/callback"

    public static let shared: FuzzProvider = blocking {
        do {
            return try await make()
        } catch {
            fatalError("fuzz provider setup failed: \(error)")
        }
    }

    static func make() async throws -> FuzzProvider {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("lamba-fuzz-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let store = try await SQLiteStore(path: directory.appendingPathComponent("lamba.sqlite").path)
        try await store.migrate()
        let oauth = SQLOAuthStore(store: store)
        let identity = oauth.identity
        let boot = try await WorkspaceAdministration(store: identity).bootstrap(
            email: "owner@example.com", password: "owner password 1", name: "Owner", workspaceSlug: "acme", workspaceName: "Acme")
        let caller = ConsoleCaller(actor: boot.user.id, workspaceID: boot.workspace.id, workspaceRole: .owner)
        let projects = ProjectAdministration(store: identity)
        let alpha = try await projects.createProject(caller, slug: "alpha", name: "Alpha", visibility: .public)
        let beta = try await projects.createProject(caller, slug: "beta", name: "Beta", visibility: .public)
        var loopback = ProjectAdministration.EnvironmentChanges()
        loopback.dynamicClientRegistration = .loopbackOnly
        _ = try await projects.updateEnvironment(caller, projectID: alpha.id, environment: .sandbox, loopback)
        var open = ProjectAdministration.EnvironmentChanges()
        open.dynamicClientRegistration = .open
        _ = try await projects.updateEnvironment(caller, projectID: beta.id, environment: .sandbox, open)

        func client(_ type: OAuthClient.ClientType) async throws -> OAuthClient {
            var registration = ProjectAdministration.ClientRegistration(name: "App", type: type, redirectURIs: [redirect, "https://app.example/cb?x=1"])
            registration.firstParty = true
            registration.grantTypes = type == .public ? ["authorization_code", "refresh_token"] : ["authorization_code", "refresh_token", "client_credentials"]
            return try await projects.createClient(caller, projectID: alpha.id, environment: .sandbox, registration).0
        }
        let confidential = try await client(.confidential)
        let publicClient = try await client(.public)
        var configuration = ProviderConfiguration(publicBaseURL: "http://127.0.0.1:8080", masterKey: try MasterKey.generate())
        // The fuzzer registers far more clients than any caller may; the limits themselves are tested
        // with the store tests, and here would only hide the metadata parser behind 429s.
        configuration.registrationLimits = ClientRegistrationLimits(perAddress: 1_000_000_000, window: 3600, perEnvironment: 1_000_000_000)
        let provider = OpenIDProvider(configuration: configuration, store: oauth)
        return FuzzProvider(provider: provider, alpha: try await provider.context(slug: "alpha", environment: "sandbox"),
                            beta: try await provider.context(slug: "beta", environment: "sandbox"),
                            confidential: confidential, publicClient: publicClient)
    }
}
