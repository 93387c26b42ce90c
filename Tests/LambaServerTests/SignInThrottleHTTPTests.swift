import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import LambaModel
import LambaOAuth
import LambaServer
import LambaStoreTestSupport
import Testing

@Suite("Sign-in throttle over HTTP", .serialized)
struct SignInThrottleHTTPTests {
    @Test("over HTTP on 127.0.0.1: five wrong passwords lock the hosted login, for known and unknown emails alike", arguments: Backend.underTest)
    func test_hostedLogin_lockedAfterFiveFailures(backend: Backend) async throws {
        try await withServer(backend, maxRequestBodySize: 64 * 1024) { client, dependencies in
            let seeded = try await seed(dependencies)
            let issuer = dependencies.configuration.publicBaseURL + "/p/shop/sandbox"
            var browser = Browser(base: dependencies.configuration.publicBaseURL)
            let query = OAuthParameters.encode([
                ("response_type", "code"), ("client_id", seeded.client.id), ("redirect_uri", SeededProject.redirect), ("scope", "openid"),
                ("state", "xyz"), ("code_challenge", OpenIDProviderHTTPTests.challenge), ("code_challenge_method", "S256"),
            ])
            var response = try await browser.get(client, "/p/shop/sandbox/authorize?" + query)
            response = try await browser.get(client, try #require(response.headers[.location]))
            let csrf = try #require(Browser.hidden(response.text, "csrf_token"))
            let authz = try #require(Browser.hidden(response.text, "authz"))

            func post(_ email: String, _ password: String) async throws -> TestResponse {
                try await browser.post(client, issuer + "/login", [("csrf_token", csrf), ("authz", authz), ("email", email), ("password", password)])
            }
            for email in [seeded.email, "nobody@example.com"] {
                for _ in 1...4 {
                    response = try await post(email, "nope nope nope")
                    #expect(response.status == .badRequest)
                    #expect(response.text.contains("email or password is wrong"))
                }
                response = try await post(email, "nope nope nope")
                #expect(response.status == .badRequest)
                #expect(response.text.contains("too many attempts; try again in 1 minute"))
                response = try await post(email, seeded.password)
                #expect(response.status == .badRequest)
                #expect(response.text.contains("too many attempts; try again in 1 minute"))
                #expect(!response.headers[values: .setCookie].contains { $0.hasPrefix("lamba_session_") })
            }
        }
    }
}
