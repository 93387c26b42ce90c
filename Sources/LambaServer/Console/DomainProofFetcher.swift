public import LambaModel
public import LambaOAuth

/// Fetches a custom domain's ownership proof through the upstream HTTP client. In production the
/// request goes to `https://<domain>/.well-known/lamba-domain-verification` under the production
/// rules of `ServerUpstreamHTTPClient`: https only, every resolved address public (the webhook
/// guard's rules), no redirects, a timeout and a capped body.
public struct HTTPDomainProofFetcher: DomainProofFetcher {
    /// The longest proof accepted; a token is under 100 bytes.
    static let maxProofBytes = 1024

    let http: any UpstreamHTTPClient
    let url: @Sendable (String) -> String
    /// The guard the request goes through: `.production` admits public https targets only.
    let targetRules: LambaModel.Environment

    public init(http: any UpstreamHTTPClient) {
        self.http = http
        url = { "https://\($0)\(CustomDomain.proofPath)" }
        targetRules = .production
    }

    /// For tests: plain http to a server on 127.0.0.1, which only the sandbox rules admit.
    public static func loopback(http: any UpstreamHTTPClient, port: Int) -> HTTPDomainProofFetcher {
        HTTPDomainProofFetcher(http: http, url: { _ in "http://127.0.0.1:\(port)\(CustomDomain.proofPath)" }, targetRules: .sandbox)
    }

    init(http: any UpstreamHTTPClient, url: @escaping @Sendable (String) -> String, targetRules: LambaModel.Environment) {
        self.http = http
        self.url = url
        self.targetRules = targetRules
    }

    public func fetchProof(domain: String) async throws -> String {
        let response = try await http.get(url(domain), environment: targetRules)
        guard response.status == 200 else { throw UpstreamError("it answered HTTP \(response.status)") }
        guard response.body.count <= Self.maxProofBytes, let text = String(validating: response.body, as: UTF8.self) else {
            throw UpstreamError("the answer is not a short UTF-8 text")
        }
        return text
    }
}
