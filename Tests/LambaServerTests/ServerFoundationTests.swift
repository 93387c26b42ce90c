import Hummingbird
import HummingbirdTesting
import LambaJOSE
import LambaOAuth
import LambaServer
import LambaStoreTestSupport
import Testing

@Suite struct HealthAndMetricsTests {
    @Test(arguments: Backend.underTest) func healthz_answers200_whileStoreAnswers(backend: Backend) async throws {
        try await withServer(backend) { client, _ in
            let response = try await client.execute(uri: "/healthz", method: .get)
            #expect(response.status == .ok)
            #expect(response.json?["status"] == "ok")
        }
    }

    @Test(arguments: Backend.underTest) func healthz_answers503_whenStoreIsDown(backend: Backend) async throws {
        try await withServer(backend, closeStoreFirst: true) { client, _ in
            let response = try await client.execute(uri: "/healthz", method: .get)
            #expect(response.status == .serviceUnavailable)
        }
    }

    @Test func metrics_exposeRequestCountsByRouteAndStatus() async throws {
        try await withServer { client, _ in
            _ = try await client.execute(uri: "/healthz", method: .get)
            _ = try await client.execute(uri: "/no/such/path", method: .get)
            let response = try await client.execute(uri: "/metrics", method: .get)
            #expect(response.status == .ok)
            let text = response.text
            #expect(text.contains(#"lamba_http_requests_total{route="/healthz",method="GET",status="200"} 1"#))
            #expect(text.contains(#"lamba_http_requests_total{route="unmatched",method="GET",status="404"} 1"#))
            #expect(text.contains("lamba_http_request_duration_seconds_bucket"))
        }
    }
}

/// docs/style-exceptions.md#request-code-runs-on-event-loops: a request's code, and everything it
/// awaits, runs on the event loop of its connection (`ConnectionExecutor`).
@Suite struct ExecutorTests {
    @Test func requestCode_runsOnItsConnectionsEventLoop_beforeAndAfterASuspension() async throws {
        try await withServer { client, _ in
            let response = try await client.execute(uri: "/probe/event-loop", method: .get)
            #expect(response.status == .ok)
            #expect(response.json == ["before": true, "after": true])
        }
    }
}

@Suite struct ErrorRenderingTests {
    @Test func unknownRoute_is404JSON() async throws {
        try await withServer { client, _ in
            let response = try await client.execute(uri: "/nope", method: .get)
            #expect(response.status == .notFound)
            #expect(response.json?["error"] == "not_found")
            #expect(response.headers[.contentType] == "application/json")
        }
    }

    @Test func knownPathWithOtherMethod_is405WithAllow() async throws {
        try await withServer { client, _ in
            let response = try await client.execute(uri: "/healthz", method: .delete)
            #expect(response.status == .methodNotAllowed)
            #expect(response.json?["error"] == "method_not_allowed")
            #expect(response.headers[.allow] == "GET")
        }
    }

    @Test func arbitraryThrownError_is500ServerErrorWithoutDetail() async throws {
        try await withServer { client, _ in
            let response = try await client.execute(uri: "/probe/boom", method: .get)
            #expect(response.status == .internalServerError)
            #expect(response.json == ["error": "server_error", "error_description": "internal error"])
            #expect(!response.text.contains("secret"))
        }
    }

    @Test func apiError_rendersCodeDescriptionAndField_butNotDebug() async throws {
        try await withServer { client, _ in
            let response = try await client.execute(uri: "/probe/field", method: .get)
            #expect(response.status == .badRequest)
            #expect(response.json?["error"] == "invalid_request")
            #expect(response.json?["field"] == "redirect_uri")
            #expect(!response.text.contains("evil"))
        }
    }
}

@Suite struct ResponseHeaderTests {
    @Test func everyResponse_carriesSecurityHeaders_errorsIncluded() async throws {
        try await withServer { client, _ in
            for uri in ["/healthz", "/nope", "/probe/boom"] {
                let response = try await client.execute(uri: uri, method: .get)
                #expect(response.headers[.init("X-Content-Type-Options")!] == "nosniff")
                #expect(response.headers[.init("X-Frame-Options")!] == "DENY")
                #expect(response.headers[.contentSecurityPolicy] == "frame-ancestors 'none'")
                #expect(response.headers[.init("Referrer-Policy")!] == "no-referrer")
                #expect(response.headers[.cacheControl] == "no-store")
            }
        }
    }

    @Test func everyResponse_carriesRequestID_andPlainOfferedIDsAreEchoed() async throws {
        try await withServer { client, _ in
            let generated = try await client.execute(uri: "/healthz", method: .get)
            #expect((generated.headers[.init("X-Request-Id")!]?.count ?? 0) >= 16)
            let offered = try await client.execute(uri: "/healthz", method: .get, headers: [.init("X-Request-Id")!: "abc-123"])
            #expect(offered.headers[.init("X-Request-Id")!] == "abc-123")
            let forged = try await client.execute(uri: "/healthz", method: .get, headers: [.init("X-Request-Id")!: "a b\"c"])
            #expect(forged.headers[.init("X-Request-Id")!] != "a b\"c")
        }
    }
}

@Suite struct RequestBodyTests {
    @Test func oversizedBody_is413JSON_not500() async throws {
        try await withServer(maxRequestBodySize: 1024) { client, _ in
            let body = ByteBuffer(string: "{\"a\":\"" + String(repeating: "x", count: 4096) + "\"}")
            let response = try await client.execute(uri: "/probe/json", method: .post, headers: jsonHeaders(), body: body)
            #expect(response.status == .contentTooLarge)
            #expect(response.json?["error"] == "payload_too_large")
        }
    }

    @Test func malformedJSON_is400InvalidRequest() async throws {
        try await withServer { client, _ in
            let response = try await client.execute(
                uri: "/probe/json", method: .post, headers: jsonHeaders(), body: ByteBuffer(string: "{\"a\":"))
            #expect(response.status == .badRequest)
            #expect(response.json?["error"] == "invalid_request")
            #expect(response.json?["error_description"]?.stringValue?.isEmpty == false)
        }
    }

    @Test func duplicateJSONMember_is400InvalidRequest() async throws {
        try await withServer { client, _ in
            let response = try await client.execute(
                uri: "/probe/json", method: .post, headers: jsonHeaders(), body: ByteBuffer(string: #"{"a":1,"a":2}"#))
            #expect(response.status == .badRequest)
            #expect(response.json?["error"] == "invalid_request")
            #expect(response.json?["error_description"]?.stringValue?.contains("duplicate") == true)
        }
    }

    @Test func validJSON_withCharsetParameter_isAccepted() async throws {
        try await withServer { client, _ in
            let response = try await client.execute(
                uri: "/probe/json", method: .post, headers: jsonHeaders("application/json; charset=UTF-8"),
                body: ByteBuffer(string: #"{"a":1}"#))
            #expect(response.status == .ok)
            #expect(response.json?["received"] == .object(["a": 1]))
        }
    }

    @Test func wrongContentType_is415() async throws {
        try await withServer { client, _ in
            for contentType in ["text/plain", "application/json; charset=latin1", "application/jsonx"] {
                let response = try await client.execute(
                    uri: "/probe/json", method: .post, headers: jsonHeaders(contentType), body: ByteBuffer(string: "{}"))
                #expect(response.status == .unsupportedMediaType, "\(contentType)")
                #expect(response.json?["error"] == "unsupported_media_type")
            }
            let missing = try await client.execute(uri: "/probe/json", method: .post, body: ByteBuffer(string: "{}"))
            #expect(missing.status == .unsupportedMediaType)
        }
    }

    @Test func formPost_repeatedParameter_is400NamingIt() async throws {
        try await withServer { client, _ in
            let response = try await client.execute(
                uri: "/probe/form", method: .post, headers: jsonHeaders("application/x-www-form-urlencoded"),
                body: ByteBuffer(string: "grant_type=a&scope=x&grant_type=b"))
            #expect(response.status == .badRequest)
            #expect(response.json?["field"] == "grant_type")
        }
    }

    @Test func formPost_badPercentEncoding_is400() async throws {
        try await withServer { client, _ in
            let response = try await client.execute(
                uri: "/probe/form", method: .post, headers: jsonHeaders("application/x-www-form-urlencoded"),
                body: ByteBuffer(string: "a=%zz"))
            #expect(response.status == .badRequest)
            #expect(response.json?["error"] == "invalid_request")
        }
    }
}

/// The console's view of the one form parser (`OAuthParameters.decode`, tested in LambaOAuthTests).
@Suite struct FormParametersTests {
    @Test func plusAndPercentEscapes_decode() throws {
        let form = try FormParameters(decoding: Array("scope=openid+profile&redirect_uri=https%3A%2F%2Fa.example%2Fcb&e=%C3%A9".utf8))
        #expect(form["scope"] == "openid profile")
        #expect(form["redirect_uri"] == "https://a.example/cb")
        #expect(form["e"] == "é")
        #expect(form.pairs.map(\.name) == ["scope", "redirect_uri", "e"])
    }

    @Test func duplicates_areDetected_inOrder() throws {
        let form = try FormParameters(decoding: Array("a=1&b=2&a=3&b=4&c=".utf8))
        #expect(form.duplicateNames == ["a", "b"])
        #expect(form.values("a") == ["1", "3"])
        #expect(form["c"] == "")
        #expect(throws: APIError.self) { try form.rejectDuplicates() }
    }

    @Test func invalidPercentEncoding_isRefused() {
        for input in ["a=%", "a=%4", "a=%G1", "%zz=1", "a=%C3"] {
            #expect(throws: OAuthError.self, "\(input)") { try FormParameters(decoding: Array(input.utf8)) }
        }
    }

    @Test func emptyBody_hasNoParameters() throws {
        #expect(try FormParameters(decoding: [UInt8]()).pairs.isEmpty)
    }
}

@Suite struct ServerConfigurationTests {
    @Test func defaults_derivePublicURLFromPort() throws {
        let configuration = try ServerConfiguration.load(environment: [:])
        #expect(configuration.port == 8080)
        #expect(configuration.host == "127.0.0.1")
        #expect(configuration.publicBaseURL == "http://127.0.0.1:8080")
        #expect(configuration.maxRequestBodySize == 64 * 1024)
    }

    @Test func flags_overrideEnvironment_andTrailingSlashIsTrimmed() throws {
        let configuration = try ServerConfiguration.load(
            environment: ["LAMBA_PORT": "9000", "LAMBA_PUBLIC_URL": "https://id.example/"], port: 9100)
        #expect(configuration.port == 9100)
        #expect(configuration.publicBaseURL == "https://id.example")
    }

    @Test func invalidSettings_areRefusedNamingTheSetting() {
        let cases: [([String: String], String)] = [
            (["LAMBA_PORT": "eighty"], "LAMBA_PORT"),
            (["LAMBA_PORT": "70000"], "LAMBA_PORT"),
            (["LAMBA_PUBLIC_URL": "ftp://id.example"], "LAMBA_PUBLIC_URL"),
            (["LAMBA_PUBLIC_URL": "https://id.example/?x=1"], "LAMBA_PUBLIC_URL"),
            (["LAMBA_PUBLIC_URL": "id.example"], "LAMBA_PUBLIC_URL"),
            (["LAMBA_DATABASE_URL": "mysql://x"], "LAMBA_DATABASE_URL"),
            (["LAMBA_LOG_LEVEL": "loud"], "LAMBA_LOG_LEVEL"),
        ]
        for (environment, setting) in cases {
            #expect(throws: ConfigurationError.self, "\(environment)") { try ServerConfiguration.load(environment: environment) }
            do {
                _ = try ServerConfiguration.load(environment: environment)
            } catch {
                #expect(error.setting == setting)
            }
        }
    }
}
