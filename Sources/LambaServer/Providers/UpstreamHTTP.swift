public import LambaModel
public import LambaOAuth

internal import AsyncHTTPClient
internal import Foundation
internal import NIOCore
internal import NIOHTTP1

/// Outbound HTTP to social providers over AsyncHTTPClient, with the attitude of the webhook SSRF
/// guard: in production every address a host resolves to must be public; in sandbox private and
/// loopback targets are allowed (plain http only to loopback, which `UpstreamProvider.validateURL`
/// enforces). No redirects are followed, requests time out, bodies are capped.
public struct ServerUpstreamHTTPClient: UpstreamHTTPClient {
    static let timeout: TimeAmount = .seconds(10)
    static let maxBody = 256 * 1024
    static let userAgent = "Lamba-RP/1"

    /// One client for the process; it lives as long as the process does.
    static let client: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        // A redirect could lead to a target the guard never saw.
        configuration.redirectConfiguration = .disallow
        configuration.timeout = .init(connect: timeout, read: timeout)
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }()

    public init() {}

    public func get(_ url: String, environment: LambaModel.Environment) async throws -> UpstreamHTTPResponse {
        let target = try await Self.check(url, environment)
        var request = HTTPClientRequest(url: target)
        request.method = .GET
        request.headers.add(name: "accept", value: "application/json")
        request.headers.add(name: "user-agent", value: Self.userAgent)
        return try await Self.execute(request)
    }

    public func postForm(_ url: String, form: [(String, String)], authorization: String,
                         environment: LambaModel.Environment) async throws -> UpstreamHTTPResponse {
        let target = try await Self.check(url, environment)
        var request = HTTPClientRequest(url: target)
        request.method = .POST
        request.headers.add(name: "content-type", value: "application/x-www-form-urlencoded")
        request.headers.add(name: "accept", value: "application/json")
        request.headers.add(name: "user-agent", value: Self.userAgent)
        request.headers.add(name: "authorization", value: authorization)
        request.body = .bytes(ByteBuffer(string: OAuthParameters.encode(form)))
        return try await Self.execute(request)
    }

    static func check(_ url: String, _ environment: LambaModel.Environment) async throws -> String {
        _ = try UpstreamProvider.validateURL(url, environment: environment, field: "url")
        return try await WebhookTargetGuard.checkAtDelivery(url, allowPrivate: environment == .sandbox).absoluteString
    }

    static func execute(_ request: HTTPClientRequest) async throws -> UpstreamHTTPResponse {
        let response = try await client.execute(request, timeout: timeout)
        let body = try await response.body.collect(upTo: maxBody)
        return UpstreamHTTPResponse(status: Int(response.status.code), body: Array(body.readableBytesView),
                                    cacheControl: response.headers.first(name: "cache-control"))
    }

    /// The console's issuer check: the discovery document must answer and name the issuer exactly.
    static func issuerCheck(_ http: any UpstreamHTTPClient) -> UpstreamProviderAdministration.IssuerCheck {
        { issuer, environment in
            do {
                _ = try await UpstreamDiscovery.fetch(http, issuer: issuer, environment: environment)
            } catch {
                throw DomainError.invalid(field: "issuer", reason: "does not answer as an OpenID Provider: \(error)")
            }
        }
    }
}
