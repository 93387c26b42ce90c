public import HTTPTypes
public import Hummingbird
public import LambaJOSE
public import LambaModel
public import LambaStore
public import LambaOAuth

/// One operation of the console API. The router and the OpenAPI document are both built from the
/// same table of these, so the document cannot drift from what the server answers.
public struct ConsoleRoute: Sendable {
    public enum Access: Sendable {
        /// No credentials (the OpenAPI document, invite acceptance).
        case anonymous
        /// A Workspace API key; the handler's service checks `capability`.
        case apiKey(ConsoleCapability?)
    }

    public let method: HTTPRequest.Method
    /// OpenAPI path template, `{name}` for parameters.
    public let path: String
    public let operationID: String
    public let summary: String
    public let access: Access
    public let request: ConsoleSchema?
    public let status: HTTPResponse.Status
    public let response: ConsoleSchema?
    let handler: @Sendable (ConsoleCall) async throws -> JSONValue?

    init(_ method: HTTPRequest.Method, _ path: String, _ operationID: String, _ summary: String, access: Access,
         request: ConsoleSchema? = nil, status: HTTPResponse.Status = .ok, response: ConsoleSchema?,
         handler: @escaping @Sendable (ConsoleCall) async throws -> JSONValue?) {
        self.method = method
        self.path = path
        self.operationID = operationID
        self.summary = summary
        self.access = access
        self.request = request
        self.status = status
        self.response = response
        self.handler = handler
    }

    /// Path parameter names, in order.
    public var parameters: [String] {
        path.split(separator: "/").compactMap { $0.hasPrefix("{") ? String($0.dropFirst().dropLast()) : nil }
    }
}

/// What a console handler works with: the caller, the path parameters and the checked body.
struct ConsoleCall: Sendable {
    let services: ConsoleServices
    let callerOrNil: ConsoleCaller?
    let parameters: [String: String]
    let body: JSONObject

    var caller: ConsoleCaller {
        get throws {
            guard let callerOrNil else { throw ConsoleAuthentication.unauthorized("no caller") }
            return callerOrNil
        }
    }

    /// A path parameter naming an entity: an id of another shape is simply not found.
    func id(_ name: String, _ kind: EntityKind) throws -> String {
        guard let value = parameters[name], EntityID.isWellFormed(value, kind) else { throw APIError.notFound }
        return value
    }

    func parameter(_ name: String) throws -> String {
        guard let value = parameters[name] else { throw APIError.notFound }
        return value
    }

    var environment: LambaModel.Environment {
        get throws {
            guard let value = parameters["environment"], let environment = LambaModel.Environment(rawValue: value) else { throw APIError.notFound }
            return environment
        }
    }

    func string(_ name: String) -> String? { body[name]?.stringValue }
    func bool(_ name: String) -> Bool? { body[name]?.boolValue }
    func int(_ name: String) throws -> Int? {
        guard let value = body[name]?.integerValue else { return nil }
        guard let int = Int(exactly: value) else { throw APIError.invalidRequest("\(name) is out of range", field: name) }
        return int
    }
    func strings(_ name: String) -> [String]? { body[name]?.arrayValue?.compactMap(\.stringValue) }

    /// A Project id → Project console role map.
    func consoleRoles(_ name: String) throws -> [String: ProjectConsoleRole]? {
        guard let object = body[name]?.objectValue else { return nil }
        var roles: [String: ProjectConsoleRole] = [:]
        for (projectID, value) in object {
            guard let role = value.stringValue.flatMap(ProjectConsoleRole.init(rawValue:)) else {
                throw APIError.invalidRequest("\(name) values must be admin, developer or viewer", field: name)
            }
            guard EntityID.isWellFormed(projectID, .project) else { throw DomainError.notFound("project \(projectID)") }
            roles[projectID] = role
        }
        return roles
    }
}

/// The domain services the console calls, over the server's store.
struct ConsoleServices: Sendable {
    let workspaces: WorkspaceAdministration
    let projects: ProjectAdministration
    let members: MemberLifecycle
    let providers: UpstreamProviderAdministration
    let domains: CustomDomainAdministration
    /// Proves a social provider's issuer over HTTP before it is saved.
    let issuerCheck: UpstreamProviderAdministration.IssuerCheck

    init(store: any IdentityStore, masterKey: MasterKey, upstreamHTTP: any UpstreamHTTPClient) {
        workspaces = WorkspaceAdministration(store: store)
        projects = ProjectAdministration(store: store)
        members = MemberLifecycle(store: store)
        providers = UpstreamProviderAdministration(store: store, masterKey: masterKey)
        domains = CustomDomainAdministration(store: store, fetcher: HTTPDomainProofFetcher(http: upstreamHTTP))
        issuerCheck = ServerUpstreamHTTPClient.issuerCheck(upstreamHTTP)
    }
}

/// The console REST API under `/console/v1`, registered as one feature.
public struct ConsoleRoutes: RouteGroup {
    public static let prefix = "/console/v1"
    let services: ConsoleServices
    let authentication: ConsoleAuthentication

    public init(store: any Store, masterKey: MasterKey, upstreamHTTP: any UpstreamHTTPClient = ServerUpstreamHTTPClient()) {
        let identity = SQLIdentityStore(store: store)
        services = ConsoleServices(store: identity, masterKey: masterKey, upstreamHTTP: upstreamHTTP)
        authentication = ConsoleAuthentication(workspaces: services.workspaces)
    }

    /// Every console operation, the OpenAPI document's included.
    public static var table: [ConsoleRoute] {
        [OpenAPIDocument.route] + WorkspaceRoutes.routes + APIKeyRoutes.routes + ProjectRoutes.routes + EnvironmentRoutes.routes
            + ClientRoutes.routes + ProviderRoutes.routes + RoleRoutes.routes + ProjectMemberRoutes.routes + TeamRoutes.routes + InviteRoutes.routes
    }

    public func register(on router: Router<LambaRequestContext>) {
        for route in Self.table {
            // Hummingbird names parameters `:name`; the document uses `{name}`.
            let path = route.path.split(separator: "/").map { $0.hasPrefix("{") ? ":" + $0.dropFirst().dropLast() : String($0) }.joined(separator: "/")
            router.on(RouterPath("/" + path), method: route.method) { request, context -> Response in
                try await handle(route, request, context)
            }
        }
    }

    private func handle(_ route: ConsoleRoute, _ request: Request, _ context: LambaRequestContext) async throws -> Response {
        var caller: ConsoleCaller?
        if case .apiKey = route.access { caller = try await authentication.caller(of: request) }
        var parameters: [String: String] = [:]
        for name in route.parameters { parameters[name] = context.parameters.get(name) }
        var body = JSONObject()
        if let schema = route.request {
            body = try await request.readJSONObject(context: context, maxDepth: 8)
            try schema.check(.object(body), field: "")
        }
        let call = ConsoleCall(services: services, callerOrNil: caller, parameters: parameters, body: body)
        let output: JSONValue?
        do {
            output = try await route.handler(call)
        } catch let error as StoreError {
            // A concurrent request took the slug or email between the check and the insert.
            if case .uniqueViolation = error { throw DomainError.conflict("the resource exists already") }
            throw error
        }
        guard let output else { return Response(status: .noContent) }
        if case .object(let object) = output { return .json(object, status: route.status) }
        return .json(["data": output], status: route.status)
    }
}
