import Foundation
import Hummingbird
import HummingbirdTesting
import LambaJOSE
import LambaModel
import LambaServer
import LambaStore
import LambaStoreTestSupport
import Logging
import ServiceLifecycle
import Synchronization
import Testing

/// A web server on 127.0.0.1 that serves a domain's ownership proof, as the operator would.
final class ProofServer: Sendable {
    final class Served: Sendable {
        let text = Mutex<String?>(nil)
    }

    let port: Int
    private let served = Served()
    private let task: Task<Void, any Error>
    private let group: ServiceGroup

    init() async throws {
        let router = Router()
        let served = self.served
        router.get(RouterPath(CustomDomain.proofPath)) { _, _ -> Response in
            guard let text = served.text.withLock({ $0 }) else { return Response(status: .notFound) }
            return Response(status: .ok, headers: [.contentType: "text/plain"], body: .init(byteBuffer: ByteBuffer(string: text)))
        }
        let port = try freeLoopbackPort()
        let (running, started) = AsyncStream<Void>.makeStream()
        var logger = Logger(label: "lamba-proof-server")
        logger.logLevel = .critical
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)),
                              onServerRunning: { _ in started.yield() }, logger: logger)
        let group = ServiceGroup(configuration: .init(services: [app], gracefulShutdownSignals: [], logger: logger))
        self.group = group
        task = Task { try await group.run() }
        var iterator = running.makeAsyncIterator()
        _ = await iterator.next()
        self.port = port
    }

    func serve(_ text: String?) { served.text.withLock { $0 = text } }

    /// A graceful shutdown: cancelling the accept loop would drop accepted, unserved connections,
    /// which NIO traps on (see `LiveServer.stop` in the events tests).
    func stop() async {
        await group.triggerGracefulShutdown()
        _ = try? await task.value
    }
}

/// Custom domains over HTTP: claims, uniqueness, the HTTP ownership proof, the read-only list on
/// the Workspace (docs/custom-domains.md).
@Suite("custom domains over HTTP")
struct CustomDomainHTTPTests {
    @Test("add, list, refuse another Workspace's claim without naming it, remove; custom_domains is read-only", arguments: Backend.underTest)
    func domainRoutes_claimListConflictRemove(backend: Backend) async throws {
        try await withServer(backend, maxRequestBodySize: 64 * 1024) { client, dependencies in
            let fixture = try await ConsoleFixture.make(dependencies)
            let a = fixture.a.apiKeySecret
            let b = fixture.b.apiKeySecret
            let added = try await client.execute(uri: "/console/v1/workspace/domains", method: .post, headers: bearer(a),
                                                 body: body(["domain": "Login.A.example"]))
            #expect(added.status == .created)
            let claim = try #require(added.json)
            let id = try #require(claim["id"]?.stringValue)
            let token = try #require(claim["verification_token"]?.stringValue)
            #expect(id.hasPrefix("dom_") && token.hasPrefix("lamba-domain-verification="))
            #expect(Set(claim.names) == ["id", "domain", "status", "verification_token", "verification_url", "created_at", "expires_at", "verified_at"])
            #expect(claim["domain"] == "login.a.example" && claim["status"] == "pending" && claim["verified_at"] == .null)
            #expect(claim["verification_url"] == "https://login.a.example/.well-known/lamba-domain-verification")

            let listed = try await client.execute(uri: "/console/v1/workspace/domains", method: .get, headers: bearer(a, json: false))
            #expect(listed.status == .ok)
            #expect(listed.json?["data"]?.arrayValue?.map { $0.objectValue?["domain"]?.stringValue ?? "" } == ["fixture.a.example", "login.a.example"])
            #expect(listed.json?["data"]?.arrayValue?.last == .object(claim))

            let taken = try await client.execute(uri: "/console/v1/workspace/domains", method: .post, headers: bearer(b),
                                                 body: body(["domain": "login.a.EXAMPLE"]))
            #expect(taken.status == .conflict)
            #expect(taken.json == ["error": "conflict", "error_description": "login.a.example is claimed by another workspace"])
            for (method, suffix) in [(HTTPRequest.Method.post, "/verify"), (.delete, "")] {
                let foreign = try await client.execute(uri: "/console/v1/workspace/domains/\(id)\(suffix)", method: method, headers: bearer(b, json: false))
                #expect(foreign.status == .notFound, "\(method)")
            }
            let none = try await client.execute(uri: "/console/v1/workspace/domains", method: .get, headers: bearer(b, json: false))
            #expect(none.json?["data"] == .array([]))

            let patched = try await client.execute(uri: "/console/v1/workspace", method: .patch, headers: bearer(a),
                                                   body: body(["custom_domains": ["login.a.example"]]))
            #expect(patched.status == .badRequest)
            // Not a member of the request schema (the OpenAPI document lists the domain routes instead).
            #expect(patched.json == ["error": "invalid_request", "error_description": "unknown member custom_domains", "field": "custom_domains"])
            let workspace = try await client.execute(uri: "/console/v1/workspace", method: .get, headers: bearer(a, json: false))
            #expect(workspace.json?["custom_domains"] == .array([]), "a pending claim is not a bound domain")

            let removed = try await client.execute(uri: "/console/v1/workspace/domains/\(id)", method: .delete, headers: bearer(a, json: false))
            #expect(removed.status == .noContent)
            let free = try await client.execute(uri: "/console/v1/workspace/domains", method: .post, headers: bearer(b),
                                                body: body(["domain": "login.a.example"]))
            #expect(free.status == .created && free.json?["domain"] == "login.a.example")
        }
    }

    @Test("the server's proof fetcher refuses a domain that is not public, and says so", arguments: Backend.underTest)
    func verify_refusesNonPublicTargets(backend: Backend) async throws {
        try await withServer(backend, maxRequestBodySize: 64 * 1024) { client, dependencies in
            let fixture = try await ConsoleFixture.make(dependencies)
            let a = fixture.a.apiKeySecret
            let added = try await client.execute(uri: "/console/v1/workspace/domains", method: .post, headers: bearer(a),
                                                 body: body(["domain": "proof.localhost"]))
            let id = try #require(added.json?["id"]?.stringValue)
            let verify = try await client.execute(uri: "/console/v1/workspace/domains/\(id)/verify", method: .post, headers: bearer(a, json: false))
            #expect(verify.status == .conflict)
            #expect(verify.json == ["error": "refused", "error_description": """
                proof.localhost did not serve its proof at https://proof.localhost/.well-known/lamba-domain-verification: \
                url host proof.localhost is not a public address
                """])
            let listed = try await client.execute(uri: "/console/v1/workspace/domains", method: .get, headers: bearer(a, json: false))
            #expect(listed.json?["data"]?.arrayValue?.first?.objectValue?["status"] == "pending")
        }
    }

    @Test("a domain serving its token over HTTP is verified and appears in the Workspace's custom_domains", arguments: Backend.underTest)
    func verify_overRealHTTP_bindsTheDomain(backend: Backend) async throws {
        try await withServer(backend, maxRequestBodySize: 64 * 1024) { client, dependencies in
            let fixture = try await ConsoleFixture.make(dependencies)
            let proof = try await ProofServer()
            let identity = SQLIdentityStore(store: dependencies.store)
            // The loopback fetcher is the test's opt-in: the server's own refuses 127.0.0.1.
            let domains = CustomDomainAdministration(store: identity,
                                                     fetcher: HTTPDomainProofFetcher.loopback(http: ServerUpstreamHTTPClient(), port: proof.port))
            let owner = try #require(try await WorkspaceAdministration(store: identity).authenticate(apiKey: fixture.a.apiKeySecret))
            do {
                let claim = try await domains.addDomain(owner, domain: "shop.a.example")
                await #expect(throws: DomainError.refused(
                    "shop.a.example did not serve its proof at https://shop.a.example/.well-known/lamba-domain-verification: it answered HTTP 404")) {
                    _ = try await domains.verifyDomain(owner, domainID: claim.id)
                }
                proof.serve(claim.verificationToken + "\r\n")
                let verified = try await domains.verifyDomain(owner, domainID: claim.id)
                #expect(verified.status == .verified)
                let workspace = try await client.execute(uri: "/console/v1/workspace", method: .get, headers: bearer(fixture.a.apiKeySecret, json: false))
                #expect(workspace.json?["custom_domains"] == ["shop.a.example"])
                let listed = try await client.execute(uri: "/console/v1/workspace/domains", method: .get, headers: bearer(fixture.a.apiKeySecret, json: false))
                // The fixture's own claim (fixture.a.example) stays pending beside it.
                let item = try #require(listed.json?["data"]?.arrayValue?.compactMap(\.objectValue).first { $0["domain"] == "shop.a.example" })
                #expect(item["status"] == "verified" && item["expires_at"] == .null && item["verified_at"]?.stringValue != nil)
                // Verifying again changes nothing.
                let again = try await client.execute(uri: "/console/v1/workspace/domains/\(claim.id)/verify", method: .post,
                                                     headers: bearer(fixture.a.apiKeySecret, json: false))
                #expect(again.status == .ok && again.json?["status"] == "verified")
            } catch {
                await proof.stop()
                throw error
            }
            await proof.stop()
        }
    }
}
